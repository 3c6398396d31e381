"""The engine: decides and writes. Each public operation is one unit of work
(workflows/engine/unit_of_work.py) that runs the named steps of workflows/engine/steps.py on
the database. Replay (workflows/engine/replay.py) runs the same steps on a store in memory, in
its own mode. Delivery of the stored notices happens later, from the notices table (a
transactional outbox: workflows/engine/notice_queue.py).

May import: core, notifications, storage, states. Never read or an adapter.

    engine/actors.py        who acts (ROLE:ID, system)
    engine/request.py       what a step is asked (Request) and works with (Step)
    engine/admit.py         the case open to the trigger, the trigger allowed, late-keyed
    engine/authorise.py     may this role fire this trigger (an operator for someone)
    engine/validate.py      the trigger's data, the effective time
    engine/decide.py        the transitions machine: allowed? which row? where to?
    engine/apply.py         log entry, timers, notices, erasure: one value object, `Change`
    engine/notices.py       the notices a transition stores, rendered and sealed
    engine/facts.py         what guards, recipients and deadlines read of a transition
    engine/steps.py         open, fire, a timer, a recomputed deadline, in those steps
    engine/modes.py         live or replaying: the strategy the steps are given
    engine/unit_of_work.py  the transaction, as a context manager
    engine/timers.py        THE timer loop: the due timers fired, a failure counted
    engine/notice_queue.py  the outbox worker: stored notices delivered, each under a lease
    engine/deliverer.py     THE one-deliverer policy (one process on SQLite)
    engine/retention.py     which closed cases are due for erasure
    engine/replay.py        rebuild a case from its log and compare it with what is stored
    engine/context.py       what a command runs with: database, configuration, clocks
    engine/idempotency.py   an API request sent twice under one key writes once
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Callable, Mapping, Sequence

from notifications.render import check_all, render
from states import PROCESSES
from states.roles import ROLES
from storage import queries
from storage.db import Database
from storage.rows import TimerRow
from storage.sql_store import transaction
from workflows.core.clock import REAL, Clock
from workflows.core.config import Config
from workflows.core.deadlines import calendar_in_force, compute_from
from workflows.engine import steps, timers
from workflows.engine.actors import SYSTEM, Actor, refuse_unreadable_id
from workflows.engine.apply import Setting
from workflows.engine.idempotency import Idempotency, earlier, remember
from workflows.core.calendar import WorkingCalendar
from workflows.engine.modes import Live, Mode, new_case_id
from workflows.engine.outcome import Outcome
from workflows.engine.request import Request, Step
from workflows.engine.timers import TIMER_ATTEMPTS
from workflows.engine.unit_of_work import UnitOfWork
from workflows.engine.validate import refuse_invalid_text
from workflows.core.errors import RefusedError, RoleNotAllowedError, UnknownTriggerError
from workflows.core import text
from workflows.core.times import utc_iso

__all__ = ["Engine", "Actor", "SYSTEM", "Outcome", "ROLES", "TIMER_ATTEMPTS", "new_case_id",
           "Idempotency"]


class Engine:
    def __init__(self, db: Database, config: Config | None = None, *,
                 clock: Clock, recorder: Clock = REAL,
                 new_id: Callable[[str], str] = new_case_id,
                 renderer: Callable[..., Any] = render):
        """`clock` is the business clock (`--now`, the tests' FixedClock); `recorder` the real
        clock every recorded time is read from. Both are injected by the caller."""
        self.db = db
        self.config = config or Config()
        self.clock, self.recorder = clock, recorder
        if renderer is render:
            check_all()   # a template that does not parse stops the engine at start-up
        self.setting = Setting.of(self.config, renderer)
        self.live: Mode = Live(new_id)

    @property
    def calendar(self) -> WorkingCalendar:
        """The LA's calendar in force (local duties of no particular school)."""
        return self.setting.calendars.local()

    def work(self) -> UnitOfWork:
        db = self.db
        return UnitOfWork(lambda: transaction(db), lambda: utc_iso(self.recorder.now()))

    def step(self, work: UnitOfWork) -> Step:
        # Without --now the business clock is the real one: an entry made now is effective at
        # the instant it is recorded, not a moment after it (the clock read once, not twice,
        # and read once the chain's head is held: after every entry committed before it).
        now = (datetime.fromisoformat(work.recorded_at) if self.clock is self.recorder
               else self.clock.now())
        return Step(work, self.live, self.setting, now)

    # -- the public operations, each one unit of work ----------------------------------------------

    def open(self, kind: str, actor: Actor, data: Mapping[str, Any] | None,
             effective_at: datetime | None = None, on_behalf_of: Actor | None = None,
             idempotency: Idempotency | None = None) -> Outcome:
        process = PROCESSES.get(kind) if isinstance(kind, str) else None
        if process is None:
            raise UnknownTriggerError(
                f"unknown kind of case {kind!r}; open one of: "
                f"{', '.join(k for k, p in PROCESSES.items() if p.openable)}")
        if process.opened_by is not None:
            raise RefusedError(f"a {kind} case is opened only by {process.opened_by}, not "
                               "directly", trigger="open")
        refuse_invalid_text(data, "open", self.config.limits)
        for person in (actor, on_behalf_of):
            if person is not None:
                refuse_unreadable_id(person)
        request = Request(case=self.live.opened_id(kind, process.case_prefix), trigger="open",
                          actor=actor, on_behalf_of=on_behalf_of, data=data or {},
                          effective_at=effective_at)
        with self.work() as work:
            repeated = idempotency and earlier(work, idempotency)
            if repeated:
                return repeated
            outcome = steps.open_case(self.step(work), process, request)
            if idempotency:
                remember(work, idempotency, outcome)
            return outcome

    def fire(self, case_id: str, trigger: str, actor: Actor,
             data: Mapping[str, Any] | None = None, effective_at: datetime | None = None,
             on_behalf_of: Actor | None = None, expected_version: int | None = None,
             idempotency: Idempotency | None = None) -> Outcome:
        for name, value in (("case", case_id), ("trigger", trigger)):
            why = text.problem(value, name=True) if isinstance(value, str) else "not text"
            if why:
                raise RefusedError(f"{name} {value!r}: {why}")
        refuse_invalid_text(data, trigger, self.config.limits)
        for person in (actor, on_behalf_of):
            if person is not None and not person.is_system:
                refuse_unreadable_id(person)
        request = Request(case=case_id, trigger=trigger, actor=actor, on_behalf_of=on_behalf_of,
                          data=data or {}, effective_at=effective_at,
                          expected_version=expected_version)
        with self.work() as work:
            repeated = idempotency and earlier(work, idempotency)
            if repeated:
                return repeated
            outcome = steps.fire(self.step(work), request)
            if idempotency:
                remember(work, idempotency, outcome)
        if trigger == "erase_personal_data":
            self.db.flush_erased()
        return outcome

    def fire_timer(self, timer_id: int) -> Outcome | None:
        """Fire one pending timer as its own transaction; None if it is no longer pending
        (cancelled meanwhile, or taken by another daemon)."""
        with self.work() as work:
            # PostgreSQL: the row lock claims the timer; one another daemon holds is skipped.
            timer = work.store.pending_timer(timer_id, claim="skip")
            if timer is None:
                return None
            return steps.fire_timer(self.step(work), timer)

    def recompute_deadlines(self, timer_ids: Sequence[int], actor: Actor) -> list[Outcome | None]:
        """Move pending timers to the due dates the calendar now in force gives them, each
        through a logged `deadline_recomputed` entry, all in one transaction: all or none."""
        if actor.role != "operator":
            raise RoleNotAllowedError("deadlines are recomputed by an operator "
                                      "(--actor operator:ID)", trigger="deadline_recomputed")
        with self.work() as work:
            step = self.step(work)
            outcomes = []
            for timer_id in timer_ids:
                timer = work.store.pending_timer(timer_id, claim="wait")
                outcomes.append(None if timer is None else steps.recompute(step, timer, actor))
            return outcomes

    def recompute_deadline(self, timer_id: int, actor: Actor) -> Outcome | None:
        return self.recompute_deadlines([timer_id], actor)[0]

    # -- timers ----------------------------------------------------------------------------------

    def due_timers(self, now: datetime | None = None) -> list[TimerRow]:
        return queries.due_timers(self.db, utc_iso(now or self.clock.now()))

    def next_fires_at(self) -> datetime | None:
        return queries.next_fires_at(self.db)

    def recalendar_preview(self) -> list[dict[str, Any]]:
        """Every pending timer whose due date differs under the calendar now in force."""
        moved = []
        for t, kind in queries.pending_timers_with_kind(self.db):
            rule = PROCESSES[kind].timer(t.name)
            calendar = calendar_in_force(rule, t.school, self.setting.calendars)
            new = compute_from(rule, date.fromisoformat(t.counted_from), calendar,
                               self.setting.policy)
            if new.due.isoformat() != t.due:
                moved.append({"timer_id": t.id, "case": t.case_id, "timer": t.name,
                              "old_due": t.due, "new_due": new.due.isoformat(),
                              "rule": new.rule})
        return moved

    def tick(self, on_progress: Callable[[int, int, Outcome | None], None] | None = None,
             should_stop: Callable[[], bool] = lambda: False,
             on_error: Callable[[TimerRow, Exception], None] | None = None) -> list[Outcome]:
        """Fire every timer due by the business clock, in `fires_at` order, each once, through
        the one timer loop (workflows/engine/timers.py): a timer that fails stays pending, its
        attempt counted; after TIMER_ATTEMPTS it is `failed`. With `on_error` the others go
        on; without it the failure is raised."""
        due = self.due_timers()
        fired: list[Outcome] = []
        done = 0

        def report(event: timers.TimerEvent) -> None:
            nonlocal done
            done += 1
            if isinstance(event, timers.Fired):
                fired.append(event.outcome)
            elif isinstance(event, timers.Failed) and on_error is not None:
                on_error(event.timer, event.error)
            if on_progress:
                on_progress(done, len(due),
                            event.outcome if isinstance(event, timers.Fired) else None)

        timers.fire_due(self, due, report, should_stop=should_stop,
                        failure_ends_pass=on_error is None)
        return fired

