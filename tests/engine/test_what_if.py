"""The what-if comparison at its home (workflows/read/what_if.py): a case replayed under another
configuration, each deadline as stored beside the one that configuration gives, each with the
calendar it counted on; nothing written. `replay CASE --config` prints it
(tests/integration/test_recalendar.py)."""
from __future__ import annotations

from tests.builders import AGENCY, Driver
from workflows.core.config import Config
from workflows.read.what_if import compare, described

WALES_CLOSED = Config(calendar={"nation": "wales", "closures": ["2027-01-11", "2027-01-12"]})


def test_a_local_deadline_moves_under_another_nation_and_its_closure_days(driver: Driver, db):
    case = driver.open(at="2026-12-18").case
    before = driver.snapshot()
    compared = compare(db, case, WALES_CLOSED)
    assert compared.state == "received" and compared.problems == []
    assert compared.timers == [{
        "timer": "headteacher_deadline", "calendar": "local", "stored_due": "2027-01-20",
        "stored_calendar": "local: England, no LA closure days", "what_if_due": "2027-01-22",
        "what_if_calendar": "local: Wales, LA closure days 2027-01-11, 2027-01-12",
        "changes": True}]
    assert driver.snapshot() == before


def test_a_national_deadline_ignores_the_las_closure_days(driver: Driver, db):
    case = driver.to_certified()
    driver.fire(case, "send_decision_letter", AGENCY, at="2027-02-11")
    rows = {r["timer"]: r for r in compare(db, case, Config(
        calendar={"closures": ["2027-02-11", "2027-02-12"]})).timers}
    letter = rows["decision_letter"]
    assert (letter["calendar"], letter["changes"]) == ("national", False)
    assert letter["what_if_calendar"] == \
        "England bank holidays only (a national duty or right)"


def test_the_same_configuration_changes_no_deadline(driver: Driver, db):
    case = driver.open(at="2026-12-18").case
    compared = compare(db, case, Config())
    assert [r["changes"] for r in compared.timers] == [False]


def test_a_calendar_reads_as_the_party_it_guards_counts_it():
    calendars = WALES_CLOSED.calendars()
    assert described("national", calendars.national()) == \
        "Wales bank holidays only (a national duty or right)"
    assert described("local", calendars.local()) == \
        "local: Wales, LA closure days 2027-01-11, 2027-01-12"
