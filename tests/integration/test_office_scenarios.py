"""The scenarios of issue 11 ("Office truth"), walked through the command line as an LA office
walks them, on SQLite and on PostgreSQL, each with the outcome the revised DOMAIN.md gives:
paper keyed late, calendars by party (Wales), no refusal of a review, the outcome told to the
school, funding checked against the post, one post per AST, certificates from elsewhere, and
letters that state the case as it stands. Every new refusal is one `error:` line, exit 2, and
writes nothing."""
from __future__ import annotations

import email
import json
from pathlib import Path

import pytest

from storage import queries
from storage.db import Database
from tests.builders import (ASSESSOR, HEADTEACHER, OFFICER, Driver, application_data,
                            appointment_data)
from tests.cli import Cli
from workflows.core.clock import FixedClock
from workflows.core.config import load
from workflows.engine import Engine
from workflows.engine.replay import case_ids, replay_many
from workflows.read.case_view import detail
from workflows.core.times import parse_instant

HEAD = ("--actor", "headteacher:h.brown")
AGENCY = ("--actor", "agency:naa")
JUDGE = ("--actor", "assessor:as-17")
LA = ("--actor", "la_coordinator:lc")
POST_SCHOOL = ("--actor", "post_school:vale")
COORDINATOR = ("--actor", "review_coordinator:rc")
OPERATOR_FOR_CANDIDATE = ("--actor", "operator:it.jones", "--for", "candidate:ann")
REQUEST = {"grounds": ["relevant_evidence_ignored"], "explanation": "My portfolio was not read."}
FUNDING_SCHOOL = {"funding_declaration": {"declared_by": "Hugh Brown", "source": "school"}}


@pytest.fixture
def office(migrated_url, tmp_path) -> "Office":
    """On each backend in turn, a database migrated as `init` leaves it (tests/conftest.py)."""
    office = Office(Cli(tmp_path, db=migrated_url), tmp_path, migrated_url)
    yield office
    office.close()


class Office:
    """The LA office at its keyboard: the command line, a configuration file, the outbox. The
    walks that bring a case to where a scenario starts run in this process on the same
    database (`walk`), the scenario itself through the command line. What a scenario reads
    back to check (`show`, the cases a letter went out for, `verified`) is read in this process
    too, by the functions `show --json`, `list --json`, `audit verify` and `replay --all
    --verify` call: those commands as processes are tried in test_cli.py and
    test_audit_cli.py."""

    def __init__(self, cli: Cli, folder: Path, url: str):
        self.cli, self.folder, self.url = cli, folder, url
        self.env: dict[str, str] = {}
        self.db = Database(url)
        self._driver: Driver | None = None

    def close(self) -> None:
        self.db.dispose()

    @property
    def walk(self) -> Driver:
        """The engine in this process, on the office's database and configuration."""
        if self._driver is None:
            clock = FixedClock(parse_instant("2026-01-01"))
            self._driver = Driver(Engine(self.db, self.config(), clock=clock), clock)
        return self._driver

    def config(self):
        """The configuration the command line reads: la.toml once configured, else defaults."""
        return load(self.folder / "la.toml" if self.env else None, environ={})

    def configure(self, toml: str) -> None:
        (self.folder / "la.toml").write_text(toml)
        self.env = {"AST_ENGINE_CONFIG": str(self.folder / "la.toml")}
        self._driver = None

    def run(self, *args, now: str):
        return self.cli(*args, now=now, env=self.env)

    def open(self, kind: str, data: dict, actor=HEAD, now: str = "2026-12-18") -> str:
        result = self.run("open", kind, *actor, "--data", json.dumps(data), "--json", now=now)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)["case"]

    def fire(self, case: str, trigger: str, actor, data: dict | None = None, *, now: str,
             at: str | None = None) -> dict:
        args = ["fire", case, trigger, *actor, "--json"]
        if data is not None:
            args += ["--data", json.dumps(data)]
        if at:
            args += ["--at", at]
        result = self.run(*args, now=now)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def tick(self, now: str) -> None:
        assert self.run("tick", now=now).returncode == 0

    def show(self, case: str) -> dict:
        """What `show CASE --json` prints, as it prints it (the same function, in JSON)."""
        shown = detail(self.db, self.config(), case)
        assert shown is not None, f"no case {case!r}"
        return json.loads(json.dumps(shown, ensure_ascii=False))

    def everything(self) -> dict:
        """Every row of every table: what a refusal must leave as it was."""
        return self.walk.snapshot()

    def refused(self, *args, now: str, says: str) -> str:
        """The command is refused: exit 2, one `error:` line saying `says`, nothing written."""
        before = self.everything()
        result = self.run(*args, now=now)
        assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        assert says in lines[0], lines[0]
        assert self.everything() == before
        return lines[0]

    def letters(self, template: str) -> list[email.message.Message]:
        """Deliver, then read every `template` letter from the outbox folder."""
        assert self.run("deliver", now="2030-01-01").returncode == 0
        ids = [n["id"] for c in queries.list_cases(self.db)
               for n in self.show(c["case"])["notices"]
               if n["template"] == template]
        return [email.message_from_bytes((self.folder / "outbox" / f"{i}.eml").read_bytes())
                for i in ids]

    def verified(self) -> None:
        """Both hash chains intact, and every case rebuilt from its log alone as stored."""
        verdict = queries.verify_log(self.db)
        assert verdict.ok, verdict.first_break
        replayed = replay_many(self.db, self.config(), case_ids(self.db), verify=True)
        assert [r.as_json() for r in replayed if not r.ok] == []


def body(message: email.message.Message) -> str:
    return " ".join(message.get_payload(decode=True).decode("utf-8").split())


# -- walks (in this process: where each scenario starts) --------------------------------------------

def to_supported(o: Office, data: dict | None = None) -> str:
    d = o.walk
    case = d.open(data=data or application_data(), at="2026-12-18").case
    d.fire(case, "support", HEADTEACHER, {"evaluation": "Ready."}, at="2027-01-05")
    return case


def to_scheduled(o: Office, data: dict | None = None) -> str:
    d = o.walk
    case = to_supported(o, data)
    d.fire(case, "submit_to_agency", HEADTEACHER, FUNDING_SCHOOL, at="2027-01-06")
    d.fire(case, "agency_receive", "agency:naa", at="2027-01-08")
    d.fire(case, "schedule_assessment", "agency:naa",
           {"assessment_date": "2027-02-10", "assessor": ASSESSOR}, at="2027-01-11")
    return case


def to_not_met(o: Office, letter: bool = True) -> str:
    case = to_scheduled(o)
    o.walk.fire(case, "judge_not_met", "assessor:as-17", {"unmet_standards": ["E3", "A1"]},
                at="2027-02-10T16:00")
    if letter:
        o.walk.fire(case, "send_decision_letter", "agency:naa", at="2027-02-12")
    return case


def to_certified(o: Office, data: dict | None = None) -> str:
    case = to_scheduled(o, data)
    o.walk.fire(case, "judge_met", "assessor:as-17", at="2027-02-10T16:00")
    return case


def post(o: Office, at: str = "2027-03-01", **changes) -> str:
    d = o.walk
    case = d.open("appointment", appointment_data(**changes), actor="la_coordinator:lc",
                  at=at).case
    la_funded = changes.get("funding_source") in ("school_development_grant", "local_formula")
    d.fire(case, "secure_funding", "la_coordinator:lc" if la_funded else "headteacher:v.vale",
           at=at)
    d.fire(case, "advertise", "la_coordinator:lc", {"closing_date": "2027-03-12"}, at=at)
    return case


# == 1. Paper keyed late ==========================================================================

def test_a_review_request_received_in_time_but_keyed_after_the_window_closed_reopens_the_case(
        office: Office):
    case = to_not_met(office)                       # letter Fri 2027-02-12: window due 04-13
    office.tick("2027-04-15")
    assert office.show(case)["state"] == "closed_not_met"

    # The request reached the Review Co-ordinator on 12 April; it is keyed in on 20 April.
    done = office.fire(case, "request_review", OPERATOR_FOR_CANDIDATE, REQUEST,
                       now="2027-04-20", at="2027-04-12")

    assert done["state"] == "under_review"
    shown = office.show(case)
    timer_entry, superseding, request = shown["log"][-3:]
    assert (timer_entry["trigger"], timer_entry["dest"]) == ("timer:review_window",
                                                             "closed_not_met")
    assert timer_entry["effective_at"] == "2027-04-13T23:00:00+00:00"   # its true fires_at
    assert timer_entry["superseded_by"] == superseding["seq"]
    assert (superseding["trigger"], superseding["source"], superseding["dest"]) == (
        "timer_superseded", "closed_not_met", "not_met")
    assert superseding["actor"] == "operator:it.jones" and superseding["for"] == "candidate:ann"
    assert superseding["data"]["superseded_seq"] == timer_entry["seq"]
    assert superseding["data"]["late_trigger"] == "request_review"
    assert superseding["data"]["late_effective_at"] == "2027-04-12T08:00:00+00:00"
    assert (request["trigger"], request["source"], request["dest"]) == (
        "request_review", "not_met", "under_review")
    assert [t["status"] for t in shown["timers"] if t["name"] == "review_window"] == ["superseded"]
    reviews = json.loads(office.run("list", "--kind", "review", "--json", now="2030-01-01").stdout)
    assert [r["state"] for r in reviews] == ["requested"]
    listed = json.loads(office.run("list", "--kind", "application", "--json",
                                   now="2030-01-01").stdout)
    assert listed[0]["superseded_timers"] == 1
    explained = office.run("explain", case, "review_window", now="2030-01-01").stdout
    assert "(superseded)" in explained and "bank holidays only" in explained
    exported = [json.loads(line) for line in office.run(
        "audit", "export", "--case", case, "--format", "jsonl", now="2030-01-01"
    ).stdout.splitlines()]
    assert [e["superseded_by"] for e in exported if e["trigger"] == "timer:review_window"] == [
        superseding["seq"]]
    office.verified()


def test_a_review_request_received_after_the_window_stays_refused(office: Office):
    case = to_not_met(office)
    office.tick("2027-04-15")
    office.refused("fire", case, "request_review", *OPERATOR_FOR_CANDIDATE, "--data",
                   json.dumps(REQUEST), "--at", "2027-04-14", now="2027-04-20",
                   says="timer:review_window (entry 9) moved it there when its due date "
                        "2027-04-13 passed")


def test_support_dated_before_the_deadline_but_keyed_after_it_is_recorded_at_its_true_date(
        office: Office):
    case = office.open("application", application_data())        # due Wed 2027-01-20
    office.tick("2027-01-22")
    done = office.fire(case, "support", HEAD, {"evaluation": "Ready."}, now="2027-01-22T10:00",
                       at="2027-01-19")
    assert done["state"] == "supported"
    shown = office.show(case)
    assert [e["trigger"] for e in shown["log"]] == ["open", "timer:headteacher_deadline",
                                                    "support"]
    assert shown["log"][-1]["effective_at"] == "2027-01-19T09:00:00+00:00"
    # The form still had not left the school by the 20th: the missed deadline stands.
    assert shown["timers"][0]["status"] == "fired" and shown["log"][1]["superseded_by"] is None
    assert [n["template"] for n in shown["notices"]] == ["application_received",
                                                         "deadline_missed"]
    office.verified()


def test_a_rejection_dated_in_time_withdraws_the_missed_deadline_report(office: Office):
    case = office.open("application", application_data())
    office.tick("2027-01-22")
    office.fire(case, "reject", HEAD, {"reasons": "The form was not signed."},
                now="2027-01-25", at="2027-01-20T17:00")
    shown = office.show(case)
    assert shown["state"] == "rejected"
    assert shown["timers"][0]["status"] == "superseded"
    assert [n["template"] for n in shown["notices"]] == [
        "application_received", "deadline_missed", "deadline_missed_withdrawn",
        "headteacher_rejection"]
    withdrawn = office.letters("deadline_missed_withdrawn")
    assert withdrawn and "Please disregard" in body(withdrawn[0])
    office.verified()


def test_a_late_keyed_event_may_not_pass_over_a_persons_entry_nor_precede_the_opening(
        office: Office):
    case = office.open("application", application_data())
    office.tick("2027-01-22")
    office.fire(case, "support", HEAD, {"evaluation": "Ready."}, now="2027-01-22", at="2027-01-19")
    office.refused("fire", case, "withdraw", "--actor", "candidate:ann", "--at", "2027-01-18",
                   now="2027-01-25",
                   says="would come before entry 3 of case")
    office.refused("fire", case, "send_to_la", *HEAD, "--at", "2026-12-17", now="2027-01-25",
                   says="before case")


# == 2. Calendars by party (Wales) ================================================================

WALES_CHRISTMAS = """
[calendar]
nation = "wales"
closures = ["2027-12-20", "2027-12-21", "2027-12-22", "2027-12-23", "2027-12-24",
            "2027-12-29", "2027-12-30", "2027-12-31", "2028-01-04"]

[calendar.schools]
"Hill Primary School" = ["2028-01-05", "2028-01-06"]
"""


def test_la_closure_days_do_not_move_the_agencys_letter_or_the_candidates_review_window(
        office: Office):
    office.configure(WALES_CHRISTMAS)
    d = office.walk
    case = d.open(data=application_data(), at="2027-10-01").case
    d.fire(case, "support", HEADTEACHER, {"evaluation": "Ready."}, at="2027-10-04")
    d.fire(case, "submit_to_agency", HEADTEACHER, FUNDING_SCHOOL, at="2027-10-05")
    d.fire(case, "agency_receive", "agency:naa", at="2027-11-10")
    d.fire(case, "schedule_assessment", "agency:naa",
           {"assessment_date": "2027-12-17", "assessor": ASSESSOR}, at="2027-11-12")
    office.fire(case, "judge_not_met", JUDGE, {"unmet_standards": ["E3"]},
                now="2027-12-17T16:00")
    timers = {t["name"]: t for t in office.show(case)["timers"]}
    # Three working days after Fri 17 December 2027, Welsh bank holidays only: 20, 21, 22.
    assert (timers["decision_letter"]["due"], timers["decision_letter"]["calendar"]) == (
        "2027-12-22", "national")
    # Fifteen: 20-24 Dec (5), 27 and 28 Dec are bank holidays, 29-31 (8), 3 Jan is one,
    # 4-7 Jan (12), 10-12 Jan (15).
    assert timers["written_feedback"]["due"] == "2028-01-12"
    office.fire(case, "send_decision_letter", AGENCY, now="2027-12-20")
    review_window = {t["name"]: t for t in office.show(case)["timers"]}["review_window"]
    assert review_window["calendar"] == "national"
    explained = office.run("explain", case, "review_window", now="2030-01-01").stdout
    assert "Wales bank holidays only" in explained and "LA closure day" not in explained


def test_local_duties_skip_la_and_school_closure_days(office: Office):
    office.configure(WALES_CHRISTMAS)
    case = office.open("application", application_data(), now="2027-12-17")
    due = office.show(case)["timers"][0]
    # Twenty working days of the school (Hill Primary) after 17 Dec: the LA closes 20-24 and
    # 29-31 Dec and 4 Jan, the bank holidays are 27-28 Dec and 3 Jan, the school 5-6 Jan:
    # 7 Jan (1), 10-14 (6), 17-21 (11), 24-28 (16), 31 Jan (17), 1-3 Feb (20).
    assert (due["name"], due["calendar"], due["due"]) == ("headteacher_deadline", "local",
                                                          "2028-02-03")
    explained = office.run("explain", case, now="2030-01-01").stdout
    assert "closure day of Hill Primary School" in explained and "LA closure day" in explained


def test_in_wales_no_p_standard_can_be_unmet_and_no_notice_speaks_of_core_standards(
        office: Office):
    office.configure('[calendar]\nnation = "wales"\n')
    case = to_scheduled(office, application_data(career_stage="main_scale"))
    office.refused("fire", case, "judge_not_met", *JUDGE, "--data",
                   json.dumps({"unmet_standards": ["P3", "E3"]}), now="2027-02-10T16:00",
                   says="unmet_standards: P3 are not assessed externally in Wales")
    received = office.letters("application_received")
    assert received and "core" not in body(received[0]).lower()
    assert "the standards that apply to you in Wales" in body(received[0])


# == 3. Applications ==============================================================================

def test_a_post_funded_through_the_la_goes_via_the_la_and_its_source_is_checked(office: Office):
    apt = office.walk.open("appointment", appointment_data(
        funding_source="school_development_grant"), actor="la_coordinator:lc",
        at="2026-12-01").case
    data = application_data(post={"school": "Vale Secondary School",
                                  "email": "office@vale.example.org",
                                  "advertisement": "internal", "appointment": apt})
    case = to_supported(office, data)
    office.refused("fire", case, "submit_to_agency", *HEAD, "--data", json.dumps(
        {"funding_declaration": {"declared_by": "Hugh Brown",
                                 "source": "school_development_grant"}}),
        now="2027-01-06", says="use send_to_la")
    assert office.fire(case, "send_to_la", HEAD, now="2027-01-06")["state"] == "with_la"
    office.refused("fire", case, "submit_to_agency", *LA, "--data", json.dumps(FUNDING_SCHOOL),
                   now="2027-01-07",
                   says=f"funding_declaration.source: the post ({apt}) is funded by "
                        "school_development_grant, not school")
    done = office.fire(case, "submit_to_agency", LA, {"funding_declaration": {
        "declared_by": "LA co-ordinator", "source": "school_development_grant"}}, now="2027-01-07")
    assert done["state"] == "submitted"


def test_a_reapplication_must_follow_the_same_candidates_assessed_application(office: Office):
    withdrawn = office.walk.open(at="2026-12-18").case
    office.walk.fire(withdrawn, "withdraw", "candidate:ann", at="2027-01-04")
    evidence = "A year of new outreach work."
    office.refused("open", "application", *HEAD, "--data", json.dumps(application_data(
        previous_application=withdrawn, supporting_evidence=evidence)), now="2027-09-01",
        says="was never assessed")
    assessed = to_not_met(office)
    other = application_data(previous_application=assessed, supporting_evidence=evidence)
    other["candidate"] = {"name": "Bea Cole", "email": "bea.cole@hill.example.org"}
    office.refused("open", "application", *HEAD, "--data", json.dumps(other), now="2027-09-01",
                   says="is another candidate's application")
    again = json.loads(office.run("open", "application", *HEAD, "--data", json.dumps(
        application_data(previous_application=assessed, supporting_evidence=evidence)),
        "--json", now="2027-09-01").stdout)
    assert again["state"] == "received"


def test_a_candidate_already_certified_is_warned(office: Office):
    to_certified(office)
    result = office.run("open", "application", *HEAD, "--data", json.dumps(application_data()),
                        "--json", now="2027-03-01")
    assert result.returncode == 0
    assert json.loads(result.stdout)["warnings"] == ["already_certified"]   # its DOMAIN.md name
    assert result.stderr.startswith("warning: already_certified: ann.lee@hill.example.org")
    shouted = application_data(candidate={"name": "Ann Lee", "email": "ANN.LEE@hill.example.org"})
    again = office.run("open", "application", *HEAD, "--data", json.dumps(shouted), "--json",
                       now="2027-03-02")
    assert json.loads(again.stdout)["warnings"] == ["already_certified"]
    other = application_data(candidate={"name": "Bo Ng", "email": "bo.ng@hill.example.org"})
    fresh = office.run("open", "application", *HEAD, "--data", json.dumps(other), "--json",
                       now="2027-03-02")
    assert json.loads(fresh.stdout)["warnings"] == []


def test_an_assessment_cannot_be_dated_before_the_agency_had_the_application(office: Office):
    case = to_supported(office)
    office.fire(case, "submit_to_agency", HEAD, FUNDING_SCHOOL, now="2027-01-06")
    office.fire(case, "agency_receive", AGENCY, now="2027-01-08")
    office.refused("fire", case, "schedule_assessment", *AGENCY, "--data", json.dumps(
        {"assessment_date": "2027-01-07", "assessor": ASSESSOR}), now="2027-01-11",
        says="assessment_date: 2027-01-07 is before the agency received")


# == 4. Reviews ===================================================================================

def test_no_one_can_refuse_a_review(office: Office):
    case = to_not_met(office)
    review = office.fire(case, "request_review", OPERATOR_FOR_CANDIDATE, REQUEST,
                         now="2027-03-01")
    review_id = json.loads(office.run("list", "--kind", "review", "--json",
                                      now="2030-01-01").stdout)[0]["case"]
    assert review["state"] == "under_review"
    office.refused("fire", review_id, "refuse", *COORDINATOR, "--data",
                   json.dumps({"reasons": "No ground."}), now="2027-03-02",
                   says="unknown trigger 'refuse' for a review case")


# == 5. Outcomes told, letters as the case stands =================================================

def test_the_headteacher_and_post_school_are_told_the_outcome_with_the_letter(office: Office):
    case = to_certified(office)
    office.fire(case, "send_decision_letter", AGENCY, now="2027-02-11")
    outcome = [n for n in office.show(case)["notices"] if n["template"] == "assessment_outcome"]
    assert [n["to"] for n in outcome] == [["h.brown@hill.example.org", "office@hill.example.org"]]


def test_a_decision_letter_sent_during_a_review_invites_no_review(office: Office):
    case = to_not_met(office, letter=False)
    office.fire(case, "request_review", OPERATOR_FOR_CANDIDATE, REQUEST, now="2027-02-11")
    office.fire(case, "send_decision_letter", AGENCY, now="2027-02-12")
    letter = body(office.letters("decision_letter")[0])
    assert "You may ask for the assessment to be reviewed" not in letter
    assert "You have already asked for this assessment to be reviewed" in letter


def test_written_feedback_after_a_review_certified_the_candidate_says_so(office: Office):
    case = to_not_met(office, letter=False)
    office.fire(case, "request_review", OPERATOR_FOR_CANDIDATE, REQUEST, now="2027-02-11")
    review = json.loads(office.run("list", "--kind", "review", "--json",
                                   now="2030-01-01").stdout)[0]["case"]
    office.walk.fire(review, "invite_assessor_comment", "review_coordinator:rc", at="2027-02-12")
    office.walk.fire(review, "assign_review_officer", "review_coordinator:rc",
                     {"review_officer": OFFICER}, at="2027-02-15")
    office.fire(review, "certify", ("--actor", "review_officer:ro-3"), {"reasons": "E3 is met."},
                now="2027-02-16")
    assert office.show(case)["state"] == "certified"
    office.fire(case, "send_written_feedback", AGENCY,
                {"feedback": {"E3": "Planning lacked progression.", "A1": "No outreach yet."}},
                now="2027-02-17")
    letter = body(office.letters("written_feedback")[0])
    assert "all applicable standards met" not in letter
    assert "on review, the Review Officer certified Ann Lee" in letter
    office.verified()


# == 6. Appointments ==============================================================================

def test_a_school_funded_post_does_not_count_against_the_las_limit(office: Office):
    office.configure('[policy]\nla_limit = "refuse"\n')
    primary = {"name": "Brook Primary School", "phase": "primary",
               "email": "office@brook.example.org"}
    post(office, school=primary, funding_source="school")
    post(office, school=primary, funding_source="school_development_grant")
    second = office.open("appointment", appointment_data(
        school=primary, funding_source="local_formula"), actor=LA, now="2027-03-01")
    office.refused("fire", second, "secure_funding", *LA, now="2027-03-01",
                   says="la_limit: this would be post 2 funded through the LA at Brook "
                        "Primary School")


def test_the_same_certified_candidate_cannot_hold_two_posts(office: Office):
    application = to_certified(office)
    first, second = post(office), post(office, school={
        "name": "Meadow Primary School", "phase": "primary", "email": "office@meadow.example.org"})
    shortlist = {"shortlist": [{"candidate": "Ann Lee", "application": application}]}
    appoint = {"candidate": "Ann Lee", "certified_application": application,
               "start_date": "2027-04-19", "spine_point": 5}
    for p in (first, second):
        office.walk.fire(p, "close_applications", "post_school:vale", shortlist, at="2027-03-12")
    office.fire(first, "appoint", POST_SCHOOL, appoint, now="2027-03-15")
    office.refused("fire", second, "appoint", *POST_SCHOOL, "--data", json.dumps(appoint),
                   now="2027-03-15", says=f"already holds post {first}")
    assert office.fire(first, "submit_ast2", POST_SCHOOL, now="2027-03-16")["state"] == "filled"
    office.fire(first, "vacate", POST_SCHOOL, {"reason": "left"}, now="2027-08-31")
    assert office.fire(second, "appoint", POST_SCHOOL, appoint,
                       now="2027-08-31")["state"] == "appointed"


def test_a_certificate_held_from_another_la_appoints(office: Office):
    apt = post(office)
    certificate = {"agency_reference": "NAA-2019-0042", "certified_on": "2019-06-14",
                   "checked_by": "LA AST Co-ordinator"}
    office.fire(apt, "close_applications", POST_SCHOOL,
                {"shortlist": [{"candidate": "Cara Moss", "certificate": certificate}]},
                now="2027-03-12")
    appoint = {"candidate": "Cara Moss", "certificate": certificate, "start_date": "2027-04-19",
               "spine_point": 5}
    office.refused("fire", apt, "appoint", *POST_SCHOOL, "--data", json.dumps(appoint),
                   now="2027-03-15", says="email")
    done = office.fire(apt, "appoint", POST_SCHOOL,
                       {**appoint, "email": "cara.moss@elsewhere.example.org"}, now="2027-03-15")
    assert done["state"] == "appointed"
    confirmed = [n for n in office.show(apt)["notices"]
                 if n["template"] == "appointment_confirmed"]
    assert [n["to"] for n in confirmed] == [["cara.moss@elsewhere.example.org"]]
    found = json.loads(office.run("export-person", "cara.moss@elsewhere.example.org",
                                  now="2030-01-01").stdout)
    assert [c["case"] for c in found["cases"]] == [apt]
    office.verified()


@pytest.mark.parametrize("data, says", [
    ({"pay_range": {"first_point": 15, "last_point": 19}},
     "pay_range: the AST spine has 18 points"),
    ({"pay_area": "mayfair"}, "pay_area"),
    ({"funding_source": "lottery"}, "funding_source"),
])
def test_a_post_outside_the_rules_is_refused_at_opening(office: Office, data, says):
    office.refused("open", "appointment", *LA, "--data", json.dumps(appointment_data(**data)),
                   now="2027-03-01", says=says)


def test_a_vacancy_needs_one_of_the_known_reasons(office: Office):
    application = to_certified(office)
    apt = post(office)
    office.walk.fire(apt, "close_applications", "post_school:vale",
                     {"shortlist": [{"candidate": "Ann Lee", "application": application}]},
                     at="2027-03-12")
    office.walk.fire(apt, "appoint", "post_school:vale",
                     {"candidate": "Ann Lee", "certified_application": application,
                      "start_date": "2027-04-19", "spine_point": 5}, at="2027-03-15")
    office.refused("fire", apt, "vacate", *POST_SCHOOL, "--data", json.dumps({"reason": "bored"}),
                   now="2027-09-01", says="reason")


def test_show_says_how_many_working_days_late_each_entry_was_keyed_in(office: Office):
    """Recorded minus effective, in working days (bank holidays only): a form of Friday
    18 December 2026 keyed in on Monday 4 January 2027 is 8 working days late: 21-24 (4),
    29-31 December (7) and 4 January (8); 25 and 28 December and 1 January are bank holidays."""
    clock = FixedClock(parse_instant("2027-01-04T10:00"))
    keyed_on = FixedClock(parse_instant("2027-01-04T10:00"))
    driver = Driver(Engine(office.db, clock=clock, recorder=keyed_on), clock)
    case = driver.open(at="2026-12-18").case
    driver.fire(case, "support", HEADTEACHER, {"evaluation": "Ready."}, at="2027-01-04T09:30")
    log = office.show(case)["log"]
    assert [e["keyed_late_working_days"] for e in log] == [8, 0]
    text = office.run("show", case, now="2030-01-01").stdout
    assert "(keyed in Mon 2027-01-04 10:00, 8 working days late)" in text
    exported = [json.loads(line) for line in office.run(
        "audit", "export", "--case", case, "--format", "jsonl", now="2030-01-01"
    ).stdout.splitlines()]
    assert [e["keyed_late_working_days"] for e in exported] == [8, 0]
