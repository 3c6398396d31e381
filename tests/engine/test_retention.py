"""Retention's rule at its home (workflows/engine/retention.py): when a closed case's personal
data has been kept long enough, which cases that makes, and their erasure. The command line's
`retention` only prints it (tests/integration/test_personal_data.py)."""
from __future__ import annotations

from datetime import datetime

import pytest

from notifications.delivery import FileChannel
from storage import queries
from tests.builders import Driver, application_data
from workflows.core.times import parse_instant, utc_iso
from workflows.engine import Actor
from workflows.engine.notice_queue import Outbox
from workflows.engine.retention import Retention

COORDINATOR = Actor.parse("la_coordinator:lac")


@pytest.mark.parametrize("now, years, cutoff", [
    ("2033-01-05T09:00:00+00:00", 6, "2027-01-05T09:00:00+00:00"),
    ("2033-06-30T23:30:00+00:00", 1, "2032-06-30T23:30:00+00:00"),
    # 29 February counts back from the 28th: the years before have no 29th, or not always.
    ("2032-02-29T12:00:00+00:00", 1, "2031-02-28T12:00:00+00:00"),
    ("2032-02-29T12:00:00+00:00", 4, "2028-02-28T12:00:00+00:00"),
])
def test_the_cut_off_is_the_same_instant_that_many_years_before(now, years, cutoff):
    assert utc_iso(Retention(years, datetime.fromisoformat(now)).cutoff) == cutoff


def test_zero_years_keeps_personal_data_and_lists_no_case(driver: Driver, db):
    case = driver.open(at="2026-12-18").case
    driver.fire(case, "withdraw", "candidate:ann", at="2026-12-21")
    kept = Retention(0, parse_instant("2099-01-01"))
    assert kept.keeps_everything and kept.expired(db) == []
    assert not Retention(6, parse_instant("2099-01-01")).keeps_everything


def test_only_closed_cases_untouched_since_before_the_cut_off_have_run_out(driver: Driver, db):
    old = driver.open(at="2026-12-18").case
    driver.fire(old, "withdraw", "candidate:ann", at="2026-12-21")
    still_open = driver.open(data=application_data(candidate={
        "name": "Rhys Morgan", "email": "rhys.morgan@hill.example.org"}), at="2026-12-22").case
    later = driver.open(data=application_data(candidate={
        "name": "Olwen Pryce", "email": "olwen.pryce@hill.example.org"}), at="2027-02-01").case
    driver.fire(later, "withdraw", "candidate:op", at="2027-02-02")
    expired = Retention(6, parse_instant("2033-01-05")).expired(db)
    assert [(e.case, e.kind, e.state, e.last_event) for e in expired] == [
        (old, "application", "withdrawn", "2026-12-21T09:00:00+00:00")]
    assert still_open not in [e.case for e in Retention(6, parse_instant("2040-01-01")
                                                        ).expired(db)]


def test_erasure_logs_the_retention_period_as_its_reason_and_a_refusal_does_not_stop_the_rest(
        driver: Driver, db, tmp_path):
    waiting = driver.open(at="2026-12-18").case           # its notices were never delivered
    driver.fire(waiting, "withdraw", "candidate:ann", at="2026-12-21")
    policy = Retention(6, parse_instant("2033-01-05"))
    expired = policy.expired(db)
    done = policy.erase(driver.engine, expired, COORDINATOR)
    assert [(e.case.case, e.refused is not None) for e in done] == [(waiting, True)]
    assert "notice" in done[0].refused

    Outbox(db, FileChannel(tmp_path / "sent"), "ast@la.example.org", 8,
           driver.clock).deliver_all()   # a case is erased once its notices have gone
    done = policy.erase(driver.engine, policy.expired(db), COORDINATOR)
    assert [(e.case.case, e.refused) for e in done] == [(waiting, None)]
    entry = queries.case_detail(db, waiting)["log"][-1]
    assert (entry["trigger"], entry["actor"], entry["data"]) == (
        "erase_personal_data", "la_coordinator:lac",
        {"reason": "retention period of 6 year(s) ended (closed 2026-12-21)"})
    assert policy.expired(db) == []                        # erased: not listed again
