"""THE timer loop (workflows/engine/timers.py), which `tick` and the daemon both walk: each due
timer fired once in `fires_at` order and reported as fired, gone or failed; a failure counted
against its timer with one reason text, whichever of them met it; a database that goes away
ending the pass with nothing counted."""
from __future__ import annotations

import itertools
import logging

import pytest
from sqlalchemy import create_engine, text

from notifications.delivery import FileChannel
from notifications.render import render
from storage import queries
from storage.db import Database
from storage.errors import DatabaseUnavailableError
from tests.builders import HEADTEACHER, Driver
from tests.cli import open_application
from workflows.core.clock import FixedClock
from workflows.core.config import Config
from workflows.core.times import parse_instant
from workflows.engine import TIMER_ATTEMPTS, Engine
from workflows.engine.notice_queue import Outbox
from workflows.engine.timers import Failed, Fired, Gone, TimerEvent, failure_reason, fire_due


def pass_over(engine: Engine, **kw) -> list[TimerEvent]:
    events: list[TimerEvent] = []
    fire_due(engine, engine.due_timers(), events.append, **kw)
    return events


def broken_deadline_missed(name, context, version=None):
    if name == "deadline_missed":
        raise RuntimeError("template store\n  unreachable")   # a message over two lines
    return render(name, context, version)


def test_each_due_timer_fires_once_in_the_order_it_falls_due(driver: Driver):
    second = driver.open(at="2026-12-21").case
    first = driver.open(at="2026-12-18").case
    driver.clock.set(parse_instant("2027-01-25"))
    events = pass_over(driver.engine)
    assert [(type(e), e.timer.case_id) for e in events] == [(Fired, first), (Fired, second)]
    assert [e.outcome.trigger for e in events if isinstance(e, Fired)] == \
        ["timer:headteacher_deadline"] * 2
    assert pass_over(driver.engine) == []


def test_a_timer_ended_after_the_pass_listed_it_is_gone_not_fired(driver: Driver):
    case = driver.open(at="2026-12-18").case
    driver.clock.set(parse_instant("2027-01-25"))
    due = driver.engine.due_timers()
    driver.fire(case, "reject", HEADTEACHER, {"reasons": "Not yet."})   # cancels the deadline
    events: list[TimerEvent] = []
    fire_due(driver.engine, due, events.append)
    assert [type(e) for e in events] == [Gone] and driver.state(case) == "rejected"


def test_a_failure_is_counted_with_its_reason_and_the_others_still_fire(db, clock, config):
    calls = itertools.count()

    def broken_once(name, context, version=None):
        if name == "deadline_missed" and next(calls) == 0:
            raise RuntimeError("template store\n  unreachable")
        return render(name, context, version)

    driver = Driver(Engine(db, config, clock=clock, renderer=broken_once), clock)
    first = driver.open(at="2026-12-18").case
    second = driver.open(at="2026-12-21").case
    clock.set(parse_instant("2027-01-25"))
    events = pass_over(driver.engine)
    assert [type(e) for e in events] == [Failed, Fired]
    failed = events[0]
    assert isinstance(failed, Failed) and failed.timer.case_id == first
    assert (failed.reason, failed.status) == ("RuntimeError: template store unreachable",
                                              "pending")
    timer = queries.case_timers(db, first)[0]
    assert (timer.status, timer.attempts, timer.last_error) == (
        "pending", 1, "RuntimeError: template store unreachable")
    assert events[1].timer.case_id == second


def test_after_its_last_attempt_a_timer_is_reported_failed(db, clock, config):
    driver = Driver(Engine(db, config, clock=clock, renderer=broken_deadline_missed), clock)
    driver.open(at="2026-12-18")
    clock.set(parse_instant("2027-01-25"))
    statuses = [e.status for _ in range(TIMER_ATTEMPTS + 1)
                for e in pass_over(driver.engine) if isinstance(e, Failed)]
    assert statuses == ["pending"] * (TIMER_ATTEMPTS - 1) + ["failed"]   # then not tried again


def test_when_a_failure_ends_the_pass_it_is_counted_and_raised_and_the_rest_wait(db, clock,
                                                                                 config):
    driver = Driver(Engine(db, config, clock=clock, renderer=broken_deadline_missed), clock)
    first = driver.open(at="2026-12-18").case
    second = driver.open(at="2026-12-21").case
    clock.set(parse_instant("2027-01-25"))
    with pytest.raises(RuntimeError, match="template store"):
        pass_over(driver.engine, failure_ends_pass=True)
    assert queries.case_timers(db, first)[0].attempts == 1
    assert queries.case_timers(db, second)[0].attempts == 0


class DatabaseAway:
    """An engine whose database went away between listing the timers and firing them."""

    def __init__(self, engine: Engine):
        self.db = engine.db
        self.tried: list[int] = []

    def fire_timer(self, timer_id: int):
        self.tried.append(timer_id)
        raise DatabaseUnavailableError("database unavailable: connection refused")


def test_a_database_that_goes_away_ends_the_pass_and_counts_no_attempt(driver: Driver, db):
    case = driver.open(at="2026-12-18").case
    driver.open(at="2026-12-21")
    driver.clock.set(parse_instant("2027-01-25"))
    away = DatabaseAway(driver.engine)
    with pytest.raises(DatabaseUnavailableError):
        fire_due(away, driver.engine.due_timers(), lambda event: None)   # type: ignore[arg-type]
    assert len(away.tried) == 1                          # the second was never tried
    assert queries.case_timers(db, case)[0].attempts == 0


def test_the_pass_stops_before_the_next_timer_when_asked(driver: Driver):
    driver.open(at="2026-12-18")
    driver.open(at="2026-12-21")
    driver.clock.set(parse_instant("2027-01-25"))
    events: list[TimerEvent] = []
    fire_due(driver.engine, driver.engine.due_timers(), events.append,
             should_stop=lambda: len(events) == 1)
    assert len(events) == 1 and len(driver.engine.due_timers()) == 1


def test_a_reason_is_one_line_of_at_most_500_characters():
    assert failure_reason(ValueError("a\n\tb  c ")) == "ValueError: a b c"
    assert len(failure_reason(RuntimeError("x" * 900))) == 500


# -- the same failure, met by `tick` and by the daemon ----------------------------------------------

@pytest.mark.no_replay   # the case's state is edited in the database on purpose
def test_tick_and_the_daemon_record_a_timer_that_cannot_fire_the_same_way(cli, tmp_path,
                                                                          caplog):
    """A case whose stored state the process does not know (edited by hand) cannot take its
    timer: `tick` and the daemon's timer pass each count one attempt, with the same reason."""
    from workflows.daemon.loop import Daemon
    case = open_application(cli)
    url = f"sqlite:///{tmp_path / 'ast_engine.db'}"
    edit = create_engine(url)
    with edit.begin() as conn:
        conn.execute(text("UPDATE cases SET state = 'mislaid' WHERE id = :c"), {"c": case})
    edit.dispose()

    def timer() -> tuple[str, int, str]:
        t = cli.json("show", case)["timers"][0]
        return t["status"], t["attempts"], t["last_error"]

    ticked = cli("tick", now="2027-01-22")
    assert ticked.returncode == 1
    status, attempts, reason = timer()
    assert (status, attempts) == ("pending", 1)
    assert reason.startswith("NotAllowedInStateError: timer:headteacher_deadline is not "
                             f"allowed in state mislaid of case {case}")
    assert f"could not fire and stays pending: {reason}" in ticked.stderr

    db = Database(url)
    clock = FixedClock(parse_instant("2027-01-22"))
    daemon = Daemon(Engine(db, Config(), clock=clock),
                    Outbox(db, FileChannel(tmp_path / "outbox"), "ast@la.example.org", 8, clock),
                    clock)
    with caplog.at_level(logging.INFO, logger=daemon.log.name):
        daemon.fire_due_timers()
    db.dispose()
    assert timer() == ("pending", 2, reason)
    assert f"(headteacher_deadline on {case}) could not fire and stays pending: {reason}" \
        in caplog.text
