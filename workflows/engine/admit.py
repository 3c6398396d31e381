"""Admit: whether a trigger may be applied to a case as it stands, before its data is read: the
case exists, is not erased and is at the version the caller saw; the trigger is one of its
kind's and allowed from its state; and a person's event keyed in late passes over timer
entries only (DOMAIN.md, "Late-keyed events"). Each refusal says what to do instead."""
from __future__ import annotations

import json
from typing import Any, Mapping

from states.spec import Process
from storage.protocol import CaseStore
from storage.rows import CaseRow, LogEntry, TimerRow
from workflows.core.errors import (ConcurrentChangeError, InvalidDataError,
                                   LaterEntryError,
                                   NotAllowedInStateError, RefusedError, UnknownCaseError,
                                   UnknownTriggerError)
from workflows.engine.actors import Actor
from workflows.engine.decide import sources_of

# The state a case was in when a late-keyed event took effect, and the entries it passes over.
Overtaken = tuple[str, list[LogEntry]]


def load(store: CaseStore, case_id: str) -> CaseRow:
    row = store.case(case_id)
    if row is None:
        raise UnknownCaseError(f"no case {case_id!r}", case=case_id)
    return row


def refuse_unless_open_to(stored: CaseRow, trigger: str, expected_version: int | None) -> None:
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


def known(process: Process, trigger: str) -> bool:
    """Whether `trigger` is one of the kind's, and not retired (only replay re-applies one)."""
    rows = process.rows(trigger)
    return bool(rows) and not all(r.retired for r in rows)


def refuse_trigger(process: Process, stored: CaseRow, trigger: str,
                   then: str | None = None, at: str | None = None, closed_by: str = "") -> None:
    """Refuse a trigger the kind does not know, or one its state `then` (the state the case
    was in at `at`, for a late-keyed event) does not allow."""
    if not known(process, trigger):
        fireable = [t for t in process.triggers()
                    if not t.startswith("timer:") and not process.rows(t)[0].internal
                    and not process.rows(t)[0].retired]
        raise UnknownTriggerError(
            f"unknown trigger {trigger!r} for a {process.kind} case; triggers: "
            f"{', '.join(fireable)}", case=stored.id, trigger=trigger, state=stored.state)
    where = (f"state {then}, the state case {stored.id} was in on {at} (a form "
             "keyed in late is judged as of its effective time)" if then is not None and at
             else f"state {stored.state} of case {stored.id}")
    raise NotAllowedInStateError(
        f"{trigger} is not allowed in {where} (only from "
        f"{', '.join(sources_of(process.kind, trigger))}){closed_by}",
        case=stored.id, trigger=trigger, state=stored.state)


def passed_over(store: CaseStore, stored: CaseRow, timers: list[TimerRow], when: str
                ) -> Overtaken | None:
    """The state the case was in at `when`, and the entries effective after it that an event
    effective then passes over (None: none; the timer entries already superseded do not
    count). The state is the one the last entry not passed over left it in."""
    superseded = {t.ended_seq for t in timers if t.status == "superseded"}
    live = [e for e in store.log_of(stored.id) if e.seq not in superseded]
    passed = [e for e in live if e.effective_at > when]
    if not passed:
        return None
    before = [e for e in live if e.effective_at <= when]
    return (before[-1].dest if before else stored.state), passed


def refuse_passing_a_person(stored: CaseRow, trigger: str, when: str,
                            passed: list[LogEntry]) -> None:
    """A form keyed in late may pass over timer entries only (DOMAIN.md, "Late-keyed
    events"): the first other entry it would pass over is named."""
    for e in passed:
        if not e.trigger.startswith("timer:"):
            who = e.actor + (f" for {e.on_behalf_of}" if e.on_behalf_of else "")
            raise LaterEntryError(
                f"{trigger} effective {when} would come before entry {e.seq} of case "
                f"{stored.id} ({e.trigger} by {who}, effective {e.effective_at}): a form keyed "
                "in late may pass over timers only, never another person's entry; key it in "
                f"as of {e.effective_at} or later", case=stored.id, trigger=trigger,
                state=stored.state)


def closed_by_a_timer(store: CaseStore, stored: CaseRow) -> str:
    """When a timer moved the case into its state, say so: an event effective on or before
    that timer's due date can still be keyed in (DOMAIN.md, "Late-keyed events")."""
    moved = [e for e in store.log_of(stored.id) if e.dest == stored.state
             and e.source != e.dest]
    if not moved or not moved[-1].trigger.startswith("timer:"):
        return ""
    entry = moved[-1]
    return (f"; {entry.trigger} (entry {entry.seq}) moved it there when its due date "
            f"{due_of(entry)} passed: an event effective on or before that day can still be "
            "keyed in with --at")


def due_of(entry: LogEntry) -> str:
    """The due date a timer entry records."""
    return str(json.loads(entry.data).get("due"))


def signed(key: str, data: Mapping[str, Any], acting: Actor) -> Mapping[str, Any]:
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
