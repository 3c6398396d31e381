"""One transition is one transaction: all of it is written, or none of it."""
from __future__ import annotations

import itertools
import threading
from datetime import timedelta

import pytest

from notifications.render import TemplateRenderError, render
from tests.builders import AGENCY, FUNDING, HEADTEACHER, Driver, application_data, refused
from workflows.core.clock import FixedClock
from workflows.core.times import parse_instant
from workflows.engine import Actor, Engine
from workflows.core.errors import (ConcurrentChangeError, EngineError, NotAllowedInStateError,
                              RefusedError)


def failing_on(template: str, error: Exception):
    """A renderer that fails on one template, as a broken template or a crash would."""
    def renderer(name, context, version=None):
        if name == template:
            raise error
        return render(name, context, version)
    return renderer


def test_a_template_error_rolls_back_the_whole_transition(db, clock, config):
    driver = Driver(Engine(db, config, clock=clock, renderer=failing_on(
        "application_with_agency",
        TemplateRenderError("application_with_agency", KeyError("candidate")))), clock)
    case = driver.open(at="2026-12-18").case
    driver.fire(case, "support", HEADTEACHER, {"evaluation": "Ready."}, at="2027-01-05")
    driver.fire(case, "submit_to_agency", HEADTEACHER, FUNDING, at="2027-01-06")
    before = driver.snapshot()

    with pytest.raises(EngineError, match="application_with_agency"):
        driver.fire(case, "agency_receive", AGENCY, at="2027-01-08")

    assert driver.snapshot() == before
    assert driver.state(case) == "submitted"


def test_a_crash_after_the_log_entry_was_written_leaves_nothing_behind(db, clock, config):
    """The decision letter's notice is rendered after the case row, the log entry and the
    review_window timer were written in the transaction: a crash there must undo all three."""
    driver = Driver(Engine(db, config, clock=clock,
                           renderer=failing_on("decision_letter", RuntimeError("disk full"))),
                    clock)
    case = driver.to_not_met(letter=False)
    before = driver.snapshot()

    with pytest.raises(RuntimeError, match="disk full"):
        driver.fire(case, "send_decision_letter", AGENCY, at="2027-02-12")

    assert driver.snapshot() == before


def test_a_failure_in_a_linked_case_undoes_the_case_that_caused_it(db, clock, config):
    """request_review opens the review in the same transaction: if the review's notice fails,
    the application is not left under review without its review."""
    driver = Driver(Engine(db, config, clock=clock,
                           renderer=failing_on("review_acknowledged", RuntimeError("boom"))),
                    clock)
    case = driver.to_not_met()
    before = driver.snapshot()

    with pytest.raises(RuntimeError):
        driver.fire(case, "request_review", "candidate:ann",
                    {"grounds": ["bias_or_discrimination"], "explanation": "x"}, at="2027-03-01")

    assert driver.snapshot() == before
    assert driver.state(case) == "not_met"


def test_a_refusal_writes_nothing_at_all(driver: Driver):
    case = driver.open(at="2026-12-18").case
    with refused(driver, NotAllowedInStateError, "only from"):
        driver.fire(case, "agency_receive", AGENCY, at="2026-12-19")


def test_firing_with_a_stale_version_is_refused_cleanly(driver: Driver):
    case = driver.open(at="2026-12-18").case
    driver.fire(case, "support", HEADTEACHER, {"evaluation": "Ready."}, at="2027-01-05")
    with refused(driver, ConcurrentChangeError, "version 2, not 1"):
        driver.engine.fire(case, "submit_to_agency", Actor.parse(HEADTEACHER), FUNDING,
                           expected_version=1)


def test_two_concurrent_fires_on_one_case_one_wins_and_the_other_is_refused(migrated_url,
                                                                            clock, config):
    from storage.db import Database
    db = Database(migrated_url)
    driver = Driver(Engine(db, config, clock=clock), clock)
    case = driver.open(at="2026-12-18").case
    clock.set(clock.now().replace(year=2027, month=1, day=5))

    barrier = threading.Barrier(2)
    results: list = []

    def support(evaluation: str):
        # Each thread has its own Engine over the shared database, as two processes would.
        engine = Engine(Database(migrated_url), config, clock=clock)
        barrier.wait()
        try:
            results.append(engine.fire(case, "support", Actor.parse(HEADTEACHER),
                                       {"evaluation": evaluation}, expected_version=1))
        except RefusedError as err:
            results.append(err)
        finally:
            engine.db.dispose()

    threads = [threading.Thread(target=support, args=(e,)) for e in ("first", "second")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    wins = [r for r in results if not isinstance(r, Exception)]
    refusals = [r for r in results if isinstance(r, RefusedError)]
    assert len(wins) == 1 and len(refusals) == 1
    assert isinstance(refusals[0], (ConcurrentChangeError, NotAllowedInStateError))
    log = driver.log(case)
    assert [e.trigger for e in log] == ["open", "support"]
    assert driver.rows("SELECT version FROM cases WHERE id = :id", id=case)[0].version == 2
    db.dispose()


def test_concurrent_fires_on_different_cases_all_land_in_one_unbroken_chain(migrated_url,
                                                                           clock, config):
    from storage import queries
    from storage.db import Database
    db = Database(migrated_url)
    driver = Driver(Engine(db, config, clock=clock), clock)
    cases = [driver.open(at="2026-12-18").case for _ in range(6)]
    clock.set(clock.now().replace(year=2027, month=1, day=5))
    errors: list = []

    def support(case: str):
        engine = Engine(Database(migrated_url), config, clock=clock)
        try:
            engine.fire(case, "support", Actor.parse(HEADTEACHER), {"evaluation": "ok"})
        except Exception as err:   # collected and asserted below
            errors.append(err)
        finally:
            engine.db.dispose()

    threads = [threading.Thread(target=support, args=(c,)) for c in cases]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert errors == []
    verdict = queries.verify_log(db)
    assert verdict.ok and verdict.entries == 12
    db.dispose()


def test_a_timer_that_cannot_fire_stays_pending_and_the_others_still_fire(db, clock, config):
    """A broken deadline_missed template must not lose the timer, nor hold up the rest."""
    calls = itertools.count()

    def broken_once(name, context, version=None):
        if name == "deadline_missed" and next(calls) == 0:
            raise RuntimeError("template store unreachable")
        return render(name, context, version)

    driver = Driver(Engine(db, config, clock=clock, renderer=broken_once), clock)
    first = driver.open(at="2026-12-18").case
    second = driver.open(at="2026-12-21").case
    failures = []
    clock.set(clock.now().replace(year=2027, month=1, day=25))
    fired = driver.engine.tick(on_error=lambda timer, err: failures.append(timer.case_id))
    assert failures == [first] and [o.case for o in fired] == [second]
    assert driver.timers(first)["headteacher_deadline"][2] == "pending"
    assert [o.case for o in driver.engine.tick()] == [first]     # fires on the next tick


# -- the unit of work as a context manager ----------------------------------------------------------

def test_leaving_a_unit_of_work_by_an_exception_rolls_all_of_it_back(driver: Driver):
    """Whatever a unit of work wrote, its chain head included, is undone when it is left by an
    exception: no caller has a finish() to remember, or to forget."""
    from storage.rows import ChainHead
    case = driver.open(at="2026-12-18").case
    before = driver.snapshot()
    with pytest.raises(RuntimeError, match="crash"):
        with driver.engine.work() as work:
            work.store.end_timer(driver.engine.due_timers(
                driver.clock.now().replace(year=2028))[0].id, "cancelled", 2)
            work.appended(99, "f" * 64)
            raise RuntimeError("crash")
    assert driver.snapshot() == before
    with driver.engine.work() as work:
        assert work.head == ChainHead(1, driver.rows("SELECT hash FROM transition_log "
                                                     "WHERE case_id = :c", c=case)[0].hash)


def test_leaving_a_unit_of_work_normally_commits_it_with_its_chain_head(driver: Driver):
    driver.open(at="2026-12-18")
    with driver.engine.work() as work:
        work.appended(7, "e" * 64)
    assert [tuple(r) for r in driver.rows("SELECT global_seq, hash FROM chain_head")] == [
        (7, "e" * 64)]


def test_recalendar_apply_moves_every_deadline_or_none(driver: Driver, db, clock, monkeypatch):
    from workflows.core.config import Config
    from workflows.engine import steps
    first = driver.open(at="2026-12-18").case
    second = driver.open(at="2026-12-21").case
    later = Engine(db, Config(calendar={"closures": ["2027-01-11"]}), clock=clock)
    moving = [m["timer_id"] for m in later.recalendar_preview()]
    assert len(moving) == 2
    before = driver.snapshot()
    original, calls = steps.recompute, itertools.count()

    def fails_on_the_second(*args, **kw):
        if next(calls) == 1:
            raise RuntimeError("the database went away")
        return original(*args, **kw)

    monkeypatch.setattr(steps, "recompute", fails_on_the_second)
    with pytest.raises(RuntimeError, match="went away"):
        later.recompute_deadlines(moving, Actor.parse("operator:it.jones"))
    assert driver.snapshot() == before               # the first move is undone with it
    monkeypatch.setattr(steps, "recompute", original)
    moved = later.recompute_deadlines(moving, Actor.parse("operator:it.jones"))
    assert [o.case for o in moved] == [first, second]


# -- timers that fail to fire --------------------------------------------------------------------

def test_a_timer_that_keeps_failing_is_failed_after_five_attempts_and_shown(db, clock, config):
    from storage import queries
    from workflows.engine import TIMER_ATTEMPTS

    def broken(name, context, version=None):
        if name == "deadline_missed":
            raise RuntimeError("template store unreachable")
        return render(name, context, version)

    driver = Driver(Engine(db, config, clock=clock, renderer=broken), clock)
    case = driver.open(at="2026-12-18").case
    clock.set(clock.now().replace(year=2027, month=1, day=25))
    errors = []
    for attempt in range(1, TIMER_ATTEMPTS + 2):
        driver.engine.tick(on_error=lambda timer, err: errors.append(attempt))
    assert errors == list(range(1, TIMER_ATTEMPTS + 1))   # not tried again once failed
    timer = queries.case_timers(db, case)[0]
    assert (timer.status, timer.attempts) == ("failed", TIMER_ATTEMPTS)
    assert "template store unreachable" in timer.last_error
    assert queries.case_detail(db, case)["timers"][0]["status"] == "failed"
    assert queries.list_cases(db)[0]["failed_timers"] == 1
    assert queries.status(db, "2027-01-25T00:00:00+00:00")["failed_timers"] == 1
    assert queries.retry_timers(db, None) == 1
    working = Driver(Engine(db, config, clock=clock), clock)
    assert [o.case for o in working.engine.tick()] == [case]


class Ticking:
    """The real clock as a process sees it: a little later at each reading."""

    def __init__(self, start: str):
        self.at = parse_instant(start)

    def now(self):
        self.at += timedelta(milliseconds=7)
        return self.at


def test_without_now_an_entry_is_effective_at_the_instant_it_is_recorded(db, config):
    # One clock for both (no --now): the business "now" is the recording instant, so no entry
    # is ever effective after the time it was recorded.
    real = Ticking("2027-01-04T09:00")
    engine = Engine(db, config, clock=real, recorder=real)
    case = engine.open("application", Actor.parse(HEADTEACHER), application_data()).case
    engine.fire(case, "support", Actor.parse(HEADTEACHER), {"evaluation": "Strong."})
    times = "SELECT effective_at, recorded_at FROM transition_log WHERE case_id = :id"
    entries = Driver(engine, real).rows(times, id=case)
    assert len(entries) == 2 and all(e.effective_at == e.recorded_at for e in entries)
    # With --now the two clocks are apart, as before: effective at the business time.
    business = FixedClock(parse_instant("2027-01-05T10:00"))
    engine = Engine(db, config, clock=business, recorder=real)
    other = engine.open("application", Actor.parse(HEADTEACHER), application_data()).case
    entry = Driver(engine, business).rows(times, id=other)[0]
    assert entry.effective_at == "2027-01-05T10:00:00+00:00" != entry.recorded_at


def test_the_real_clock_is_read_once_the_chain_is_held_so_a_write_that_waited_comes_after(
        db, config):
    # A request whose unit of work was made while another committed (it waited for the lock)
    # must not be effective before that entry: it would be refused as keyed in late.
    real = Ticking("2027-01-04T09:00")
    engine = Engine(db, config, clock=real, recorder=real)
    case = engine.open("application", Actor.parse(HEADTEACHER), application_data()).case
    waiting = engine.work()                       # made, not yet holding the chain
    engine.fire(case, "support", Actor.parse(HEADTEACHER), {"evaluation": "Strong."})
    committed = Driver(engine, real).rows(
        "SELECT effective_at FROM transition_log WHERE case_id = :id AND seq = 2", id=case)[0]
    with waiting as work:
        assert engine.step(work).now > parse_instant(committed.effective_at)
        assert work.recorded_at > committed.effective_at
