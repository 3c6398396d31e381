"""`ast-engine example` and the triggers `show` offers: what an operator reads to key in a form
right the first time."""
from __future__ import annotations

import json

import pytest

from states import PROCESSES
from states.examples import OPENING, TRIGGER, triggers
from tests.cli import Cli


@pytest.mark.parametrize("kind", sorted(OPENING))
def test_the_opening_example_of_each_kind_is_data_the_engine_accepts(kind):
    PROCESSES[kind].opening.data.model_validate(OPENING[kind])


def test_every_trigger_that_takes_data_has_an_example_its_model_accepts():
    for name in triggers():
        rows = [t for p in PROCESSES.values() for t in p.all_transitions()
                if t.trigger == name and t.data is not None and not t.retired]
        required = any(f.is_required() for t in rows for f in t.data.model_fields.values())
        assert (name in TRIGGER) == required, name
        for row in rows if name in TRIGGER else []:
            row.data.model_validate(TRIGGER[name])


def test_the_judgement_example_names_only_standards_the_example_candidate_is_assessed_on():
    # A form is prefilled as `example` prints: a code the engine refuses for that candidate
    # would be dropped from the check boxes without a word.
    from states.standards import externally_assessed
    assessed = externally_assessed(OPENING["application"]["career_stage"], "england")
    assert set(TRIGGER["judge_not_met"]["unmet_standards"]) <= set(assessed)


def test_the_engine_reads_each_example_as_its_model_dumps_it():
    """Guards, deadlines and notices read a trigger's data as its model's Python dump (dates as
    dates); the log stores its JSON dump (dates as text): validate.dumped gives both."""
    from workflows.engine.validate import dumped
    examples = [(PROCESSES[kind].opening.data, OPENING[kind]) for kind in OPENING] + [
        (row.data, TRIGGER[row.trigger]) for process in PROCESSES.values()
        for row in process.all_transitions() if row.data is not None and row.trigger in TRIGGER]
    for model, data in examples:
        instance = model.model_validate(data)
        event, stored = dumped(instance)
        assert event == instance.model_dump(), model.__name__
        assert stored == instance.model_dump(mode="json"), model.__name__


def test_the_table_show_reads_its_next_triggers_from_agrees_with_the_processes():
    from states.examples import next_table
    from states.next_steps import NEXT
    assert NEXT == next_table(), "run `python -m states.examples` to write it again"


def test_example_writes_a_file_that_open_takes_as_it_is(cli, tmp_path):
    printed = cli.ok("example", "application")
    (tmp_path / "ast1.json").write_text(printed.stdout)
    assert "open application" in printed.stderr
    case = cli.ok("open", "application", "--actor", "headteacher:h.brown", "--data",
                  "@ast1.json").stdout.strip()
    fired = cli("example", "support")
    cli.ok("fire", case, "support", "--actor", "headteacher:h.brown", "--data", fired.stdout)


def test_example_of_a_review_says_how_a_review_opens_and_an_unknown_name_lists_the_choices(
        tmp_path):
    cli = Cli(tmp_path)
    review = cli("example", "review")
    assert review.returncode == 2 and "request_review" in review.stderr
    unknown = cli("example", "promote")
    assert unknown.returncode == 2 and "schedule_assessment" in unknown.stderr
    assert json.loads(cli.ok("example", "shortlist").stdout) == {}
    assert list(tmp_path.iterdir()) == []   # no database was needed, none was made


def test_show_lists_the_next_triggers_with_the_keys_each_needs(cli, tmp_path):
    cli.ok("example", "application")
    case = cli.ok("open", "application", "--actor", "headteacher:h.brown", "--data",
                  cli.ok("example", "application").stdout, now="2026-12-18").stdout.strip()
    shown = json.loads(cli.ok("show", case, "--json").stdout)
    steps = {s["trigger"]: s for s in shown["next"]}
    assert set(steps) == {"reject", "decline_support", "support", "withdraw",
                          "change_headteacher"}
    assert steps["change_headteacher"]["roles"] == ["la_coordinator"]
    assert steps["support"] == {"trigger": "support", "roles": ["headteacher"],
                                "needs": ["evaluation"], "may_add": []}
    text = cli.ok("show", case).stdout
    assert "Next (triggers this state allows" in text
    assert any(line.split()[:4] == ["support", "by", "headteacher", "evaluation"]
               for line in text.splitlines())


def test_list_shows_whom_each_case_is_about_and_finds_them_by_name_school_or_email(cli, tmp_path):
    from tests.builders import application_data
    ann = cli.ok("open", "application", "--actor", "headteacher:h.brown", "--data",
                 json.dumps(application_data())).stdout.strip()
    ben = cli.ok("open", "application", "--actor", "headteacher:o.oak", "--data", json.dumps(
        application_data(candidate={"name": "Ben Okafor", "email": "ben@oak.example.org"},
                         school={"name": "Oak Secondary School"},
                         post={"school": "Oak Secondary School", "advertisement": "internal",
                               "appointment": None}))).stdout.strip()
    table = cli.ok("list").stdout
    assert "Ann Lee (Hill Primary School)" in table and "Ben Okafor (Oak Secondary" in table
    assert [r["case"] for r in json.loads(cli.ok("list", "--search", "OKAFOR", "--json").stdout)
            ] == [ben]
    assert [r["name"] for r in json.loads(cli.ok("list", "--search", "hill primary", "--json"
                                                 ).stdout)] == ["Ann Lee"]
    assert [r["case"] for r in json.loads(cli.ok("list", "--search", "ben@oak", "--json").stdout)
            ] == [ben]
    assert [r["case"] for r in json.loads(cli.ok("list", "--search", ann[-6:], "--json").stdout)
            ] == [ann]
    nobody = cli.ok("list", "--search", "nobody")
    assert nobody.stdout == "" and "no cases" in nobody.stderr
