"""One trigger applied to one case, in named steps, inside a unit of work:

    load -> admit (the case open to it, the trigger allowed, a late-keyed event's place)
         -> authorise (actor, role, on whose behalf) -> validate (the data, the effective time)
         -> decide (the state machine: allowed? which row? where to?) -> apply (log entry,
            timers, notices) -> linked cases (each a transition of its own, same transaction)

Each step is given the request (workflows/engine/request.py) and the step context: the unit of
work, the mode (live or replaying: workflows/engine/modes.py), the setting and "now". Any
refusal raises before anything is written, and the unit of work rolls back whatever a later
failure would have left half done."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Mapping

from states import PROCESSES
from states.spec import MoveLinked, OpenLinked, Process
from storage.hashchain import GENESIS
from storage.rows import CaseRow, LogEntry, TimerRow
from workflows.core.calendar import local_date
from workflows.core.deadlines import calendar_in_force, compute_from
from workflows.core.errors import (GuardFailedError, LaterEntryError,
                                   NotAllowedInStateError,
                                   UnknownTriggerError)
from workflows.core.times import utc_iso
from workflows.engine import admit
from workflows.engine.actors import SYSTEM, Actor
from workflows.engine.apply import Change, apply
from workflows.engine.decide import NEW, decide, triggers_from
from workflows.engine.facts import CaseFacts
from workflows.engine.outcome import Outcome
from workflows.engine.request import Request, Step
from workflows.engine.validate import dumped, validate


def open_case(step: Step, process: Process, request: Request) -> Outcome:
    """Open a case of `process` with the id `request.case`."""
    mode, setting, now = step.mode, step.setting, step.now
    row = process.opening
    acting = request.acting
    facts = CaseFacts(case_id=request.case, kind=process.kind, role="", actor_id=acting.id,
                      state="", case={}, stored_records={}, effective_date=local_date(now),
                      contacts=setting.contacts, policy=setting.policy,
                      reader=mode.reader(step.work.store), nation=setting.nation)
    facts.role = mode.authorise(row, request.actor, request.on_behalf_of, facts)
    data = mode.sign(row, request.data, acting, facts.role)
    model = validate(row, data, None, None, mode.validation)
    at = mode.effective_time(request.effective_at or now, now, person=True, opened_at=None,
                             case_id=None, trigger="open")
    assert model is not None
    facts.event, opening = dumped(model)
    facts.case, facts.effective_date = opening, local_date(at)
    decision = mode.decide(process.kind, NEW, "open", facts)
    if decision.row is None:
        raise GuardFailedError(f"open: refused: {decision.refusal}", trigger="open")
    new = CaseRow(id=request.case, kind=process.kind, state="", version=0, data=opening,
                  records={}, opened_at="", last_effective_at="", last_hash=GENESIS,
                  updated_at="")
    return apply(step.work, mode, setting, Change(
        process, decision.row, new, decision.state, request.actor, request.on_behalf_of, at,
        facts, opening, _engine_record(mode.warnings(decision.row, facts)), None, now=now))


def fire(step: Step, request: Request, *, fired: TimerRow | None = None,
         internal: bool = False, judged: bool = False) -> Outcome:
    """Apply `request.trigger`. `fired`: the timer whose firing this is. `internal`: an entry
    the engine writes itself (superseding a timer, recomputing a deadline). `judged`: a
    late-keyed event whose guards were judged as of its effective time (late_keyed), applied
    to the case as it now stands."""
    work, mode, setting, now = step.work, step.mode, step.setting, step.now
    case_id, trigger, actor = request.case, request.trigger, request.actor
    stored = admit.load(work.store, case_id)
    process = PROCESSES[stored.kind]
    admit.refuse_unless_open_to(stored, trigger, request.expected_version)
    mode.check_known(process, stored, trigger)
    person = not actor.is_system and not internal
    if person:
        mode.refuse_a_role_that_never_fires(process, stored, trigger, actor,
                                            request.on_behalf_of)
    at = mode.effective_time(request.effective_at or now, now, person=person,
                             opened_at=stored.opened_at, case_id=case_id, trigger=trigger)
    if actor.is_system and fired is None:
        # The engine acts on what already happened (a review that moves its application): it
        # keeps the log's order. A timer's entry is effective at its own fires_at, always.
        at = max(at, datetime.fromisoformat(stored.last_effective_at))
    timers = work.store.timers_of(case_id)
    # A person's event effective before later entries of its case (paper keyed in late) is
    # judged in the state the case was in then (late_keyed).
    overtaken = None if judged else mode.overtaken(work.store, stored, timers, utc_iso(at),
                                                   trigger, person)
    then = overtaken[0] if overtaken else stored.state
    mode.check_allowed(work.store, process, stored, trigger, then, utc_iso(at),
                       late=overtaken is not None)
    rows = process.rows_leaving(trigger, then)
    if rows[0].internal and not internal:
        raise UnknownTriggerError(f"{trigger} is written by the engine itself, not fired",
                                  case=case_id, trigger=trigger, state=stored.state)

    pending: dict[str, date] = {}
    deadlines: dict[str, date] = {}   # the latest timer of each name
    statuses: dict[str, str] = {}
    for t in timers:
        deadlines[t.name] = date.fromisoformat(t.due)
        statuses[t.name] = t.status
        if t.status == "pending":
            pending[t.name] = deadlines[t.name]
    acting = request.acting
    facts = CaseFacts(case_id=case_id, kind=process.kind, role="", actor_id=acting.id,
                      state=stored.state, case=stored.data, stored_records=stored.records,
                      effective_date=local_date(now), contacts=setting.contacts,
                      policy=setting.policy, reader=mode.reader(work.store),
                      nation=setting.nation, event={}, pending_timers=pending,
                      deadlines=deadlines, statuses=statuses)
    facts.role = mode.authorise(rows[0], actor, request.on_behalf_of, facts, process.parties)
    model = validate(rows[0], request.data, case_id, stored.state, mode.validation)
    facts.event, submitted = dumped(model)
    facts.effective_date = local_date(at)
    if overtaken:
        return late_keyed(step, request, stored, at, facts, timers, *overtaken)

    decision = mode.decide(process.kind, stored.state, trigger, facts, judged=judged)
    if decision.row is None:
        raise GuardFailedError(f"{trigger} refused on case {case_id}: {decision.refusal}",
                               case=case_id, trigger=trigger, state=stored.state)
    row = decision.row
    opened = {e.kind: mode.opened_id(e.kind, PROCESSES[e.kind].case_prefix)
              for e in row.opens_linked} if row.opens_linked else {}
    facts.calendars = setting.calendars
    facts.derived = mode.derived(row, facts)
    engine = _engine_record(mode.warnings(row, facts), opened=opened, derived=facts.derived)
    outcome = apply(work, mode, setting, Change(
        process, row, stored, decision.state, actor, request.on_behalf_of, at, facts,
        submitted, engine, None if fired is not None or row.internal else submitted, timers,
        fired, now=now))
    for effect in mode.linked(row):
        if isinstance(effect, OpenLinked):
            outcome.linked.append(open_case(step, PROCESSES[effect.kind], request.but(
                case=opened[effect.kind], trigger="open", data=effect.data(facts),
                effective_at=at, expected_version=None)))
        elif isinstance(effect, MoveLinked):
            outcome.linked.append(fire(step, Request(
                case=effect.case_id(facts), trigger=effect.trigger, actor=SYSTEM,
                data=effect.data(facts), effective_at=at)))
    return outcome


def late_keyed(step: Step, request: Request, stored: CaseRow, at: datetime, facts: CaseFacts,
               timers: list[TimerRow], state_then: str, passed: list[LogEntry]) -> Outcome:
    """A person's event effective before later entries of its case (paper keyed in late;
    DOMAIN.md, "Late-keyed events"). It may pass over timer entries only. It is judged as of its
    effective time: allowed in the state the case was in then, with the deadlines as they stood
    then. Each timer entry it would have prevented (one it cancels, or one its new state rules
    out) is superseded first, by a `timer_superseded` entry that moves the case back if the
    timer had moved it; the timer entries it does not prevent stand, and the event is then
    applied to the case as it stands."""
    process = PROCESSES[stored.kind]
    trigger, when = request.trigger, utc_iso(at)
    overtaken = {e.seq for e in passed}
    pending = dict(facts.pending_timers)
    for t in timers:
        if t.status == "fired" and t.ended_seq in overtaken:
            pending[t.name] = date.fromisoformat(t.due)
    facts.state, facts.pending_timers = state_then, pending
    decision = step.mode.decide(process.kind, state_then, trigger, facts)
    if decision.row is None:
        raise GuardFailedError(f"{trigger} refused on case {stored.id} as of {when}: "
                               f"{decision.refusal}", case=stored.id, trigger=trigger,
                               state=stored.state)
    cancels = decision.row.cancels
    after = triggers_from(process.kind, decision.state)
    standing = []
    for e in passed:
        name = e.trigger.removeprefix("timer:")
        if cancels is None or name in cancels or e.trigger not in after:
            fire(step, request.but(
                trigger="timer_superseded", effective_at=at, expected_version=None,
                data={"superseded_seq": e.seq, "timer": name, "due": admit.due_of(e),
                      "late_trigger": trigger, "late_effective_at": when,
                      "late_recorded_at": step.work.recorded_at,
                      "late_state": decision.state}), internal=True)
        else:
            standing.append(e)
    try:
        return fire(step, request.but(effective_at=at, expected_version=None), judged=True)
    except NotAllowedInStateError:
        moved = [e for e in standing if e.source != e.dest] or standing or passed
        raise LaterEntryError(
            f"{trigger} effective {when} cannot be applied: timer entry {moved[-1].seq} "
            f"({moved[-1].trigger}, effective {moved[-1].effective_at}) stands and left the "
            f"case in {moved[-1].dest}, from which {trigger} is not allowed",
            case=stored.id, trigger=trigger, state=stored.state) from None


def fire_timer(step: Step, timer: TimerRow, logged_at: datetime | None = None) -> Outcome:
    """A pending timer fires: one `timer:NAME` entry by `system`, effective at its own
    `fires_at` (never moved: a later event keyed in meanwhile does not shift it)."""
    # Replay: as logged (the first edition of the rules moved a timer noticed late to the
    # case's latest event).
    at = logged_at or datetime.fromisoformat(timer.fires_at)
    return fire(step, Request(case=timer.case_id, trigger=f"timer:{timer.name}", actor=SYSTEM,
                              data={"due": timer.due}, effective_at=at), fired=timer)


def recompute(step: Step, timer: TimerRow, actor: Actor) -> Outcome | None:
    """Move a pending timer to the due date the calendar in force gives it, through a logged
    `deadline_recomputed` entry; None when its date does not change."""
    work, mode, setting = step.work, step.mode, step.setting
    stored = admit.load(work.store, timer.case_id)
    process = PROCESSES[stored.kind]
    rule = process.timer(timer.name)
    calendar = mode.recorded_calendar(timer.name) or \
        calendar_in_force(rule, timer.school, setting.calendars)
    new = compute_from(rule, date.fromisoformat(timer.counted_from), calendar, setting.policy)
    if new.due.isoformat() == timer.due:
        return None
    data = {"timer": timer.name, "old_due": timer.due, "new_due": new.due.isoformat(),
            "rule": new.rule}
    # Recorded by the operator who applies it, as its own entry (never back-dated).
    at = max(step.now, datetime.fromisoformat(stored.last_effective_at))
    facts = CaseFacts(case_id=stored.id, kind=process.kind, role=actor.role,
                      actor_id=actor.id, state=stored.state, case=stored.data,
                      stored_records=stored.records, effective_date=local_date(at),
                      contacts=setting.contacts, policy=setting.policy,
                      reader=mode.reader(work.store), nation=setting.nation, event=data)
    decision = decide(process.kind, stored.state, "deadline_recomputed", facts, guards=False)
    assert decision.row is not None
    return apply(work, mode, setting, Change(
        process, decision.row, stored, decision.state, actor, None, at, facts, data, {}, None,
        timers=work.store.timers_of(stored.id), also_ends=[(timer.id, "cancelled")],
        also_starts=[new], now=step.now))


def _engine_record(warnings: list[str], opened: Mapping[str, str] | None = None,
                   derived: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What the engine records of an entry, beside the data submitted: the warnings it gave,
    and (when there are any) the cases it opened and the facts it derived."""
    record: dict[str, Any] = {"warnings": warnings} if warnings else {}
    if opened:
        record["opened"] = opened
    if derived:
        record["derived"] = derived
    return record

