"""Case data as the stores keep it: the memory store (replay) must hold exactly what the
database would give back, or a replayed notice could read differently from the recorded one."""
import json
import math

import pytest
from datetime import date, datetime, timezone

from storage.jsontext import as_read_back, dumps


def read_back(value):
    return json.loads(dumps(value))


def test_what_the_memory_store_keeps_is_what_the_database_gives_back():
    case = {"zeta": 1, "alpha": {"b": [1, 2.5, None, True], "a": ("x", "y")},
            "candidate": {"name": "Ann Smith", "email": "ann@example.org"}, "é": "ü"}
    kept = as_read_back(case)
    assert kept == read_back(case)
    # the order a template iterating the data would see, at every level
    assert list(kept) == list(read_back(case)) == ["alpha", "candidate", "zeta", "é"]
    assert list(kept["alpha"]) == ["a", "b"] and kept["alpha"]["a"] == ["x", "y"]


def test_values_json_writes_differently_are_read_back_as_the_database_would():
    odd = {"when": date(2027, 3, 10), "at": datetime(2027, 3, 10, 9, tzinfo=timezone.utc),
           "counts": {1: "one"}, "nan": float("nan")}
    kept = as_read_back(odd)
    assert kept["when"] == "2027-03-10" and kept["at"] == "2027-03-10T09:00:00+00:00"
    assert kept["counts"] == {"1": "one"} and math.isnan(kept["nan"])


def test_a_transition_adds_to_the_previous_data_without_copying_it_again():
    before = as_read_back({"open": {"school": "Hill"}, "candidate": {"name": "Ann"}})
    after = as_read_back({**before, "support": {"z": 1, "a": 2}}, previous=before)
    assert after == read_back({**before, "support": {"z": 1, "a": 2}})
    assert list(after) == ["candidate", "open", "support"]
    assert list(after["support"]) == ["a", "z"]
    assert after["open"] is before["open"]   # shared, as nothing changes what was kept
    assert as_read_back(before, previous=before) is before


def test_a_record_with_values_json_writes_differently_is_read_back_as_the_database_would():
    before = as_read_back({"open": {"school": "Hill"}})
    record = {"on": date(2027, 3, 10), "score": 1.5, "odd": float("inf"), "keys": {2: "b"},
              "list": ("x", {"b": 1, "a": [True, None]})}
    after = as_read_back({**before, "judge": record}, previous=before)
    assert after == read_back({**before, "judge": record})
    assert list(after["judge"]) == sorted(record) and list(after["judge"]["list"][1]) == ["a", "b"]


def test_keys_json_writes_as_text_are_read_back_as_text_when_added_to_previous_data():
    numbers = as_read_back({7: "seven", 2: "two"}, previous={})
    assert numbers == read_back({7: "seven", 2: "two"}) and list(numbers) == ["2", "7"]
    # A number key beside text keys cannot be sorted: the store refuses to write it, and the
    # memory store refuses it alike (replay then reports the entry, as the database would).
    before = as_read_back({"open": {"school": "Hill"}})
    with pytest.raises(TypeError):
        dumps({**before, 3: "three"})
    with pytest.raises(TypeError):
        as_read_back({**before, 3: "three"}, previous=before)


def test_what_the_memory_store_keeps_cannot_be_changed_so_sharing_it_is_safe():
    kept = as_read_back({"open": {"school": "Hill", "days": ["2027-01-05"]}})
    with pytest.raises(TypeError, match="not to be changed"):
        kept["open"]["school"] = "Dale"
    with pytest.raises(TypeError, match="not to be changed"):
        kept["open"].update(school="Dale")
    with pytest.raises(TypeError, match="not to be changed"):
        kept["open"]["days"].append("2027-01-06")
    with pytest.raises(TypeError, match="not to be changed"):
        del kept["open"]
    assert kept == {"open": {"school": "Hill", "days": ["2027-01-05"]}}
    # a copy is the caller's to change; the text it writes is the text the original wrote
    changed = {**kept, "support": {"a": 1}}
    assert dumps(kept) == '{"open":{"days":["2027-01-05"],"school":"Hill"}}'
    assert as_read_back(changed, previous=kept)["open"] is kept["open"]


def test_what_the_memory_store_keeps_owns_none_of_what_the_caller_gave_it():
    given = {"support": {"z": 1, "a": [2, {"b": 3}]}}
    kept = as_read_back(given)
    given["support"]["a"][1]["b"] = 4
    given["support"]["z"] = 5
    assert kept == {"support": {"a": [2, {"b": 3}], "z": 1}}


def test_what_the_memory_store_keeps_is_copied_and_pickled_as_itself():
    import copy
    import pickle
    kept = as_read_back({"open": {"school": "Hill", "days": ["2027-01-05"]}})
    for again in (copy.deepcopy(kept), pickle.loads(pickle.dumps(kept))):
        assert again == kept and type(again) is type(kept)
        assert type(again["open"]["days"]) is type(kept["open"]["days"])


def test_a_triggers_data_with_number_keys_is_logged_with_text_keys_and_read_with_numbers():
    # validate.dumped once read pydantic's core schema to dump such data only once, and gave
    # the guards JSON's text keys: each dump is now made for its reader.
    from pydantic import BaseModel

    from workflows.engine.validate import dumped

    class Scores(BaseModel):
        by_standard: dict[int, str]

    event, stored = dumped(Scores(by_standard={1: "met"}))
    assert event == {"by_standard": {1: "met"}}
    assert stored == {"by_standard": {"1": "met"}}


def test_form_data_is_parsed_strictly_naming_the_key():
    import pytest

    from workflows.core.text import DataTextError, loads_data
    assert loads_data('{"a": 1.5, "b": [1, {"c": null}]}') == {"a": 1.5, "b": [1, {"c": None}]}
    for text, says in [('{"a": 1, "a": 2}', "key 'a' is given twice"),
                       ('{"a": {"b": NaN}}', "a.b: NaN"),
                       ('{"a": [0, Infinity]}', "a[1]: Infinity"),
                       ('{"a": 1e999}', "a: 1e999"),
                       ('{"a": ' + "1" * 5000 + "}", "more than 4,300 digits")]:
        with pytest.raises(DataTextError) as refused:
            loads_data(text)
        assert says in str(refused.value)


def test_a_key_counts_as_a_text_against_the_limit():
    from workflows.core.text import longest_text
    assert longest_text({"k" * 70: "short"}) == ("a key", 70)
    assert longest_text({"candidate": {"k" * 70: "x"}}) == ("a key in candidate", 70)
