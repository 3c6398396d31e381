"""Every key of every trigger's and every opening's data model says what it holds, in words: the
console's forms label their fields with it (workflows/console/forms.py), and a key without one
would be labelled with its code name."""
from __future__ import annotations

import typing

from pydantic import BaseModel

from states import PROCESSES


def data_models() -> set[type[BaseModel]]:
    """The models of every opening and every row (retired, internal and timer rows too), and
    the models nested in them."""
    found: set[type[BaseModel]] = set()
    todo = [row.data for p in PROCESSES.values() for row in [p.opening, *p.all_transitions()]
            if row.data is not None]
    while todo:
        model = todo.pop()
        if model in found:
            continue
        found.add(model)
        for info in model.model_fields.values():
            todo.extend(nested_models(info.annotation))
    return found


def nested_models(tp: typing.Any) -> list[type[BaseModel]]:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    return [m for arg in typing.get_args(tp) for m in nested_models(arg)]


def test_every_key_of_every_trigger_and_opening_model_has_a_description():
    missing = sorted(f"{model.__module__}.{model.__name__}.{name}"
                     for model in data_models()
                     for name, info in model.model_fields.items()
                     if not (info.description or "").strip())
    assert not missing, missing


def test_the_models_walked_include_the_nested_ones():
    names = {m.__name__ for m in data_models()}
    assert {"Person", "Official", "Certificate", "Shortlisted", "PayRange",
            "FundingDeclaration", "Post", "PostSchool"} <= names


def test_a_description_is_a_sentence_of_words_not_a_code_name():
    for model in data_models():
        for name, info in model.model_fields.items():
            text = info.description or ""
            assert text[:1].isupper() and not text.endswith("."), (model.__name__, name, text)
            assert text != name.replace("_", " ").capitalize(), (model.__name__, name)
