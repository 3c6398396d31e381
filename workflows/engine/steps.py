"""One trigger applied to one case, in named steps, inside a unit of work:

    load -> authorise (actor, role, on whose behalf) -> validate (the data, the effective time)
         -> decide (the state machine: allowed? which row? where to?) -> apply (log entry,
            timers, notices) -> linked cases (each a transition of its own, same transaction)

Any refusal raises before anything is written, and the unit of work rolls back whatever a later
failure would have left half done."""
from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, Mapping

from states import PROCESSES
from states.spec import MoveLinked, OpenLinked, Process
from storage.hashchain import GENESIS
from storage.rows import CaseRow, LogEntry, TimerRow
from workflows.core.calendar import local_date
from workflows.core.deadlines import calendar_in_force, compute_from
from workflows.engine.actors import SYSTEM, Actor
from workflows.engine.apply import Change, Setting, apply
from workflows.engine.authorise import authorise
from workflows.engine.decide import NEW, decide, sources_of, triggers_from
from workflows.engine.facts import CaseFacts
from workflows.engine.modes import Mode
from workflows.engine.outcome import Outcome
from workflows.engine.unit_of_work import UnitOfWork
from workflows.engine.validate import dumped, effective_time, validate
from workflows.core.errors import (ConcurrentChangeError, EffectiveTimeError, GuardFailedError,
                              InvalidDataError, NotAllowedInStateError, RefusedError, UnknownCaseError,
                              UnknownTriggerError)
from workflows.core.times import utc_iso


def open_case(work: UnitOfWork, mode: Mode, setting: Setting, process: Process, case_id: str,
              actor: Actor, on_behalf_of: Actor | None, data: Mapping[str, Any],
              effective_at: datetime | None, now: datetime) -> Outcome:
    row = process.opening
    acting = on_behalf_of if on_behalf_of is not None else actor
    facts = CaseFacts(case_id, process.kind, "", acting.id, "", {}, {}, local_date(now),
                      setting.contacts, setting.policy, mode.reader(work.store), setting.nation)
    facts.role = authorise(row, actor, on_behalf_of, facts)
    if row.signed_by is not None and mode.decides_guards and facts.role == row.signed_by[0]:
        data = _signed(row.signed_by[1], data, acting)
    model = validate(row, data, None, None)
    at = effective_time(effective_at or now, now, by_a_person=mode.decides_guards,
                        opened_at=None, case_id=None, trigger="open")
    assert model is not None
    facts.event, opening = dumped(model)
    facts.case, facts.effective_date = opening, local_date(at)
    decision = decide(process.kind, NEW, "open", facts, guards=mode.decides_guards)
    if decision.row is None:
        raise GuardFailedError(f"open: refused: {decision.refusal}", trigger="open")
    new = CaseRow(id=case_id, kind=process.kind, state="", version=0, data=opening, records={},
                  opened_at="", last_effective_at="", last_hash=GENESIS, updated_at="")
    outcome = apply(work, mode, setting, Change(
        process, decision.row, new, decision.state, actor, on_behalf_of, at, facts, opening,
        _engine_record(mode.warnings(decision.row, facts)), None))
    return outcome


def fire(work: UnitOfWork, mode: Mode, setting: Setting, case_id: str, trigger: str,
         actor: Actor, on_behalf_of: Actor | None, data: Mapping[str, Any],
         effective_at: datetime | None, now: datetime, *, expected_version: int | None = None,
         fired: TimerRow | None = None, internal: bool = False, judged: bool = False
         ) -> Outcome:
    """Apply `trigger`. `internal`: an entry the engine writes itself (superseding a timer,
    recomputing a deadline). `judged`: a late-keyed event whose guards were judged as of its
    effective time (late_keyed), applied to the case as it now stands."""
    stored = _load(work, case_id)
    process = PROCESSES[stored.kind]
    _refuse_unless_open_to(stored, trigger, expected_version)
    replaying = not mode.decides_guards
    # (Replay re-applies a logged trigger: one its machine does not know is refused below.)
    if not replaying and not _known(process, trigger):
        _refuse_trigger(process, stored, trigger)
    person = not actor.is_system and not internal
    at = effective_time(effective_at or now, now, by_a_person=person and not replaying,
                        opened_at=stored.opened_at, case_id=case_id, trigger=trigger)
    if actor.is_system and fired is None:
        # The engine acts on what already happened (a review that moves its application): it
        # keeps the log's order. A timer's entry is effective at its own fires_at, always.
        at = max(at, datetime.fromisoformat(stored.last_effective_at))
    timers = work.store.timers_of(case_id)
    # A person's event effective before later entries of its case (paper keyed in late) is
    # judged in the state the case was in then (late_keyed).
    overtaken = None
    if person and not replaying and not judged and utc_iso(at) < stored.last_effective_at:
        overtaken = _passed_over(work, stored, timers, utc_iso(at))
        if overtaken:
            _refuse_passing_a_person(stored, trigger, utc_iso(at), overtaken[1])
    then = overtaken[0] if overtaken else stored.state
    if trigger not in triggers_from(process.kind, then, replaying):
        _refuse_trigger(process, stored, trigger, then if overtaken else None, at,
                        "" if overtaken or replaying else _closed_by_a_timer(work, stored))
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
    acting = on_behalf_of if on_behalf_of is not None else actor
    facts = CaseFacts(case_id=case_id, kind=process.kind, role="", actor_id=acting.id,
                      state=stored.state, case=stored.data, stored_records=stored.records,
                      effective_date=local_date(now), contacts=setting.contacts,
                      policy=setting.policy, reader=mode.reader(work.store),
                      nation=setting.nation, pending_timers=pending, deadlines=deadlines,
                      statuses=statuses)
    # Replay does not authorise again: the entry was authorised under the rules it was
    # recorded with (states/editions.py).
    facts.role = authorise(rows[0], actor, on_behalf_of, facts, process.parties) \
        if mode.decides_guards else acting.role
    model = validate(rows[0], data, case_id, stored.state)
    facts.event, submitted = dumped(model)
    facts.effective_date = local_date(at)
    if overtaken:
        return late_keyed(work, mode, setting, stored, trigger, actor, on_behalf_of, data,
                          at, now, facts, timers, *overtaken)

    decision = decide(process.kind, stored.state, trigger, facts,
                      guards=mode.decides_guards and not judged, dest=mode.logged_dest)
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
        process, row, stored, decision.state, actor, on_behalf_of, at, facts, submitted, engine,
        None if fired is not None or row.internal else submitted, timers, fired))
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


def _signed(key: str, data: Mapping[str, Any], acting: Actor) -> Mapping[str, Any]:
    """The opening data with the opening party's id recorded as `KEY.id` (DOMAIN.md, "Parties
    bound to a case": the headteacher who opens an application is the one bound to it). An id
    given that is not the opener's is refused: the case would bind someone else."""
    part = data.get(key) if isinstance(data, Mapping) else None
    if not isinstance(part, Mapping):
        return data   # validation names the missing or malformed key
    given = part.get("id")
    if given is not None and given != acting.id:
        raise InvalidDataError(
            f"open: invalid data: {key}.id: {given!r} is not the {acting.role} opening the case "
            f"({acting}); leave it out (the opener's id is recorded) or open it as "
            f"{acting.role}:{given}", trigger="open", field=f"{key}.id")
    return {**data, key: {**part, "id": acting.id}}


def _passed_over(work: UnitOfWork, stored: CaseRow, timers: list[TimerRow], when: str
                 ) -> tuple[str, list[LogEntry]] | None:
    """The state the case was in at `when`, and the entries effective after it that an event
    effective then passes over (None: none; the timer entries already superseded do not
    count). The state is the one the last entry not passed over left it in."""
    superseded = {t.ended_seq for t in timers if t.status == "superseded"}
    live = [e for e in work.store.log_of(stored.id) if e.seq not in superseded]
    passed = [e for e in live if e.effective_at > when]
    if not passed:
        return None
    before = [e for e in live if e.effective_at <= when]
    return (before[-1].dest if before else stored.state), passed


def _refuse_passing_a_person(stored: CaseRow, trigger: str, when: str,
                             passed: list[LogEntry]) -> None:
    """A form keyed in late may pass over timer entries only (DOMAIN.md, "Late-keyed
    events"): the first other entry it would pass over is named."""
    for e in passed:
        if not e.trigger.startswith("timer:"):
            who = e.actor + (f" for {e.on_behalf_of}" if e.on_behalf_of else "")
            raise EffectiveTimeError(
                f"{trigger} effective {when} would come before entry {e.seq} of case "
                f"{stored.id} ({e.trigger} by {who}, effective {e.effective_at}): a form keyed "
                "in late may pass over timers only, never another person's entry; key it in "
                f"as of {e.effective_at} or later", case=stored.id, trigger=trigger,
                state=stored.state)


def late_keyed(work: UnitOfWork, mode: Mode, setting: Setting, stored: CaseRow, trigger: str,
               actor: Actor, on_behalf_of: Actor | None, data: Mapping[str, Any], at: datetime,
               now: datetime, facts: CaseFacts, timers: list[TimerRow], state_then: str,
               passed: list[LogEntry]) -> Outcome:
    """A person's event effective before later entries of its case (paper keyed in late;
    DOMAIN.md, "Late-keyed events"). It may pass over timer entries only. It is judged as of its
    effective time: allowed in the state the case was in then, with the deadlines as they stood
    then. Each timer entry it would have prevented (one it cancels, or one its new state rules
    out) is superseded first, by a `timer_superseded` entry that moves the case back if the
    timer had moved it; the timer entries it does not prevent stand, and the event is then
    applied to the case as it stands."""
    process = PROCESSES[stored.kind]
    when = utc_iso(at)
    overtaken = {e.seq for e in passed}
    pending = dict(facts.pending_timers)
    for t in timers:
        if t.status == "fired" and t.ended_seq in overtaken:
            pending[t.name] = date.fromisoformat(t.due)
    facts.state, facts.pending_timers = state_then, pending
    decision = decide(process.kind, state_then, trigger, facts)
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
            fire(work, mode, setting, stored.id, "timer_superseded", actor, on_behalf_of,
                 {"superseded_seq": e.seq, "timer": name, "due": _due_of(e),
                  "late_trigger": trigger, "late_effective_at": when,
                  "late_recorded_at": work.recorded_at, "late_state": decision.state},
                 at, now, internal=True)
        else:
            standing.append(e)
    try:
        return fire(work, mode, setting, stored.id, trigger, actor, on_behalf_of, data, at, now,
                    judged=True)
    except NotAllowedInStateError:
        moved = [e for e in standing if e.source != e.dest] or standing or passed
        raise EffectiveTimeError(
            f"{trigger} effective {when} cannot be applied: timer entry {moved[-1].seq} "
            f"({moved[-1].trigger}, effective {moved[-1].effective_at}) stands and left the "
            f"case in {moved[-1].dest}, from which {trigger} is not allowed",
            case=stored.id, trigger=trigger, state=stored.state) from None


def _due_of(entry: LogEntry) -> str:
    return str(json.loads(entry.data).get("due"))


def fire_timer(work: UnitOfWork, mode: Mode, setting: Setting, timer: TimerRow,
               now: datetime, logged_at: datetime | None = None) -> Outcome:
    """A pending timer fires: one `timer:NAME` entry by `system`, effective at its own
    `fires_at` (never moved: a later event keyed in meanwhile does not shift it)."""
    # Replay: as logged (the first edition of the rules moved a timer noticed late to the
    # case's latest event).
    at = logged_at or datetime.fromisoformat(timer.fires_at)
    return fire(work, mode, setting, timer.case_id, f"timer:{timer.name}", SYSTEM, None,
                {"due": timer.due}, at, now, fired=timer)


def recompute(work: UnitOfWork, mode: Mode, setting: Setting, timer: TimerRow, actor: Actor,
              at: datetime) -> Outcome | None:
    """Move a pending timer to the due date the calendar in force gives it, through a logged
    `deadline_recomputed` entry; None when its date does not change."""
    stored = _load(work, timer.case_id)
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
    at = max(at, datetime.fromisoformat(stored.last_effective_at))
    facts = CaseFacts(stored.id, process.kind, actor.role, actor.id, stored.state, stored.data,
                      stored.records, local_date(at), setting.contacts, setting.policy,
                      mode.reader(work.store), nation=setting.nation, event=data)
    decision = decide(process.kind, stored.state, "deadline_recomputed", facts, guards=False)
    assert decision.row is not None
    return apply(work, mode, setting, Change(
        process, decision.row, stored, decision.state, actor, None, at, facts, data, {}, None,
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


def _known(process: Process, trigger: str) -> bool:
    """Whether `trigger` is one of the kind's, and not retired (only replay re-applies one)."""
    rows = process.rows(trigger)
    return bool(rows) and not all(r.retired for r in rows)


def _refuse_trigger(process: Process, stored: CaseRow, trigger: str,
                    then: str | None = None, at: datetime | None = None,
                    closed_by: str = "") -> None:
    if not process.rows(trigger) or all(r.retired for r in process.rows(trigger)):
        fireable = [t for t in process.triggers()
                    if not t.startswith("timer:") and not process.rows(t)[0].internal
                    and not process.rows(t)[0].retired]
        raise UnknownTriggerError(
            f"unknown trigger {trigger!r} for a {process.kind} case; triggers: "
            f"{', '.join(fireable)}", case=stored.id, trigger=trigger, state=stored.state)
    where = (f"state {then}, the state case {stored.id} was in on {utc_iso(at)} (a form "
             "keyed in late is judged as of its effective time)" if then is not None and at
             else f"state {stored.state} of case {stored.id}")
    raise NotAllowedInStateError(
        f"{trigger} is not allowed in {where} (only from "
        f"{', '.join(sources_of(process.kind, trigger))}){closed_by}",
        case=stored.id, trigger=trigger, state=stored.state)


def _closed_by_a_timer(work: UnitOfWork, stored: CaseRow) -> str:
    """When a timer moved the case into its state, say so: an event effective on or before
    that timer's due date can still be keyed in (DOMAIN.md, "Late-keyed events")."""
    moved = [e for e in work.store.log_of(stored.id) if e.dest == stored.state
             and e.source != e.dest]
    if not moved or not moved[-1].trigger.startswith("timer:"):
        return ""
    entry = moved[-1]
    return (f"; {entry.trigger} (entry {entry.seq}) moved it there when its due date "
            f"{_due_of(entry)} passed: an event effective on or before that day can still be "
            "keyed in with --at")


def _engine_record(warnings: list[str], opened: dict | None = None,
                   derived: dict | None = None) -> dict:
    """What the engine records of an entry, beside the data submitted: the warnings it gave,
    and (when there are any) the cases it opened and the facts it derived."""
    record: dict = {"warnings": warnings} if warnings else {}
    if opened:
        record["opened"] = opened
    if derived:
        record["derived"] = derived
    return record

