"""The unit of work: one trigger applied to one case as one database transaction.

`fire` loads the case, checks the role, the data, the effective time and the guards, then in the
same transaction updates the case (optimistic concurrency on `version`), appends the hash-chained
log entry, starts and cancels timers, renders and stores the notices and applies the effects on
linked cases. Any failure, a template error included, rolls all of it back. Delivery of the
stored notices happens later, from the notices table (a transactional outbox).
"""
from __future__ import annotations

import hashlib
import json
import secrets
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any, Callable, Mapping

from pydantic import BaseModel, ValidationError

from notifications.render import TemplateRenderError, check_all, render
from states import PROCESSES
from states.spec import (CancelTimers, MoveLinked, Notify, OpenLinked, Process, StartTimer,
                         Transition, first_failure)
from storage import hashchain, jsontext, statements as sql
from storage.case_store import SqlCaseStore
from storage.db import Database
from storage.memory_store import MemoryCaseStore
from storage.statements import Statements
from workflows import machines, text
from workflows.calendar import fires_at, local_date
from workflows.clock import Clock, SystemClock
from workflows.config import Config
from workflows.deadlines import Deadline, compute, compute_from
from workflows.errors import (ConcurrentChangeError, EffectiveTimeError, EngineError,
                              GuardFailedError, InvalidDataError, NotAllowedInStateError,
                              RefusedError, RoleNotAllowedError, UnknownCaseError,
                              UnknownTriggerError)
from workflows.times import utc_iso

ROLES = ("candidate", "headteacher", "post_school", "la_coordinator", "agency", "assessor",
         "review_coordinator", "review_officer", "operator", "system", "auditor")
ACTS_FOR_NOBODY = ("system", "auditor")


@dataclass(frozen=True)
class Actor:
    role: str
    id: str
    # Whether this is SYSTEM (the engine itself) and the actor as the log writes it, as plain
    # attributes: every transition asks for both.
    is_system: bool = field(init=False, repr=False, compare=False)
    text: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for part in (self.role, self.id):
            why = text.problem(part, name=True) if isinstance(part, str) else "not text"
            if why:
                raise RefusedError(f"actor {self.role!r}:{self.id!r}: {why}")
        object.__setattr__(self, "is_system", self.role == "system" and self.id == "")
        object.__setattr__(self, "text",
                           self.role if self.role == "system" else f"{self.role}:{self.id}")

    @classmethod
    def parse(cls, text: str) -> "Actor":
        role, sep, ident = (text or "").partition(":")
        if not sep or not role or not ident:
            raise RefusedError(f"actor {text!r}: write ROLE:ID, e.g. headteacher:h.smith")
        if role not in ROLES:
            raise RefusedError(f"actor {text!r}: unknown role {role!r}; roles: {', '.join(ROLES)}")
        return cls(role, ident)

    def __str__(self) -> str:
        return self.text


SYSTEM = Actor("system", "")   # timers and linked cases; written as plain `system` in the log


@dataclass
class Outcome:
    case: str
    kind: str
    state: str
    version: int
    trigger: str
    effective_at: datetime
    warnings: list[str] = field(default_factory=list)
    linked: list["Outcome"] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"case": self.case, "kind": self.kind, "state": self.state,
                "version": self.version, "warnings": self.warnings}


@dataclass(frozen=True)
class CaseView:
    id: str
    kind: str
    state: str
    data: Mapping[str, Any]


@dataclass(slots=True)
class _Facts:
    """The engine's side of states.spec.Facts."""
    case_id: str
    kind: str
    role: str
    actor_id: str
    state: str
    case: Mapping[str, Any]
    event: Mapping[str, Any]
    effective_date: date
    pending_timers: Mapping[str, date]
    contacts: Mapping[str, str]
    policy: Mapping[str, Any]
    _work: "_UnitOfWork"
    deadlines: Mapping[str, date] = field(default_factory=dict)
    statuses: Mapping[str, str] = field(default_factory=dict)   # name -> status of the latest

    def lookup(self, case_id: str) -> CaseView | None:
        return self._work.lookup(case_id)

    def funded_posts_at(self, school: str) -> int:
        return self._work.funded_posts_at(school, exclude=self.case_id)


def new_case_id(prefix: str) -> str:
    # 50 random bits in base 32: short enough to key in from a paper form, and a collision
    # stays unlikely at a national scale of cases.
    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    return f"{prefix}-" + "".join(secrets.choice(alphabet) for _ in range(10))


class Engine:
    def __init__(self, db: Database, config: Config | None = None, *,
                 clock: Clock | None = None, recorder: Clock | None = None,
                 new_id: Callable[[str], str] = new_case_id,
                 renderer: Callable[..., Any] = render,
                 replaying: bool = False, lookup_db: Database | None = None,
                 memory: MemoryCaseStore | None = None):
        self.db = db
        self.memory = memory   # replay: every unit of work reads and writes this, not `db`
        self.config = config or Config()
        self.clock = clock or SystemClock()          # the business clock (`--now`)
        self.recorder = recorder or SystemClock()    # the real clock for recorded_at
        self.new_id = new_id
        self.render = renderer
        # Replay (workflows/replay.py) re-applies logged entries: guards and warnings were
        # decided when the entry was recorded, and linked cases have their own logs.
        self.replaying = replaying
        self.lookup_db = lookup_db   # where other cases are read from, when not this database
        # Replay: notice id -> the template version that rendered the stored notice.
        self.template_versions: Mapping[str, str] = {}
        if renderer is render:
            check_all()   # a template that does not parse stops the engine at start-up
        self.calendar = self.config.working_calendar()
        self.contacts = self.config.contacts.model_dump()
        self.policy = self.config.policy.model_dump()

    def transaction(self):
        """The store one unit of work uses: a database transaction, or replay's memory."""
        return self.memory if self.memory is not None else _sql_transaction(self.db)

    # -- the public operations, each one transaction ---------------------------------------------

    def open(self, kind: str, actor: Actor, data: Mapping | None,
             effective_at: datetime | None = None, on_behalf_of: Actor | None = None) -> Outcome:
        process = PROCESSES.get(kind)
        if process is None:
            raise UnknownTriggerError(
                f"unknown kind of case {kind!r}; open one of: "
                f"{', '.join(k for k, p in PROCESSES.items() if p.openable)}")
        if not process.openable:
            raise RefusedError(f"{_a(kind)} case is opened only by its application's "
                               "request_review, not directly", trigger="open")
        _refuse_invalid_text(data, "open")
        with self.transaction() as store:
            work = _UnitOfWork(self, store)
            outcome = work.open(process, self.new_id(process.case_prefix), actor, on_behalf_of,
                                data or {}, effective_at)
            work.finish()
        return outcome

    def fire(self, case_id: str, trigger: str, actor: Actor, data: Mapping | None = None,
             effective_at: datetime | None = None, on_behalf_of: Actor | None = None,
             expected_version: int | None = None) -> Outcome:
        for name, value in (("case", case_id), ("trigger", trigger)):
            why = text.problem(value, name=True) if isinstance(value, str) else "not text"
            if why:
                raise RefusedError(f"{name} {value!r}: {why}")
        _refuse_invalid_text(data, trigger)
        with self.transaction() as store:
            work = _UnitOfWork(self, store)
            outcome = work.fire(case_id, trigger, actor, on_behalf_of, data or {}, effective_at,
                                expected_version=expected_version)
            work.finish()
        return outcome

    def due_timers(self, now: datetime | None = None) -> list:
        with self.db.read() as conn:
            return Statements(self.db, conn).all(sql.DUE_TIMERS,
                                                 {"now": utc_iso(now or self.clock.now())})

    def fire_timer(self, timer_id: int) -> Outcome | None:
        """Fire one pending timer as its own transaction; None if it is no longer pending
        (cancelled meanwhile, or taken by another daemon)."""
        with self.transaction() as store:
            work = _UnitOfWork(self, store)
            work.chain_head()   # the global lock first, as every write takes it (no deadlock)
            # PostgreSQL: the row lock claims the timer; one another daemon holds is skipped.
            timer = work.store.pending_timer(timer_id, claim="skip")
            if timer is None:
                return None
            outcome = work.fire_timer(timer)
            work.finish()
        return outcome

    def replay_entry(self, case_id: str, kind: str, trigger: str, actor: Actor,
                     on_behalf_of: Actor | None, data: Mapping, at: datetime,
                     engine: Mapping, recorded_at: str) -> Outcome | None:
        """Re-apply one logged entry (replay mode): its own transaction, as when recorded, at
        its recorded time (`recorded_at`, the log's text), with what the engine recorded then
        (`engine`: the warnings it gave, the cases it opened). None for a
        `deadline_recomputed` that changes nothing under the calendar in use."""
        with self.transaction() as store:
            work = _UnitOfWork(self, store, recorded_at)
            work.recorded = engine
            if trigger == "open":
                outcome = work.open(PROCESSES[kind], case_id, actor, on_behalf_of, data, at)
            elif trigger == "deadline_recomputed":
                work.chain_head()
                timer = work.store.pending_timer_named(case_id, data["timer"])
                if timer is None:
                    raise EngineError(f"case {case_id}: no pending {data['timer']} to recompute")
                outcome = work.recompute(timer, actor, at)
                if outcome is None:   # no change under this calendar: nothing to write
                    return None
            elif trigger.startswith("timer:"):
                work.chain_head()
                timer = work.store.pending_timer_named(case_id, trigger.removeprefix("timer:"))
                if timer is None:
                    raise EngineError(f"case {case_id}: no pending {trigger} to fire")
                outcome = work.fire_timer(timer)
            else:
                outcome = work.fire(case_id, trigger, actor, on_behalf_of, data, at,
                                    by_a_person=not actor.is_system)
            work.finish()
        return outcome

    def recompute_deadline(self, timer_id: int, actor: Actor) -> Outcome | None:
        """Move one pending timer to the due date the calendar now in force gives it, through
        a logged `deadline_recomputed` entry; None if the date does not change."""
        if actor.role != "operator":
            raise RoleNotAllowedError("deadlines are recomputed by an operator "
                                      "(--actor operator:ID)", trigger="deadline_recomputed")
        with self.transaction() as store:
            work = _UnitOfWork(self, store)
            work.chain_head()
            timer = work.store.pending_timer(timer_id, claim="wait")
            if timer is None:
                return None
            outcome = work.recompute(timer, actor, self.clock.now())
            work.finish()
        return outcome

    def recalendar_preview(self) -> list[dict]:
        """Every pending timer whose due date differs under the calendar now in force."""
        with self.db.read() as conn:
            q = Statements(self.db, conn)
            rows = q.all(sql.ALL_PENDING_TIMERS, {})
        moved = []
        for t in rows:
            new = compute_from(PROCESSES[t.kind].timer(t.name),
                               date.fromisoformat(t.counted_from), self.calendar, self.policy)
            if new.due.isoformat() != t.due:
                moved.append({"timer_id": t.id, "case": t.case_id, "timer": t.name,
                              "old_due": t.due, "new_due": new.due.isoformat(),
                              "rule": new.rule})
        return moved

    def next_fires_at(self) -> datetime | None:
        with self.db.read() as conn:
            row = Statements(self.db, conn).one(sql.NEXT_FIRES_AT, {})
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    def tick(self, on_progress: Callable[[int, int, Outcome | None], None] | None = None,
             should_stop: Callable[[], bool] = lambda: False,
             on_error: Callable[[Any, Exception], None] | None = None) -> list[Outcome]:
        """Fire every timer due by the business clock, in `fires_at` order, each once. A timer
        that fails stays pending (it is never lost): with `on_error` the others go on."""
        due = self.due_timers()
        fired = []
        for done, timer in enumerate(due, start=1):
            if should_stop():
                break
            try:
                outcome = self.fire_timer(timer.id)
            except Exception as err:
                if on_error is None:
                    raise
                on_error(timer, err)
                outcome = None
            if outcome is not None:
                fired.append(outcome)
            if on_progress:
                on_progress(done, len(due), outcome)
        return fired


class _UnitOfWork:
    """The state of one transaction: its store (storage/case_store.py, or replay's memory),
    the global chain head it holds, and the recorded time every row it writes shares."""

    def __init__(self, engine: Engine, store: SqlCaseStore | MemoryCaseStore,
                 recorded_at: str | None = None):
        self.engine, self.store = engine, store
        self.recorded_at = recorded_at or utc_iso(engine.recorder.now())
        self.now = engine.clock.now()
        self.head: tuple[int, str] | None = None
        self.recorded: Mapping | None = None   # replay: what the engine recorded then

    # -- reading -------------------------------------------------------------------------------

    def lookup(self, case_id: str) -> CaseView | None:
        if self.engine.lookup_db is not None:
            with self.engine.lookup_db.read() as conn:
                row = Statements(self.engine.lookup_db, conn).one(sql.CASE, {"id": case_id})
            return CaseView(row.id, row.kind, row.state, json.loads(row.data)) if row else None
        row = self.store.case(case_id)
        return CaseView(row.id, row.kind, row.state, row.data) if row else None

    def funded_posts_at(self, school: str, exclude: str) -> int:
        counted = {"funding_secured", "advertised", "shortlisting", "appointed",
                   "ast2_submitted", "filled"}
        rows = self.store.cases_of_kind("appointment")
        return sum(1 for r in rows if r.id != exclude and r.state in counted
                   and r.data["school"]["name"] == school)

    def chain_head(self) -> tuple[int, str]:
        if self.head is None:
            # Taken before anything is read (the store locks it where the database needs a
            # lock), so that guards reading other cases see every earlier commit.
            self.head = self.store.chain_head()
        return self.head

    def finish(self) -> None:
        if self.head is not None:
            self.store.set_chain_head(*self.head)

    # -- checks shared by open and fire -----------------------------------------------------------

    def role_of(self, actor: Actor, on_behalf_of: Actor | None, trigger: str) -> str:
        if actor.role == "operator":
            if on_behalf_of is None:
                raise RoleNotAllowedError(
                    "an operator keys in a form for someone: name them with --for ROLE:ID",
                    trigger=trigger)
            if on_behalf_of.role in ACTS_FOR_NOBODY or on_behalf_of.role == "operator":
                raise RoleNotAllowedError(
                    f"an operator may not act for {on_behalf_of.role}", trigger=trigger)
            return on_behalf_of.role
        if on_behalf_of is not None:
            raise RoleNotAllowedError("only an operator acts for someone else (--for)",
                                      trigger=trigger)
        return actor.role

    def effective(self, at: datetime | None, last: str | None, case_id: str | None,
                  trigger: str, by_a_person: bool = True) -> datetime:
        at = at or self.now
        if at.tzinfo is None:
            raise EffectiveTimeError("effective time without a time zone", trigger=trigger)
        if not by_a_person and last:
            # The system acts on what already happened (a timer noticed late, a review that
            # moves its application): it keeps the log's order rather than refusing.
            at = max(at, datetime.fromisoformat(last))
        if by_a_person and at > self.now:
            raise EffectiveTimeError(
                f"effective time {utc_iso(at)} is in the future of the engine's clock "
                f"({utc_iso(self.now)}): a form can only be keyed in after it arrived",
                case=case_id, trigger=trigger)
        if last and at < datetime.fromisoformat(last):
            raise EffectiveTimeError(
                f"effective time {utc_iso(at)} is earlier than the case's latest event "
                f"({last}): events are keyed in the order they happened",
                case=case_id, trigger=trigger)
        return at

    @staticmethod
    def validate(row: Transition, data: Mapping, case_id: str | None, state: str | None
                 ) -> BaseModel | None:
        if row.data is None:
            return None
        try:
            return row.data.model_validate(dict(data))
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            message = first["msg"].removeprefix("Value error, ")
            text = f"{where}: {message}" if where else message
            raise InvalidDataError(f"{row.trigger}: invalid data: {text}", case=case_id,
                                   trigger=row.trigger, state=state,
                                   field=where or message.split(":")[0]) from None

    def facts(self, process: Process, case_id: str, actor: Actor, on_behalf_of: Actor | None,
              role: str, state: str, case: Mapping, event: Mapping, effective_at: datetime,
              pending: Mapping[str, date]) -> _Facts:
        acting = on_behalf_of if actor.role == "operator" and on_behalf_of else actor
        return _Facts(case_id, process.kind, role, acting.id, state, case, event,
                      local_date(effective_at), pending, self.engine.contacts,
                      self.engine.policy, self)

    def warnings(self, row: Transition, facts: _Facts) -> list[str]:
        if self.recorded is not None:
            return list(self.recorded.get("warnings", ()))
        return [w for w in (check(facts) for check in row.warnings) if w]

    # -- opening a case ----------------------------------------------------------------------------

    def open(self, process: Process, case_id: str, actor: Actor, on_behalf_of: Actor | None,
             data: Mapping, effective_at: datetime | None) -> Outcome:
        self.chain_head()
        row = process.opening
        role = self.role_of(actor, on_behalf_of, "open")
        allowed = row.roles_for(None)
        if role not in allowed:
            raise RoleNotAllowedError(
                f"role {role} may not open {_a(process.kind)} case; allowed: {', '.join(allowed)}"
                f" (or an operator acting for one of them)", trigger="open")
        model = self.validate(row, data, None, None)
        at = self.effective(effective_at, None, None, "open")
        case = model.model_dump(mode="json")
        facts = self.facts(process, case_id, actor, on_behalf_of, role, "", case,
                           model.model_dump(), at, {})
        reason = None if self.engine.replaying else first_failure(row.guards, facts)
        if reason:
            raise GuardFailedError(f"open: refused: {reason}", trigger="open")
        warnings = self.warnings(row, facts)

        self.store.insert_case({
            "id": case_id, "kind": process.kind, "state": row.dest.value, "version": 0,
            "data": case, "opened_at": utc_iso(at), "last_effective_at": utc_iso(at),
            "last_hash": hashchain.GENESIS, "updated_at": self.recorded_at})
        return self.apply(process, row, case_id, version=0, state=None, dest=row.dest,
                          case=case, record=None, actor=actor, on_behalf_of=on_behalf_of,
                          at=at, facts=facts, pending={}, warnings=warnings,
                          last_hash=hashchain.GENESIS,
                          log_data=case, engine=_engine_record(warnings))

    # -- firing a trigger --------------------------------------------------------------------------

    def load(self, case_id: str):
        row = self.store.case(case_id)
        if row is None:
            raise UnknownCaseError(f"no case {case_id!r}", case=case_id)
        return row

    def fire(self, case_id: str, trigger: str, actor: Actor, on_behalf_of: Actor | None,
             data: Mapping, effective_at: datetime | None, *, expected_version: int | None = None,
             by_a_person: bool = True, timer_row=None) -> Outcome:
        self.chain_head()
        stored = self.load(case_id)
        process = PROCESSES[stored.kind]
        state = process.state(stored.state)
        if expected_version is not None and stored.version != expected_version:
            raise ConcurrentChangeError(
                f"case {case_id} is at version {stored.version}, not {expected_version}: it "
                "changed meanwhile; look at it again (show) before firing", case=case_id,
                trigger=trigger, state=stored.state)
        if trigger == "open":
            raise UnknownTriggerError(f"case {case_id} is already open", case=case_id)
        row = process.row_from(trigger, state)
        if row is None and not process.rows(trigger):
            raise UnknownTriggerError(
                f"unknown trigger {trigger!r} for a {process.kind} case; triggers: "
                f"{', '.join(t for t in process.triggers() if not t.startswith('timer:'))}",
                case=case_id, trigger=trigger, state=stored.state)
        if row is None:
            sources = sorted({s.value for r in process.rows(trigger) for s in r.sources})
            raise NotAllowedInStateError(
                f"{trigger} is not allowed in state {stored.state} of case {case_id} "
                f"(only from {', '.join(sources)})", case=case_id, trigger=trigger,
                state=stored.state)

        case = stored.data
        pending_rows, pending, due_dates = [], {}, {}   # due dates: the latest of each name
        statuses = {}
        for t in self.store.timers_of(case_id):
            due = due_dates[t.name] = date.fromisoformat(t.due)
            statuses[t.name] = t.status
            if t.status == "pending":
                pending_rows.append(t)
                pending[t.name] = due
        role = "system" if actor.is_system else self.role_of(actor, on_behalf_of, trigger)
        probe = self.facts(process, case_id, actor, on_behalf_of, role, stored.state, case, {},
                           self.now, pending)
        allowed = row.roles_for(probe)
        if role not in allowed or (role == "system") != actor.is_system:
            who = ", ".join(allowed)
            raise RoleNotAllowedError(
                f"role {role} may not fire {trigger} on case {case_id} in state {stored.state}; "
                f"allowed: {who}", case=case_id, trigger=trigger, state=stored.state)
        model = self.validate(row, data, case_id, stored.state)
        at = self.effective(effective_at, stored.last_effective_at, case_id, trigger,
                            by_a_person=by_a_person)
        facts = probe   # now with the event and its time
        facts.event = model.model_dump() if model else {}
        facts.effective_date = effective_date = local_date(at)
        facts.deadlines, facts.statuses = due_dates, statuses
        warnings = self.warnings(row, facts)

        if self.engine.replaying:   # guards were decided when the entry was recorded
            dest, refusal = machines.destination(process.kind, trigger, stored.state), None
        else:
            dest, refusal = machines.run(process.kind, state, row, facts)
        if refusal:
            raise GuardFailedError(f"{trigger} refused on case {case_id}: {refusal}",
                                   case=case_id, trigger=trigger, state=stored.state)

        record = model.model_dump(mode="json") if model else {}
        submitted = dict(record)   # the log's `data`: what was submitted, nothing else
        derived = row.derive(facts) if row.derive else {}
        opened = {}
        for effect in row.opens_linked:
            recorded = (self.recorded or {}).get("opened", {})
            opened[effect.kind] = recorded[effect.kind] if effect.kind in recorded \
                else self.engine.new_id(PROCESSES[effect.kind].case_prefix)
        # The case's own record of the trigger: the data with what the engine derived and the
        # cases it opened (the engine's keys win over a submitted key of the same name).
        record.update(derived)
        record.update(opened)
        if timer_row is not None:
            self.store.end_timer(timer_row.id, "fired", stored.version + 1)
            pending = {k: v for k, v in pending.items() if k != timer_row.name}
        else:
            case = {**case, trigger: {**record, "effective_date": effective_date.isoformat()}}
        return self.apply(process, row, case_id, version=stored.version, state=stored.state,
                          dest=dest, case=case, record=record, actor=actor,
                          on_behalf_of=on_behalf_of, at=at, facts=facts, pending=pending,
                          warnings=warnings, last_hash=stored.last_hash,
                          log_data=submitted,
                          engine=_engine_record(warnings, opened=opened, derived=derived),
                          pending_rows=pending_rows, timer_row=timer_row)

    def fire_timer(self, timer) -> Outcome:
        # Effective at fires_at, or later if a later event was keyed meanwhile (see effective).
        return self.fire(timer.case_id, f"timer:{timer.name}", SYSTEM, None, {"due": timer.due},
                         datetime.fromisoformat(timer.fires_at), by_a_person=False,
                         timer_row=timer)

    def recompute(self, timer, actor: Actor, at: datetime) -> Outcome | None:
        stored = self.load(timer.case_id)
        process = PROCESSES[stored.kind]
        new = compute_from(process.timer(timer.name), date.fromisoformat(timer.counted_from),
                           self.engine.calendar, self.engine.policy)
        if new.due.isoformat() == timer.due:
            return None
        at = max(at, datetime.fromisoformat(stored.last_effective_at))
        state = process.state(stored.state)
        row = Transition("deadline_recomputed", (state,), None, ("operator",))
        case = stored.data
        facts = self.facts(process, timer.case_id, actor, None, actor.role, stored.state, case,
                           {}, at, {})
        outcome = self.apply(process, row, timer.case_id, version=stored.version,
                             state=stored.state, dest=state, case=case, record=None, actor=actor,
                             on_behalf_of=None, at=at, facts=facts, pending={}, warnings=[],
                             last_hash=stored.last_hash,
                             log_data={"timer": timer.name, "old_due": timer.due,
                                       "new_due": new.due.isoformat(), "rule": new.rule})
        self.store.end_timer(timer.id, "cancelled", outcome.version)
        self.store.start_timers([self.timer_row(timer.case_id, new, outcome.version)])
        return outcome

    def timer_row(self, case_id: str, deadline: Deadline, seq: int) -> dict:
        """A timer as stored: with the calendar it was computed with, for explain and replay."""
        calendar = self.engine.calendar
        return {"case_id": case_id, "name": deadline.name, "due": deadline.due.isoformat(),
                "fires_at": utc_iso(deadline.fires_at), "rule": deadline.rule,
                "counted_from": deadline.counted_from.isoformat(), "nation": calendar.nation,
                "closures": calendar.closures_json(),
                "started_seq": seq}

    # -- applying a transition -------------------------------------------------------------------

    def apply(self, process: Process, row: Transition, case_id: str, *, version: int,
              state: str | None, dest: Enum, case: dict, record: dict | None, actor: Actor,
              on_behalf_of: Actor | None, at: datetime, facts: _Facts,
              pending: Mapping[str, date], warnings: list[str], last_hash: str,
              log_data: dict, engine: dict | None = None, pending_rows=(), timer_row=None
              ) -> Outcome:
        seq = version + 1
        # The case's data as its effects see it: with this trigger's record.
        facts.case = case
        pending = dict(pending)
        deadlines: dict[str, Deadline] = {}
        for effect in row.effects:
            if isinstance(effect, CancelTimers):
                for t in pending_rows:
                    if t.name in pending and (not effect.names or t.name in effect.names):
                        self.store.end_timer(t.id, "cancelled", seq)
                        del pending[t.name]
            elif isinstance(effect, StartTimer):
                deadline = compute(process.timer(effect.name), facts, self.engine.calendar,
                                   self.engine.policy)
                deadlines[effect.name] = deadline
                pending[effect.name] = deadline.due

        global_seq, global_prev = self.head or self.chain_head()
        global_seq += 1
        # (_value_: the member's value, without the two calls of the `value` property)
        dest_state, effective_at = dest._value_, utc_iso(at)
        entry = {
            "global_seq": global_seq, "case_id": case_id, "seq": seq, "trigger": row.trigger,
            "source": state, "dest": dest_state, "actor": actor.text,
            "on_behalf_of": on_behalf_of.text if on_behalf_of else None,
            "effective_at": effective_at, "recorded_at": self.recorded_at,
            "data": jsontext.dumps(log_data), "engine": jsontext.dumps(engine or {}),
            "prev_hash": last_hash,
            "global_prev_hash": global_prev}
        # Replay rebuilds a case on its own, outside the global chain its hashes link into:
        # they are left empty there (`audit verify` is what checks the stored ones).
        entry["hash"] = "" if self.engine.replaying else hashchain.entry_hash(entry)
        self.head = (global_seq, entry["hash"])

        changed = self.store.update_case({
            "id": case_id, "state": dest_state, "version": seq, "data": case,
            "last_effective_at": effective_at, "last_hash": entry["hash"],
            "updated_at": self.recorded_at, "expected_version": version})
        if changed != 1:
            raise ConcurrentChangeError(
                f"case {case_id} changed while {row.trigger} was being applied; nothing was "
                "written: look at it again and retry", case=case_id, trigger=row.trigger,
                state=state)
        self.store.append_log(entry)
        if deadlines:
            self.store.start_timers([self.timer_row(case_id, d, seq) for d in deadlines.values()])

        notices = row.notices
        if notices:
            timers_now = {name: {"due": due, "fires_at": _fires(deadlines, name, due)}
                          for name, due in pending.items()}
            context = {"case_id": case_id, "kind": process.kind, "state": dest_state,
                       "case": case, "event": _canonical(facts.event) if facts.event else {},
                       "effective_date": facts.effective_date, "timers": timers_now,
                       "deadlines": _deadlines(facts, pending, timer_row),
                       "contacts": self.engine.contacts}
            if timer_row is not None:
                timer = process.timer(timer_row.name)
                context["missed"] = {"timer": timer.name, "due": date.fromisoformat(timer_row.due),
                                     "duty": timer.duty, "whose": timer.whose}
            self.store.store_notices([
                self.notice(case_id, seq, n, effect, context, facts)
                for n, effect in enumerate(notices, start=1)])

        outcome = Outcome(case_id, process.kind, dest_state, seq, row.trigger, at, warnings)
        for effect in () if self.engine.replaying else row.effects:
            if isinstance(effect, OpenLinked):
                linked = PROCESSES[effect.kind]
                outcome.linked.append(self.open(linked, record[effect.kind], actor, on_behalf_of,
                                                effect.data(facts), at))
            elif isinstance(effect, MoveLinked):
                outcome.linked.append(self.fire(effect.case_id(facts), effect.trigger, SYSTEM,
                                                None, {"review": case_id}, at, by_a_person=False))
        return outcome

    def notice(self, case_id: str, seq: int, n: int, effect: Notify, context: dict,
               facts: _Facts) -> dict:
        to = list(dict.fromkeys([a for r in effect.to if (a := r(facts))]))
        if not to:
            raise InvalidDataError(f"notice {effect.template} has no recipient: the case names "
                                   "no address for it", case=case_id, trigger=facts.kind)
        notice_id = f"{case_id}.{seq}.{n}"
        try:
            # Replay renders a stored notice again with the template version that rendered it.
            rendered = self.engine.render(effect.template, context,
                                          self.engine.template_versions.get(notice_id))
        except TemplateRenderError as err:
            raise EngineError(f"case {case_id}: {err}; nothing was written") from err
        return {"id": notice_id, "case_id": case_id, "log_seq": seq,
                "template": effect.template, "template_sha256": rendered.version,
                "recipients": _RECIPIENTS.encode(to),
                "subject": rendered.subject, "body": rendered.body,
                "body_sha256": hashlib.sha256(rendered.body.encode()).hexdigest(),
                "created_at": self.recorded_at}


@contextmanager
def _sql_transaction(db: Database):
    with db.write() as conn:
        yield SqlCaseStore(db, conn)


def _refuse_invalid_text(data: Mapping | None, trigger: str) -> None:
    """Text that cannot be stored is refused before anything is read (workflows/text.py)."""
    if data is not None and not isinstance(data, Mapping):
        raise InvalidDataError(f"{trigger}: invalid data: give an object of keys and values, "
                               f"not {type(data).__name__}", trigger=trigger)
    found = text.first_invalid(dict(data or {}))
    if found:
        where, why = found
        raise InvalidDataError(f"{trigger}: invalid data: {where}: {why}", trigger=trigger,
                               field=where)


def _engine_record(warnings: list[str], **parts: dict) -> dict:
    """What the engine records about an entry, beside the data submitted: the warnings it
    gave, and (when there are any) the cases it opened and the facts it derived."""
    record: dict = {"warnings": warnings} if warnings else {}
    record.update((name, value) for name, value in parts.items() if value)
    return record


_RECIPIENTS = json.JSONEncoder()   # a notice's addresses as a JSON list, as json.dumps writes it


def _deadlines(facts: _Facts, pending: Mapping[str, date], fired) -> dict:
    """Every deadline the case has run, by name, as a notice may mention it: its due date and
    whether it is `pending`, `fired` (missed, or for `review_window` passed) or `cancelled`,
    after this transition. A notice can thus speak of a deadline that has already passed, not
    only of the ones still running (`timers`)."""
    out = {}
    for name, due in facts.deadlines.items():
        status = facts.statuses.get(name)
        out[name] = {"due": due, "status": "cancelled" if status == "pending" else status}
    if fired is not None:
        out[fired.name] = {"due": date.fromisoformat(fired.due), "status": "fired"}
    out.update((name, {"due": due, "status": "pending"}) for name, due in pending.items())
    return out


def _fires(deadlines: Mapping[str, Deadline], name: str, due: date) -> datetime:
    return deadlines[name].fires_at if name in deadlines else fires_at(due)


def _canonical(value: Any) -> Any:
    """Mappings with their keys in sorted order, as the log stores them: a notice rendered from
    the data as keyed in and one rendered again from the log (replay) read the same."""
    if isinstance(value, dict):   # (a dict check: the Mapping ABC costs a good deal more)
        return {k: _canonical(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def _a(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun

