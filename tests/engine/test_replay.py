"""Replay rebuilds a case from its log alone with the current code and, with --verify, finds
the first entry where the rebuilt case and the stored one part."""
from __future__ import annotations

import itertools

import pytest
from sqlalchemy import text

from tests.builders import AGENCY, Driver
from workflows.core.config import Config
from workflows.engine.replay import Replayer, case_ids, replay_many
from notifications.render import render


def test_a_walked_case_and_its_review_replay_exactly(driver: Driver):
    application, review = driver.to_review()
    results = replay_many(driver.engine.db, Config(), [application, review], verify=True)
    assert [(r.case, r.ok, r.state) for r in results] == [
        (application, True, "under_review"), (review, True, "requested")]
    assert results[0].entries == len(driver.log(application))


def test_a_renderer_that_is_not_deterministic_is_caught_at_the_first_notice(driver: Driver):
    case = driver.to_certified()
    counter = itertools.count()

    def drifting(name, context, version=None):
        notice = render(name, context, version)
        return type(notice)(notice.template, notice.subject, notice.body + f"\n{next(counter)}")

    replayer = Replayer(driver.engine.db, Config(), renderer=drifting)
    result = replayer.replay(case)
    assert not result.ok
    assert result.seq == 1     # application_received is rendered by the opening entry
    assert "rendered text of application_received" in result.differences[0]


def test_replay_uses_the_calendar_each_entry_was_recorded_with(driver: Driver):
    case = driver.open(at="2026-12-18").case        # headteacher_deadline due 2027-01-20
    closed = Config(calendar={"closures": ["2027-01-04"]})
    # Today's calendar has a new closure day: the entry still replays as it was recorded ...
    assert Replayer(driver.engine.db, closed).replay(case).ok
    # ... while imposing today's calendar on the past (a what-if) parts at the first entry.
    imposed = Replayer(driver.engine.db, closed, recorded_calendars=False).replay(case)
    assert (imposed.ok, imposed.seq) == (False, 1)
    assert "2027-01-20" in imposed.differences[0] and "2027-01-21" in imposed.differences[0]


@pytest.mark.no_replay
def test_a_stored_notice_edited_after_the_fact_is_named(driver: Driver):
    case = driver.to_certified()
    driver.fire(case, "send_decision_letter", AGENCY, at="2027-02-11")
    with driver.engine.db.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE notices SET body_sha256 = 'x' WHERE template = "
                             "'decision_letter'")
    result = replay_many(driver.engine.db, Config(), [case], verify=True)[0]
    assert not result.ok
    assert result.seq == driver.log(case)[-1].seq
    assert "decision_letter" in result.differences[0]


def test_replay_writes_nothing_to_the_database_it_reads(driver: Driver):
    driver.to_review()
    before = driver.snapshot()
    replay_many(driver.engine.db, Config(), case_ids(driver.engine.db), verify=True)
    assert driver.snapshot() == before


@pytest.mark.no_replay
def test_worker_processes_reach_the_same_verdicts_as_one_process(driver: Driver):
    cases = [driver.to_certified() for _ in range(4)] + list(driver.to_review())
    with driver.engine.db.engine.begin() as conn:   # one deadline moved by hand
        conn.execute(text("UPDATE timers SET due = '2030-01-01' WHERE case_id = :case "
                          "AND name = 'decision_letter'"), {"case": cases[2]})
    progress = []
    here = replay_many(driver.engine.db, Config(), cases, verify=True, workers=1)
    workers = replay_many(driver.engine.db, Config(), cases, verify=True, workers=2, batch=2,
                          on_progress=lambda done, total, r: progress.append((done, total)))
    assert [r.as_json() for r in workers] == [r.as_json() for r in here]
    assert [r.case for r in workers] == cases                      # in the order asked
    assert [r.ok for r in workers] == [True, True, False, True, True, True]
    assert "timers started differ" in workers[2].differences[0]
    assert progress == [(n, 6) for n in range(1, 7)]
