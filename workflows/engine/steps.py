"""One trigger applied to one case, in named steps, inside a unit of work:

    load -> authorise (actor, role, on whose behalf) -> validate (the data, the effective time)
         -> decide (the state machine: allowed? which row? where to?) -> apply (log entry,
            timers, notices) -> linked cases (each a transition of its own, same transaction)

Any refusal raises before anything is written, and the unit of work rolls back whatever a later
failure would have left half done."""
from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any, Mapping

from states import PROCESSES
from states.spec import MoveLinked, OpenLinked, Process
from storage.hashchain import GENESIS
from storage.rows import CaseRow, TimerRow
from workflows.calendar import local_date
from workflows.deadlines import compute_from
from workflows.engine.actors import SYSTEM, Actor
from workflows.engine.apply import Change, Setting, apply
from workflows.engine.authorise import authorise
from workflows.engine.decide import NEW, decide, rows_from, sources_of, triggers_from
from workflows.engine.facts import CaseFacts
from workflows.engine.modes import Mode
from workflows.engine.outcome import Outcome
from workflows.engine.unit_of_work import UnitOfWork
from workflows.engine.validate import effective_time, validate
from workflows.errors import (ConcurrentChangeError, GuardFailedError, NotAllowedInStateError,
                              RefusedError, UnknownCaseError, UnknownTriggerError)


def open_case(work: UnitOfWork, mode: Mode, setting: Setting, process: Process, case_id: str,
              actor: Actor, on_behalf_of: Actor | None, data: Mapping[str, Any],
              effective_at: datetime | None, now: datetime) -> Outcome:
    row = process.opening
    acting = on_behalf_of if on_behalf_of is not None else actor
    facts = CaseFacts(case_id, process.kind, "", acting.id, "", {}, {}, local_date(now),
                      setting.contacts, setting.policy, mode.reader(work.store))
    facts.role = authorise(row, actor, on_behalf_of, facts)
    model = validate(row, data, None, None)
    at = effective_time(effective_at or now, now, None, by_a_person=not actor.is_system,
                        case_id=None, trigger="open")
    assert model is not None
    opening = model.model_dump(mode="json")
    facts.case, facts.event, facts.effective_date = opening, model.model_dump(), local_date(at)
    decision = decide(process.kind, NEW, "open", facts, guards=mode.decides_guards)
    if decision.row is None:
        raise GuardFailedError(f"open: refused: {decision.refusal}", trigger="open")
    new = CaseRow(case_id, process.kind, "", 0, opening, {}, "", "", GENESIS, "")
    outcome = apply(work, mode, setting, Change(
        process, decision.row, new, _state(process, decision.state), actor, on_behalf_of,
        at, facts, submitted=opening, engine=_engine_record(mode.warnings(decision.row, facts)),
        record=None))
    return outcome


def fire(work: UnitOfWork, mode: Mode, setting: Setting, case_id: str, trigger: str,
         actor: Actor, on_behalf_of: Actor | None, data: Mapping[str, Any],
         effective_at: datetime | None, now: datetime, *, expected_version: int | None = None,
         fired: TimerRow | None = None, internal: bool = False) -> Outcome:
    stored = _load(work, case_id)
    process = PROCESSES[stored.kind]
    _refuse_unless_open_to(stored, trigger, expected_version)
    state = process.state(stored.state)
    if trigger not in triggers_from(process.kind, state):
        _refuse_trigger(process, stored, trigger)
    rows = rows_from(process, trigger, state)
    if rows[0].internal and not internal:
        raise UnknownTriggerError(f"{trigger} is written by the engine itself (recalendar "
                                  "--apply), not fired", case=case_id, trigger=trigger,
                                  state=stored.state)

    timers = work.store.timers_of(case_id)
    pending: dict[str, date] = {}
    deadlines: dict[str, date] = {}   # the latest timer of each name
    statuses: dict[str, str] = {}
    for t in timers:
        deadlines[t.name] = date.fromisoformat(t.due)
        statuses[t.name] = t.status
        if t.status == "pending":
            pending[t.name] = deadlines[t.name]
    acting = on_behalf_of if on_behalf_of is not None else actor
    facts = CaseFacts(case_id, process.kind, "", acting.id, stored.state, stored.data,
                      stored.records, local_date(now), setting.contacts, setting.policy,
                      mode.reader(work.store), pending_timers=pending, deadlines=deadlines,
                      statuses=statuses)
    facts.role = authorise(rows[0], actor, on_behalf_of, facts)
    model = validate(rows[0], data, case_id, stored.state)
    at = effective_time(effective_at or now, now, stored.last_effective_at,
                        by_a_person=not actor.is_system, case_id=case_id, trigger=trigger)
    facts.event = model.model_dump() if model is not None else {}
    facts.effective_date = local_date(at)

    decision = decide(process.kind, state, trigger, facts, guards=mode.decides_guards)
    if decision.row is None:
        raise GuardFailedError(f"{trigger} refused on case {case_id}: {decision.refusal}",
                               case=case_id, trigger=trigger, state=stored.state)
    row = decision.row
    submitted = model.model_dump(mode="json") if model is not None else {}
    opened = {e.kind: mode.opened_id(e.kind, PROCESSES[e.kind].case_prefix)
              for e in row.opens_linked}
    engine = _engine_record(mode.warnings(row, facts), opened=opened,
                            derived=row.derive(facts) if row.derive else {})
    outcome = apply(work, mode, setting, Change(
        process, row, stored, _state(process, decision.state), actor, on_behalf_of, at,
        facts, submitted, engine,
        record=None if fired is not None or row.internal else submitted,
        timers=timers, fired=fired))
    if mode.follows_links:
        for effect in row.links:
            if isinstance(effect, OpenLinked):
                outcome.linked.append(open_case(
                    work, mode, setting, PROCESSES[effect.kind], opened[effect.kind], actor,
                    on_behalf_of, effect.data(facts), at, now))
            elif isinstance(effect, MoveLinked):
                outcome.linked.append(fire(
                    work, mode, setting, effect.case_id(facts), effect.trigger, SYSTEM, None,
                    effect.data(facts), at, now))
    return outcome


def fire_timer(work: UnitOfWork, mode: Mode, setting: Setting, timer: TimerRow,
               now: datetime) -> Outcome:
    """A pending timer fires: one `timer:NAME` entry by `system`, effective at its `fires_at`
    (or at the case's latest event, when one was keyed in meanwhile)."""
    return fire(work, mode, setting, timer.case_id, f"timer:{timer.name}", SYSTEM, None,
                {"due": timer.due}, datetime.fromisoformat(timer.fires_at), now, fired=timer)


def recompute(work: UnitOfWork, mode: Mode, setting: Setting, timer: TimerRow, actor: Actor,
              at: datetime) -> Outcome | None:
    """Move a pending timer to the due date the calendar in force gives it, through a logged
    `deadline_recomputed` entry; None when its date does not change."""
    stored = _load(work, timer.case_id)
    process = PROCESSES[stored.kind]
    rule = process.timer(timer.name)
    calendar = mode.recorded_calendar(timer.name) or \
        setting.calendars.of(timer.calendar, timer.school)
    new = compute_from(rule, date.fromisoformat(timer.counted_from), calendar, setting.policy)
    if new.due.isoformat() == timer.due:
        return None
    data = {"timer": timer.name, "old_due": timer.due, "new_due": new.due.isoformat(),
            "rule": new.rule}
    # Recorded by the operator who applies it, as its own entry (never back-dated).
    at = max(at, datetime.fromisoformat(stored.last_effective_at))
    facts = CaseFacts(stored.id, process.kind, actor.role, actor.id, stored.state, stored.data,
                      stored.records, local_date(at), setting.contacts, setting.policy,
                      mode.reader(work.store), event=data)
    state = process.state(stored.state)
    decision = decide(process.kind, state, "deadline_recomputed", facts, guards=False)
    assert decision.row is not None
    return apply(work, mode, setting, Change(
        process, decision.row, stored, state, actor, None, at, facts, data, {}, record=None,
        timers=work.store.timers_of(stored.id), also_ends=[(timer.id, "cancelled")],
        also_starts=[new]))


def _load(work: UnitOfWork, case_id: str) -> CaseRow:
    row = work.store.case(case_id)
    if row is None:
        raise UnknownCaseError(f"no case {case_id!r}", case=case_id)
    return row


def _refuse_unless_open_to(stored: CaseRow, trigger: str, expected_version: int | None) -> None:
    if expected_version is not None and stored.version != expected_version:
        raise ConcurrentChangeError(
            f"case {stored.id} is at version {stored.version}, not {expected_version}: it "
            "changed meanwhile; look at it again (show) before firing", case=stored.id,
            trigger=trigger, state=stored.state)
    if trigger == "open":
        raise UnknownTriggerError(f"case {stored.id} is already open", case=stored.id)
    if stored.erased_at:
        raise RefusedError(f"case {stored.id}: its personal data was erased on "
                           f"{stored.erased_at[:10]}; it takes no further triggers",
                           case=stored.id, trigger=trigger, state=stored.state)


def _refuse_trigger(process: Process, stored: CaseRow, trigger: str) -> None:
    if not process.rows(trigger):
        fireable = [t for t in process.triggers()
                    if not t.startswith("timer:") and not process.rows(t)[0].internal]
        raise UnknownTriggerError(
            f"unknown trigger {trigger!r} for a {process.kind} case; triggers: "
            f"{', '.join(fireable)}", case=stored.id, trigger=trigger, state=stored.state)
    raise NotAllowedInStateError(
        f"{trigger} is not allowed in state {stored.state} of case {stored.id} (only from "
        f"{', '.join(sources_of(process.kind, trigger))})", case=stored.id, trigger=trigger,
        state=stored.state)


def _engine_record(warnings: list[str], **parts: dict) -> dict:
    """What the engine records of an entry, beside the data submitted: the warnings it gave,
    and (when there are any) the cases it opened and the facts it derived."""
    record: dict = {"warnings": warnings} if warnings else {}
    record.update((name, value) for name, value in parts.items() if value)
    return record


def _state(process: Process, state: Enum | str) -> Enum:
    return state if isinstance(state, Enum) else process.state(state)
