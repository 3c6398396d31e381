"""The engine: each public operation is one unit of work (workflows/engine/unit_of_work.py) that
runs the named steps of workflows/engine/steps.py on the database, or (replay) on a store in
memory. Delivery of the stored notices happens later, from the notices table (a transactional
outbox: workflows/engine/notice_queue.py).

    engine/actors.py        who acts (ROLE:ID, system)
    engine/authorise.py     may this role fire this trigger (an operator for someone)
    engine/validate.py      the trigger's data, the effective time
    engine/decide.py        the transitions machine: allowed? which row? where to?
    engine/apply.py         log entry, timers, notices, erasure: one value object, `Change`
    engine/steps.py         open, fire, a timer, a recomputed deadline, in those steps
    engine/timers.py        THE timer loop: the due timers fired, a failure counted
    engine/modes.py         live or replaying: the strategy the steps are given
    engine/unit_of_work.py  the transaction, as a context manager
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Callable, Mapping, Sequence

from notifications.render import check_all, render
from states import PROCESSES
from states.roles import ROLES
from storage import queries
from storage.db import Database
from storage.memory_store import MemoryCaseStore
from storage.rows import StoredEntry, TimerRow
from storage.sql_store import transaction
from workflows.core.clock import REAL, Clock
from workflows.core.config import Config
from workflows.core.deadlines import calendar_in_force, compute_from
from workflows.engine import steps, timers
from workflows.engine.actors import SYSTEM, Actor
from workflows.engine.apply import Setting
from workflows.engine.modes import Live, Mode, Replay, new_case_id
from workflows.engine.outcome import Outcome
from workflows.engine.timers import TIMER_ATTEMPTS
from workflows.engine.unit_of_work import UnitOfWork
from workflows.engine.validate import refuse_invalid_text
from workflows.core.errors import EngineError, RefusedError, RoleNotAllowedError, UnknownTriggerError
from workflows.core import text
from workflows.core.times import utc_iso

__all__ = ["Engine", "Actor", "SYSTEM", "Outcome", "ROLES", "TIMER_ATTEMPTS", "new_case_id"]


class Engine:
    def __init__(self, db: Database | None, config: Config | None = None, *,
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
        self.setting = Setting(self.config, self.config.calendars(),
                               self.config.contacts.model_dump(),
                               self.config.policy.model_dump(), renderer)
        self.live: Mode = Live(new_id)

    @property
    def calendar(self):
        """The LA's calendar in force (local duties of no particular school)."""
        return self.setting.calendars.local()

    def work(self) -> UnitOfWork:
        assert self.db is not None, "this engine replays in memory: it has no database"
        db = self.db
        return UnitOfWork(lambda: transaction(db), utc_iso(self.recorder.now()))

    # -- the public operations, each one unit of work ----------------------------------------------

    def open(self, kind: str, actor: Actor, data: Mapping | None,
             effective_at: datetime | None = None, on_behalf_of: Actor | None = None) -> Outcome:
        process = PROCESSES.get(kind) if isinstance(kind, str) else None
        if process is None:
            raise UnknownTriggerError(
                f"unknown kind of case {kind!r}; open one of: "
                f"{', '.join(k for k, p in PROCESSES.items() if p.openable)}")
        if process.opened_by is not None:
            raise RefusedError(f"a {kind} case is opened only by {process.opened_by}, not "
                               "directly", trigger="open")
        refuse_invalid_text(data, "open", self.config.limits)
        now = self.clock.now()
        with self.work() as work:
            return steps.open_case(work, self.live, self.setting, process,
                                   self.live.opened_id(kind, process.case_prefix), actor,
                                   on_behalf_of, data or {}, effective_at, now)

    def fire(self, case_id: str, trigger: str, actor: Actor, data: Mapping | None = None,
             effective_at: datetime | None = None, on_behalf_of: Actor | None = None,
             expected_version: int | None = None) -> Outcome:
        for name, value in (("case", case_id), ("trigger", trigger)):
            why = text.problem(value, name=True) if isinstance(value, str) else "not text"
            if why:
                raise RefusedError(f"{name} {value!r}: {why}")
        refuse_invalid_text(data, trigger, self.config.limits)
        now = self.clock.now()
        with self.work() as work:
            outcome = steps.fire(work, self.live, self.setting, case_id, trigger, actor,
                                 on_behalf_of, data or {}, effective_at, now,
                                 expected_version=expected_version)
        if trigger == "erase_personal_data":
            assert self.db is not None
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
            return steps.fire_timer(work, self.live, self.setting, timer, self.clock.now())

    def recompute_deadlines(self, timer_ids: Sequence[int], actor: Actor) -> list[Outcome | None]:
        """Move pending timers to the due dates the calendar now in force gives them, each
        through a logged `deadline_recomputed` entry, all in one transaction: all or none."""
        if actor.role != "operator":
            raise RoleNotAllowedError("deadlines are recomputed by an operator "
                                      "(--actor operator:ID)", trigger="deadline_recomputed")
        with self.work() as work:
            outcomes = []
            for timer_id in timer_ids:
                timer = work.store.pending_timer(timer_id, claim="wait")
                outcomes.append(None if timer is None else steps.recompute(
                    work, self.live, self.setting, timer, actor, self.clock.now()))
            return outcomes

    def recompute_deadline(self, timer_id: int, actor: Actor) -> Outcome | None:
        return self.recompute_deadlines([timer_id], actor)[0]

    # -- timers ----------------------------------------------------------------------------------

    def due_timers(self, now: datetime | None = None) -> list[TimerRow]:
        assert self.db is not None
        return queries.due_timers(self.db, utc_iso(now or self.clock.now()))

    def next_fires_at(self) -> datetime | None:
        assert self.db is not None
        return queries.next_fires_at(self.db)

    def recalendar_preview(self) -> list[dict]:
        """Every pending timer whose due date differs under the calendar now in force."""
        assert self.db is not None
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

    # -- replay ----------------------------------------------------------------------------------

    def replay_entry(self, memory: MemoryCaseStore, mode: Replay, kind: str, entry: StoredEntry,
                     data: Mapping[str, Any], actor: Actor, on_behalf_of: Actor | None
                     ) -> Outcome | None:
        """Re-apply one logged entry on `memory`, as its own unit of work, at its recorded
        time. None for a `deadline_recomputed` that changes nothing under the calendar in use."""
        at = datetime.fromisoformat(entry.effective_at)
        with UnitOfWork(memory.transaction, entry.recorded_at) as work:
            if entry.trigger == "open":
                return steps.open_case(work, mode, self.setting, PROCESSES[kind], entry.case_id,
                                       actor, on_behalf_of, data, at, at)
            if entry.trigger == "deadline_recomputed" or entry.trigger.startswith("timer:"):
                name = data["timer"] if entry.trigger == "deadline_recomputed" \
                    else entry.trigger.removeprefix("timer:")
                timer = work.store.pending_timer_named(entry.case_id, name)
                if timer is None:
                    raise EngineError(f"case {entry.case_id}: no pending {name} for "
                                      f"{entry.trigger}")
                if entry.trigger.startswith("timer:"):
                    return steps.fire_timer(work, mode, self.setting, timer, at, logged_at=at)
                return steps.recompute(work, mode, self.setting, timer, actor, at)
            return steps.fire(work, mode, self.setting, entry.case_id, entry.trigger, actor,
                              on_behalf_of, data, at, at,
                              internal=entry.trigger == "timer_superseded")
