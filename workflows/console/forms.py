"""The console's forms, made from the data models that validate `--data` (states/): a field per
key of a trigger's model (or of a kind's opening model), of the key's type, labelled with the
model's own description of it; and the way back, from a submitted form to the `data` dict the
engine is given. Nothing here is written per trigger: a new key in a model is a new field.

The form never judges the data. `data_from_form` turns any submission into some dict, without
raising, and the engine accepts it or refuses it with its own message (workflows/engine/
validate.py): a date that is not a date, a number that is not one, a check box for a standard
the candidate is not assessed on all reach the engine as typed.

Field names are the data keys, dotted for nested keys (`assessor.email`) and indexed for the
items of a list (`shortlist.0.candidate`, `evidence.1`). How each type is offered:

| type in the model | field |
|---|---|
| `Line` (one line of text: names, ids, references) | `text` |
| `Text`, a plain `str` (which may hold line breaks), `Text | dict[str, Text]` | `textarea` |
| `Day` (or any `date`) | `date` |
| `Email` | `email` |
| `int` | `number` (sent on as an int when it is plainly one, else as typed) |
| `Literal`, `Enum`, `bool` | `select` |
| `list` of a `Literal`/`Enum`, or of standards' codes (`states.standards.Code`) | `checkboxes` |
| a nested model | `group` (a fieldset) |
| a `list` of models or of texts | a `group` of rows, `repeated`: blank rows are left out |

A union is offered as its first member (`Text | dict[str, Text]` as a text); an optional key
(`X | None`) is left out when its field is left blank.
"""
from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any, Literal, Union

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from states import PROCESSES, standards
from states.common import Email, Line
from workflows.core.errors import UnknownTriggerError

Kind = Literal["text", "textarea", "date", "email", "number", "select", "checkboxes", "group"]

# Names a console form carries beside the data (CLI.md, "Acting through the console"): never
# put into the data, whatever the model.
RESERVED = frozenset({"csrf", "version", "effective_at", "on_behalf_of"})
# Blank rows offered after a list's items (a shortlist of one gets two more to fill in).
EXTRA_ROWS = 2
# An int as a person types one: digits, perhaps a sign. Anything else goes on as typed, for the
# engine to refuse in its own words (its ints are strict: "5" is not 5). At most 18 digits, so
# that no text is too long for int() to read.
_PLAIN_INT = re.compile(r"[+-]?[0-9]{1,18}")
_INDEX = re.compile(r"[0-9]{1,6}")

# The validators that make `Line` one line and `Email` an address: how a field is told apart
# from plain text, read from the types themselves (states/common.py).
_ONE_LINE = typing.get_args(Line)[-1]
_MAILBOX = typing.get_args(Email)[-1]


@dataclass(frozen=True)
class Option:
    """One choice of a `select` or one box of `checkboxes`: `id` is the box's own (its label
    points at it)."""
    value: str
    label: str
    chosen: bool = False
    id: str = ""


@dataclass(frozen=True)
class FormField:
    """One field of a form, or a group of them (a fieldset).

    `name` is the form name (the data key, dotted and indexed), `id` the HTML id its label
    points at. `required`: the model needs a value here, so the input carries `required` (a
    key inside an optional group never does: the group may be left out whole). `optional`:
    the model lets this key itself be left out (the page says so). `value` is the text to show;
    `options` are a select's or a check-box group's choices; `fields` a group's members, and
    `repeated` a group of rows (a list), whose blank rows are left out when submitted."""
    name: str
    id: str
    label: str
    kind: Kind
    required: bool = False
    optional: bool = False
    value: str = ""
    options: tuple[Option, ...] = ()
    fields: tuple[FormField, ...] = ()
    repeated: bool = False
    hint: str = ""


# -- which model a form is made from -----------------------------------------------------------

def model_for_trigger(kind: str, trigger: str, state: str | None = None) -> type[BaseModel] | None:
    """The data model of `trigger` on a case of `kind` (None: it takes no data), as the engine
    validates it. With `state`, the model of the row leaving that state (the rows of one trigger
    share their model today, but the table would allow otherwise). Refused with
    UnknownTriggerError for a trigger no person fires: unknown, retired, written by the engine
    itself, a timer's, or the system's alone (a review's decision moving its application)."""
    process = PROCESSES.get(kind) if isinstance(kind, str) else None
    if process is None:
        raise UnknownTriggerError(f"unknown kind of case {kind!r}; kinds: {', '.join(PROCESSES)}")
    rows = [r for r in (process.rows_leaving(trigger, state) if state is not None
                        else process.rows(trigger))
            if not r.internal and not r.retired and not r.trigger.startswith("timer:")
            and r.roles != ("system",)]
    if not rows or trigger == "open":
        where = f" from state {state}" if state is not None else ""
        raise UnknownTriggerError(f"no trigger {trigger!r} a person fires on a {kind} case{where}",
                                  trigger=trigger, state=state)
    return rows[0].data


def model_for_opening(kind: str) -> type[BaseModel] | None:
    """The data model `ast-engine open KIND` validates with (the opening row's). A kind opened
    otherwise (a review, by its application's `request_review`) has no opening form: refused
    with UnknownTriggerError, saying how it opens."""
    process = PROCESSES.get(kind) if isinstance(kind, str) else None
    if process is None:
        raise UnknownTriggerError(
            f"unknown kind of case {kind!r}; open one of: "
            f"{', '.join(k for k, p in PROCESSES.items() if p.openable)}", trigger="open")
    if process.opened_by is not None:
        raise UnknownTriggerError(f"a {kind} case is opened only by {process.opened_by}",
                                  trigger="open")
    return process.opening.data


def allowed_standards(case_data: Mapping[str, Any], nation: str) -> tuple[str, ...] | None:
    """The standards a `not_met` judgement may name for this application (its candidate's
    career stage, in this nation): the same rule as the engine's guard
    (states/standards.externally_assessed). None when the case names no known career stage
    (an erased case): then every code of Annex A is offered, and the engine judges."""
    stage = case_data.get("career_stage") if isinstance(case_data, Mapping) else None
    if stage not in standards.CAREER_STAGES:
        return None
    return standards.externally_assessed(str(stage), nation)


# -- what a key's type is, as a form sees it ---------------------------------------------------

@dataclass(frozen=True)
class _Shape:
    kind: Kind | Literal["rows"]
    choices: tuple[str, ...] = ()         # select, checkboxes
    model: type[BaseModel] | None = None  # group; rows of groups
    item: _Shape | None = None            # rows: the shape of each item
    standards: bool = False               # checkboxes of Annex A's codes
    number: bool = False                  # text that is sent on as an int when plainly one
    boolean: bool = False


def _unwrapped(tp: Any) -> tuple[Any, list[Any]]:
    """A type without its `Annotated` wrappers and without `None` (whether a key may be left
    out is its FieldInfo's to say): the type and the metadata it was wrapped in. A union of
    several types is read as its first."""
    metadata: list[Any] = []
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp, *meta = typing.get_args(tp)
            metadata.extend(meta)
        elif origin is Union or origin is types.UnionType:
            tp = [a for a in typing.get_args(tp) if a is not type(None)][0]
        else:
            return tp, metadata


def _shape(tp: Any, metadata: Sequence[Any] = ()) -> _Shape:
    """How a key of type `tp` (with the metadata pydantic split off it) is offered."""
    tp, more = _unwrapped(tp)
    meta = [*metadata, *more]
    origin = typing.get_origin(tp)
    if origin is Literal:
        return _Shape("select", tuple(str(a) for a in typing.get_args(tp)))
    if isinstance(tp, type) and issubclass(tp, Enum):
        return _Shape("select", tuple(str(m.value) for m in tp))
    if tp is bool:
        return _Shape("select", ("true", "false"), boolean=True)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return _Shape("group", model=tp)
    if origin in (list, tuple, Sequence) and typing.get_args(tp):
        item = _shape(typing.get_args(tp)[0])
        if item.kind == "select" and not item.boolean:
            return _Shape("checkboxes", item.choices)
        if item.standards:
            return _Shape("checkboxes", tuple(sorted(standards.ALL_CODES, key=_code_order)),
                          standards=True)
        return _Shape("rows", item=item)
    if tp is int:
        return _Shape("number", number=True)
    if isinstance(tp, type) and issubclass(tp, date) and not issubclass(tp, datetime):
        return _Shape("date")
    if standards.ANNEX_A in meta:
        return _Shape("text", standards=True)
    if _MAILBOX in meta:
        return _Shape("email")
    if _ONE_LINE in meta:
        return _Shape("text")
    return _Shape("textarea")   # free text (any `str` may hold line breaks), or what else


def _code_order(code: str) -> tuple[int, int]:
    """Annex A's order: P1..P10, E1..E15, A1..A3."""
    return "PEA".index(code[0]), int(code[1:])


def _fields_of(model: type[BaseModel]) -> list[tuple[str, FieldInfo, _Shape]]:
    return [(name, info, _shape(info.annotation, info.metadata))
            for name, info in model.model_fields.items()]


def _needs_items(info: FieldInfo) -> bool:
    """Whether a list must hold at least one item (required, or a minimum length)."""
    return info.is_required() or any(getattr(m, "min_length", 0) for m in info.metadata)


# -- the fields --------------------------------------------------------------------------------

def fields_for(model: type[BaseModel] | None, values: Mapping[str, Any] | None, *,
               allowed_standards: Sequence[str] | None = None) -> list[FormField]:
    """The fields of a form for `model`, filled in with `values`: the data as
    `ast-engine example NAME` prints it (states/examples.py), or what was typed
    (`values_from_form`) when a refused form is shown again. `allowed_standards` limits the
    check boxes of standards' codes (`unmet_standards`) to the candidate's externally assessed
    set (`allowed_standards()`); a code outside the choices is not offered, so not kept.
    Values of the wrong shape (a list where a text goes) are shown as text or not at all;
    this never raises on values."""
    if model is None:
        return []
    codes = tuple(allowed_standards) if allowed_standards is not None else None
    return _group_fields(model, "", values, True, codes)


def _group_fields(model: type[BaseModel], prefix: str, values: Any, required: bool,
                  codes: tuple[str, ...] | None) -> list[FormField]:
    out = []
    for name, info, shape in _fields_of(model):
        if not prefix and name in RESERVED:
            continue
        path = prefix + name
        label = info.description or name.replace("_", " ")
        needed = required and info.is_required()
        value = values.get(name) if isinstance(values, Mapping) else None
        out.append(_field(shape, path, label, value, needed, not info.is_required(),
                          _needs_items(info) and required, codes))
    return out


def _field(shape: _Shape, path: str, label: str, value: Any, required: bool, optional: bool,
           needs_items: bool, codes: tuple[str, ...] | None) -> FormField:
    ident = "field-" + path
    if shape.kind == "group":
        assert shape.model is not None
        return FormField(path, ident, label, "group", required, optional,
                         fields=tuple(_group_fields(shape.model, path + ".", value, required,
                                                    codes)))
    if shape.kind == "rows":
        assert shape.item is not None
        items = list(value) if isinstance(value, (list, tuple)) else []
        rows = []
        for i in range(len(items) + EXTRA_ROWS):
            item = items[i] if i < len(items) else None
            rows.append(_field(shape.item, f"{path}.{i}", f"Item {i + 1}", item,
                               needs_items and i == 0, False, False, codes))
        return FormField(path, ident, label, "group", required=False, optional=optional,
                         fields=tuple(rows), repeated=True,
                         hint="Fill in as many as you need: blank ones are left out.")
    if shape.kind == "checkboxes":
        choices = shape.choices
        if shape.standards and codes is not None:
            choices = tuple(c for c in codes if c in standards.ALL_CODES)
        chosen = ({_as_text(v) for v in value} if isinstance(value, (list, tuple))
                  else set())
        options = tuple(Option(c, c if shape.standards else _words(c), c in chosen,
                               f"{ident}-{i}") for i, c in enumerate(choices))
        return FormField(path, ident, label, "checkboxes", required, optional,
                         options=options)
    if shape.kind == "select":
        text = _as_text(value)
        blank = Option("", "(choose one)" if required or not optional else "(none)",
                       text not in shape.choices)
        words = {"true": "yes", "false": "no"} if shape.boolean else {}
        options = (blank, *(Option(c, words.get(c) or _words(c), c == text)
                            for c in shape.choices))
        return FormField(path, ident, label, "select", required, optional, options=options)
    return FormField(path, ident, label, shape.kind, required, optional, value=_as_text(value))


def _words(value: str) -> str:
    """A choice as words: `relevant_evidence_ignored` -> `relevant evidence ignored`."""
    return value.replace("_", " ")


def in_words(trigger: str) -> str:
    """A trigger's name as a submit button says it: `schedule_assessment` -> `Schedule
    assessment` (the trigger itself stays the public name, in the URL and the log)."""
    return _words(trigger).capitalize()


def _as_text(value: Any) -> str:
    """A value as a field shows it: a date as YYYY-MM-DD, a number in digits, a yes or no as
    `true`/`false`, nothing as blank; text as it is. A mapping (an evaluation given per
    standard) as one `KEY: text` line each."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, Enum):
        return _as_text(value.value)
    if isinstance(value, (date, int, float)):
        return value.isoformat() if isinstance(value, date) else str(value)
    if isinstance(value, Mapping):
        return "\n".join(f"{k}: {_as_text(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "\n".join(_as_text(v) for v in value)
    return str(value)


# -- the way back: a submitted form to data ----------------------------------------------------

def data_from_form(model: type[BaseModel] | None,
                   form: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """The `data` dict a submitted form stands for (`form`: name -> the values sent under it,
    as Starlette's `FormData.getlist` gives them): dotted and indexed names made nested dicts
    and lists; a blank field of an optional key left out, and a group left out when all of
    it is blank; blank rows of a list dropped; the boxes ticked of a check-box group as a list
    (left out when none is); an int field sent as an int when it is plainly one, else as
    typed. Names the model does not have are ignored, and so are the form's own
    (`csrf`, `version`, `effective_at`, `on_behalf_of`). When one name is sent more than once,
    its first value counts. Never raises, whatever is sent: the engine judges the result."""
    if model is None:
        return {}
    out = _collect_group(model, "", _Form(form), raw=False)
    return out if isinstance(out, dict) else {}


def values_from_form(model: type[BaseModel] | None,
                     form: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """What was typed, to show a refused form again with it (`fields_for(model, values)`):
    every text exactly as sent, numbers and blanks included, and each row of a list where it
    was (only blank rows at the end are dropped). Never raises."""
    if model is None:
        return {}
    out = _collect_group(model, "", _Form(form), raw=True)
    return out if isinstance(out, dict) else {}


class _Form:
    """A submitted form read defensively: only text values count (an uploaded file or other
    object is ignored), and only text names."""

    def __init__(self, form: Mapping[str, Sequence[str]]):
        self.form = form if isinstance(form, Mapping) else {}
        self.names = [k for k in self.form if isinstance(k, str)]

    def all(self, name: str) -> list[str]:
        try:
            sent: Any = self.form.get(name)
        except Exception:   # a mapping of someone else's making: absent is the safe reading
            return []
        if isinstance(sent, str):
            return [sent]
        if isinstance(sent, (list, tuple)):
            return [v for v in sent if isinstance(v, str)]
        return []

    def first(self, name: str) -> str | None:
        sent = self.all(name)
        return sent[0] if sent else None

    def indices(self, path: str) -> list[int]:
        """The row numbers sent under `path` (`path.N` or `path.N.key`), in order."""
        found = set()
        start = path + "."
        for name in self.names:
            if name.startswith(start):
                head = name[len(start):].split(".", 1)[0]
                if _INDEX.fullmatch(head):
                    found.add(int(head))
        return sorted(found)


def _blank(text: str | None) -> bool:
    return text is None or not text.strip()


def _collect_group(model: type[BaseModel], prefix: str, form: _Form, raw: bool) -> Any:
    out: dict[str, Any] = {}
    for name, _info, shape in _fields_of(model):
        if not prefix and name in RESERVED:
            continue
        value = _collect(shape, prefix + name, form, raw)
        if value is not None:
            out[name] = value
    return out or None


def _collect(shape: _Shape, path: str, form: _Form, raw: bool) -> Any:
    """The value sent for one key, or None when nothing was (the key is then left out)."""
    if shape.kind == "group":
        assert shape.model is not None
        return _collect_group(shape.model, path + ".", form, raw)
    if shape.kind == "rows":
        assert shape.item is not None
        rows = [_collect(shape.item, f"{path}.{i}", form, raw) for i in form.indices(path)]
        if raw:
            while rows and rows[-1] is None:
                rows.pop()
            blank: Any = {} if shape.item.kind == "group" else ""
            rows = [blank if r is None else r for r in rows]
        else:
            rows = [r for r in rows if r is not None]
        return rows or None
    if shape.kind == "checkboxes":
        ticked = [v for v in form.all(path) if raw or not _blank(v)]
        return list(dict.fromkeys(ticked)) or None
    text = form.first(path)
    if _blank(text):
        return text if raw and text else None
    assert text is not None
    if raw:
        return text
    if shape.number and _PLAIN_INT.fullmatch(text.strip()):
        return int(text.strip())
    if shape.boolean and text in ("true", "false"):
        return text == "true"
    return text
