"""Personal data that can be erased (shared/DOMAIN.md, "Personal data"): one logged entry erases
a closed case's personal fields everywhere while both hash chains still verify; a subject-access
export finds every case naming a person; a retention period erases what it has run out on."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.builders import application_data
from tests.cli import Cli, in_process

SECRET = "Zelda Quintrell-Ashgrove"            # a name that appears nowhere else
EMAIL = "zelda.quintrell@hill.example.org"
ERASER = ("--actor", "la_coordinator:lac")


def open_named(cli: Cli, name: str = SECRET, email: str = EMAIL, now: str = "2026-12-18") -> str:
    data = application_data(candidate={"name": name, "email": email})
    return cli.ok("open", "application", "--actor", "headteacher:h.brown", "--data",
                  json.dumps(data), now=now).stdout.strip()


def withdrawn(cli: Cli, tmp_path: Path, through_the_command_line: bool = False,
              name: str = SECRET, email: str = EMAIL) -> str:
    """A case withdrawn by its candidate, its notices delivered: through the command line, or
    (where the erasure after it is what a test is about) by the same steps through the engine
    and the outbox in this process, on the same database."""
    why = {"why": f"I am moving to Wales, says {name}"}
    if through_the_command_line:
        case = open_named(cli, name, email)
        cli.ok("fire", case, "withdraw", "--actor", "candidate:zq", "--data", json.dumps(why),
               now="2026-12-21")
        cli.ok("deliver", env={"AST_ENGINE_DELIVERY_FOLDER": str(tmp_path / "sent")})
        return case
    from notifications.delivery import FileChannel
    from workflows.core.config import Config
    from workflows.engine.notice_queue import Outbox
    with in_process(cli, now="2026-12-18") as d:
        case = d.open(data=application_data(candidate={"name": name, "email": email})).case
        d.fire(case, "withdraw", "candidate:zq", why, at="2026-12-21")
        delivery = Config().delivery
        Outbox(d.engine.db, FileChannel(tmp_path / "sent"), delivery.sender,
               delivery.max_attempts, d.clock).deliver_all()
    return case


def erase(cli: Cli, case: str, *extra: str):
    return cli("fire", case, "erase_personal_data", *(extra or ERASER), "--data",
               '{"reason": "the candidate asked (UK GDPR art. 17)"}', now="2026-12-22")


def database_bytes(tmp_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in tmp_path.glob("ast_engine.db*"))


def test_erasing_a_closed_case_erases_its_personal_fields_and_both_chains_still_verify(
        cli, tmp_path):
    case = withdrawn(cli, tmp_path, through_the_command_line=True)
    assert SECRET.encode() in database_bytes(tmp_path)

    result = erase(cli, case)

    assert result.returncode == 0, result.stderr
    shown = cli.json("show", case)
    assert shown["state"] == "withdrawn" and shown["erased_at"]
    assert shown["data"]["candidate"] == "erased" and shown["data"]["school"] == "erased"
    assert shown["records"]["withdraw"]["data"] == {"why": "erased"}
    opening, withdrawal, erasure = shown["log"]
    assert opening["data"]["candidate"] == "erased" and opening["erased"] is True
    assert withdrawal["data"] == {"why": "erased"}
    assert erasure["trigger"] == "erase_personal_data" and erasure["erased"] is False
    assert erasure["data"] == {"reason": "the candidate asked (UK GDPR art. 17)"}
    assert all(n["subject"] == "erased" and n["to"] == ["erased"] for n in shown["notices"])
    # The entries keep their hashes, states, times and triggers.
    assert [e["trigger"] for e in shown["log"]] == ["open", "withdraw", "erase_personal_data"]
    assert cli("audit", "verify").returncode == 0
    replayed = cli("replay", "--all", "--verify", "--json")
    assert replayed.returncode == 0
    assert json.loads(replayed.stdout) == [
        {"case": case, "kind": "application", "entries": 3, "state": "withdrawn", "version": 3,
         "ok": True, "erased": True, "first_difference_at_seq": None, "differences": []}]
    # Nothing of it is left in the database file or its write-ahead log.
    assert SECRET.encode() not in database_bytes(tmp_path)
    assert EMAIL.encode() not in database_bytes(tmp_path)
    exported = cli.ok("audit", "export", "--case", case).stdout
    assert SECRET not in exported and '"erased": true' in exported


def test_another_case_is_untouched(cli, tmp_path):
    erased = withdrawn(cli, tmp_path)
    other = open_named(cli, name="Olwen Pryce", email="olwen.pryce@hill.example.org",
                       now="2026-12-21")
    assert erase(cli, erased).returncode == 0
    kept = cli.json("show", other)
    assert kept["data"]["candidate"] == {"name": "Olwen Pryce",
                                         "email": "olwen.pryce@hill.example.org"}
    assert kept["erased_at"] is None and kept["notices"][0]["subject"] != "erased"
    assert b"Olwen Pryce" in database_bytes(tmp_path)


def test_an_operator_may_key_in_the_erasure_for_the_la_coordinator(cli, tmp_path):
    case = withdrawn(cli, tmp_path)
    result = erase(cli, case, "--actor", "operator:it.jones", "--for", "la_coordinator:lac")
    assert result.returncode == 0, result.stderr
    assert cli.json("show", case)["log"][-1]["for"] == "la_coordinator:lac"


@pytest.mark.parametrize("actor", [("--actor", "headteacher:h.brown"),
                                   ("--actor", "candidate:zq")])
def test_only_the_la_coordinator_erases(cli, tmp_path, actor):
    case = withdrawn(cli, tmp_path)
    refused = erase(cli, case, *actor)
    assert refused.returncode == 2 and "allowed: la_coordinator" in refused.stderr


def test_a_case_still_open_cannot_be_erased(cli):
    case = open_named(cli)
    before = cli.json("show", case)
    refused = erase(cli, case)
    assert refused.returncode == 2
    assert "not allowed in state received" in refused.stderr
    assert cli.json("show", case) == before


def test_a_case_with_a_notice_not_yet_delivered_is_not_erased(cli):
    case = open_named(cli)
    cli.ok("fire", case, "withdraw", "--actor", "candidate:zq", now="2026-12-21")
    before = cli.json("show", case)
    refused = erase(cli, case)
    assert refused.returncode == 2 and "not delivered yet" in refused.stderr
    assert cli.json("show", case) == before


def test_an_erased_case_takes_no_further_trigger(cli, tmp_path):
    case = withdrawn(cli, tmp_path)
    assert erase(cli, case).returncode == 0
    again = erase(cli, case)
    assert again.returncode == 2 and "was erased on" in again.stderr


def test_the_erasure_needs_a_reason(cli, tmp_path):
    case = withdrawn(cli, tmp_path)
    refused = cli("fire", case, "erase_personal_data", *ERASER, now="2026-12-22")
    assert refused.returncode == 2 and "reason" in refused.stderr


def test_an_erased_mark_without_its_erasing_entry_fails_audit_verify(cli, tmp_path):
    """Someone with write access blanking a case's data by hand is not an erasure."""
    from sqlalchemy import create_engine, text
    case = withdrawn(cli, tmp_path)
    engine = create_engine(f"sqlite:///{tmp_path / 'ast_engine.db'}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE transition_log SET data = '{}', data_salt = NULL, erased = 1 "
                          "WHERE case_id = :c AND seq = 2"), {"c": case})
    engine.dispose()
    result = cli("audit", "verify")
    assert result.returncode == 3
    assert "no erase_personal_data entry" in result.stdout


# -- subject access ------------------------------------------------------------------------------

def test_export_person_finds_the_candidates_application_and_the_appointment_to_their_post(cli):
    from tests.integration.test_fuzz_findings import HEAD
    post = cli.ok("open", "appointment", "--actor", "headteacher:v.vale", "--data", json.dumps({
        "school": {"name": "Vale Secondary School", "phase": "secondary",
                   "email": "office@vale.example.org"},
        "la": "Exampleshire", "focus": "mathematics", "advertisement": "external",
        "funding_source": "school", "pay_range": {"first_point": 5, "last_point": 9},
        "headteacher": {"name": "Vera Vale", "email": "v.vale@vale.example.org"}}),
        now="2026-12-01").stdout.strip()
    cli.ok("fire", post, "secure_funding", "--actor", "headteacher:v.vale", now="2026-12-02")
    cli.ok("fire", post, "advertise", "--actor", "headteacher:v.vale", "--data",
           '{"closing_date": "2027-01-29"}', now="2026-12-03")
    case = open_named(cli)
    for trigger, actor, data, now in [
            ("support", HEAD, {"evaluation": "Ready."}, "2027-01-05"),
            ("submit_to_agency", HEAD, {"funding_declaration": {"declared_by": "Hugh Brown",
                                                                "source": "school"}},
             "2027-01-06"),
            ("agency_receive", ("--actor", "agency:naa"), {}, "2027-01-08"),
            ("schedule_assessment", ("--actor", "agency:naa"),
             {"assessment_date": "2027-02-10", "assessor": {
                 "id": "as-17", "name": "Carol Assessor",
                 "email": "carol.assessor@agency.example.org"}}, "2027-01-11"),
            ("judge_met", ("--actor", "assessor:as-17"), {}, "2027-02-10T16:00")]:
        cli.ok("fire", case, trigger, *actor, "--data", json.dumps(data), now=now)
    cli.ok("fire", post, "close_applications", "--actor", "post_school:vale", "--data",
           json.dumps({"shortlist": [{"candidate": SECRET, "application": case}]}),
           now="2027-02-12")
    cli.ok("fire", post, "appoint", "--actor", "post_school:vale", "--data", json.dumps(
        {"candidate": SECRET, "certified_application": case, "start_date": "2027-09-01",
         "spine_point": 5}), now="2027-02-15")

    document = json.loads(cli.ok("export-person", EMAIL.upper()).stdout)

    assert sorted(c["case"] for c in document["cases"]) == sorted([case, post])
    assert {e["case"] for e in document["log"]} == {case, post}
    assert any(n["template"] == "appointment_confirmed" for n in document["notices"])


# -- retention -----------------------------------------------------------------------------------

def test_retention_lists_and_erases_the_cases_closed_longer_than_the_policy_keeps(cli, tmp_path):
    old = withdrawn(cli, tmp_path)
    recent = withdrawn(cli, tmp_path, name="Olwen Pryce", email="olwen.pryce@hill.example.org")
    cli.ok("fire", recent, "erase_personal_data", *ERASER, "--data",
           '{"reason": "asked"}', now="2026-12-22")   # already erased: not listed
    still_open = open_named(cli, name="Rhys Morgan", email="rhys.morgan@hill.example.org")
    env = {"AST_ENGINE_POLICY_RETENTION_YEARS": "6"}

    assert "personal data is kept" in cli.ok("retention").stdout
    listed = json.loads(cli.ok("retention", "--json", now="2033-01-05", env=env).stdout)
    assert [c["case"] for c in listed["cases"]] == [old]
    assert cli.json("show", old)["erased_at"] is None          # listing writes nothing

    applied = cli("retention", "--apply", *ERASER, now="2033-01-05", env=env)
    assert applied.returncode == 0, applied.stderr
    assert cli.json("show", old)["erased_at"] is not None
    assert cli.json("show", still_open)["erased_at"] is None
    assert cli("audit", "verify").returncode == 0
    assert "no case closed before" in cli.ok("retention", now="2033-01-05", env=env).stdout


def test_retention_apply_needs_an_actor(cli):
    refused = cli("retention", "--apply", env={"AST_ENGINE_POLICY_RETENTION_YEARS": "6"})
    assert refused.returncode == 2 and "--actor" in refused.stderr


def test_the_engine_erases_on_either_database_and_both_chains_still_verify(driver):
    """The same erasure through the engine's API, on SQLite and PostgreSQL."""
    from storage import queries
    from tests.builders import application_data as data
    from workflows.engine import Actor
    case = driver.open(data=data(candidate={"name": SECRET, "email": EMAIL}),
                       at="2026-12-18").case
    driver.fire(case, "withdraw", "candidate:zq", at="2026-12-21")
    db = driver.engine.db
    from notifications.delivery import FileChannel
    from workflows.engine.notice_queue import Outbox
    import tempfile
    Outbox(db, FileChannel(tempfile.mkdtemp()), "ast-engine@la.example.org", 8,
           driver.clock).deliver_all()
    driver.engine.fire(case, "erase_personal_data", Actor.parse("la_coordinator:lac"),
                       {"reason": "asked"})
    shown = queries.case_detail(db, case)
    assert shown["data"]["candidate"] == "erased"
    assert {n["subject"] for n in shown["notices"]} == {"erased"}
    assert queries.verify_log(db).ok
    rows = driver.rows("SELECT COUNT(*) AS n FROM notices WHERE body LIKE :s", s=f"%{SECRET}%")
    assert rows[0].n == 0
