"""Defects a property-based fuzz of trigger sequences found (issue 15), each tried through the
command line as an operator meets it."""
from __future__ import annotations

import json

import pytest

from tests.builders import ASSESSOR, OFFICER, application_data
from tests.cli import Cli, in_process, open_application, open_in_process, stored

HEAD = ("--actor", "headteacher:h.brown")
AGENCY = ("--actor", "agency:naa")
COORDINATOR = ("--actor", "review_coordinator:rc")


def to_review(cli: Cli, through_the_command_line: bool = True) -> tuple[str, str]:
    """An application judged not met, its letter sent and a review requested on 2027-03-01;
    returns (application, review). The walk goes through the command line, step by step as
    an office keys it, or (where the finding is what comes after) through the engine in this
    process on the same database, by the same steps at the same times."""
    if not through_the_command_line:
        return walked_in_process(cli)
    case = open_application(cli, now="2026-12-18")
    cli.ok("fire", case, "support", *HEAD, "--data", '{"evaluation": "Ready."}', now="2027-01-05")
    cli.ok("fire", case, "submit_to_agency", *HEAD, "--data", json.dumps(
        {"funding_declaration": {"declared_by": "Hugh Brown", "source": "school"}}),
        now="2027-01-06")
    cli.ok("fire", case, "agency_receive", *AGENCY, now="2027-01-08")
    cli.ok("fire", case, "schedule_assessment", *AGENCY, "--data", json.dumps(
        {"assessment_date": "2027-02-10", "assessor": ASSESSOR}), now="2027-01-11")
    cli.ok("fire", case, "judge_not_met", "--actor", "assessor:as-17", "--data",
           '{"unmet_standards": ["E3"]}', now="2027-02-10T16:00")
    cli.ok("fire", case, "send_decision_letter", *AGENCY, now="2027-02-12")
    fired = cli.json("fire", case, "request_review", "--actor", "candidate:ann", "--data",
                     json.dumps({"grounds": ["relevant_evidence_ignored"],
                                 "explanation": "My portfolio was not read."}), now="2027-03-01")
    review = next(c["case"] for c in cli.json("list", "--kind", "review"))
    assert fired["state"] == "under_review"
    return case, review


def walked_in_process(cli: Cli) -> tuple[str, str]:
    with in_process(cli, now="2026-12-18") as d:
        case = d.open(data=application_data(), actor="headteacher:h.brown").case
        d.fire(case, "support", HEAD[1], {"evaluation": "Ready."}, at="2027-01-05")
        d.fire(case, "submit_to_agency", HEAD[1], {"funding_declaration": {
            "declared_by": "Hugh Brown", "source": "school"}}, at="2027-01-06")
        d.fire(case, "agency_receive", AGENCY[1], at="2027-01-08")
        d.fire(case, "schedule_assessment", AGENCY[1],
               {"assessment_date": "2027-02-10", "assessor": ASSESSOR}, at="2027-01-11")
        d.fire(case, "judge_not_met", "assessor:as-17", {"unmet_standards": ["E3"]},
               at="2027-02-10T16:00")
        d.fire(case, "send_decision_letter", AGENCY[1], at="2027-02-12")
        fired = d.fire(case, "request_review", "candidate:ann",
                       {"grounds": ["relevant_evidence_ignored"],
                        "explanation": "My portfolio was not read."}, at="2027-03-01")
    assert fired.state == "under_review"
    return case, fired.linked[0].case


def test_a_review_past_its_deadline_can_still_go_to_a_review_officer(cli):
    _, review = to_review(cli)
    cli.ok("fire", review, "invite_assessor_comment", *COORDINATOR, now="2027-03-02")
    cli.ok("tick", now="2027-06-01")   # 40 working days after 2027-03-01 end on 2027-04-28
    timers = cli.json("show", review)["timers"]
    assert [(t["name"], t["status"]) for t in timers] == [("review_decision", "fired")]

    assigned = cli("fire", review, "assign_review_officer", *COORDINATOR, "--data",
                   json.dumps({"review_officer": OFFICER}), now="2027-06-02")

    assert assigned.returncode == 0, assigned.stderr
    notices = cli.json("notices", "--case", review)
    letter = next(n for n in notices if n["template"] == "review_assigned")
    assert letter["to"] == [OFFICER["email"]]
    body = cli.json("show", review)
    assert body["state"] == "with_review_officer"


def test_the_late_review_officer_is_told_the_decision_date_has_passed(cli, tmp_path):
    _, review = to_review(cli, through_the_command_line=False)
    cli.ok("fire", review, "invite_assessor_comment", *COORDINATOR, now="2027-03-02")
    cli.ok("tick", now="2027-06-01")
    cli.ok("fire", review, "assign_review_officer", *COORDINATOR, "--data",
           json.dumps({"review_officer": OFFICER}), now="2027-06-02")
    cli.ok("deliver", env={"AST_ENGINE_DELIVERY_FOLDER": str(tmp_path / "out")})
    assigned = next(n for n in cli.json("notices", "--case", review)
                    if n["template"] == "review_assigned")
    mail = (tmp_path / "out" / f"{assigned['id']}.eml").read_text()
    assert "Wednesday 28 April 2027" in " ".join(mail.split())
    assert "That date has passed" in mail


@pytest.mark.parametrize("warnings", ["false", '"NaN"', '["made up by the user"]'])
def test_a_submitted_warnings_key_is_kept_as_data_and_replay_still_verifies(cli, warnings):
    case = open_application(cli)
    cli.ok("fire", case, "withdraw", "--actor", "candidate:ann", "--data",
           f'{{"reason": "gone", "warnings": {warnings}}}', now="2026-12-19")

    assert cli("audit", "verify").returncode == 0
    replayed = cli("replay", "--all", "--verify")
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    entry = cli.json("show", case)["log"][-1]
    assert entry["data"] == {"reason": "gone", "warnings": json.loads(warnings)}
    assert entry["engine"] == {}   # the engine gave no warning, whatever the data says


def test_the_engines_own_warnings_are_recorded_apart_from_the_data(cli):
    previous, _ = to_review(cli, through_the_command_line=False)
    reapplied = cli.json("open", "application", *HEAD, "--data", json.dumps({
        **application_data(),
        "previous_application": previous, "supporting_evidence": "New outreach work.",
        "warnings": ["not the engine's"]}), now="2027-04-01")
    assert reapplied["warnings"] == ["early_reapplication"]
    entry = cli.json("show", reapplied["case"])["log"][0]
    assert entry["data"]["warnings"] == ["not the engine's"]
    assert [w.split(":")[0] for w in entry["engine"]["warnings"]] == reapplied["warnings"]
    assert cli("replay", "--all", "--verify").returncode == 0


@pytest.mark.parametrize("data, where", [
    ('{"reasons": "x", "note": "\\udfff"}', "note"),
    ('{"reasons": "\\ud800 alone"}', "reasons"),
    ('{"reasons": "x", "\\udfff": 1}', "key"),
    ('{"reasons": "nul \\u0000 inside"}', "reasons"),
])
def test_text_that_is_not_valid_unicode_is_refused_with_nothing_written(cli, data, where):
    case = open_in_process(cli)   # the refused command is the process under test
    before = stored(cli)
    refused = cli("fire", case, "reject", *HEAD, "--data", data, now="2026-12-19")
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: ") and where in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert stored(cli) == before


def test_an_argument_that_is_not_utf8_is_refused_not_a_crash(cli):
    refused = cli("show", "app-\udcff")   # how Python hands over the byte 0xff on the command line
    assert refused.returncode == 2
    assert refused.stderr == "error: argument 2 (app-\\xff) is not valid UTF-8 text\n"


def test_an_actor_id_with_a_terminal_escape_is_refused(cli):
    case = open_application(cli)
    refused = cli("fire", case, "reject", "--actor", "headteacher:h.brown\x1b[2J",
                  "--data", '{"reasons": "x"}', now="2026-12-19")
    assert refused.returncode == 2 and "control character" in refused.stderr
