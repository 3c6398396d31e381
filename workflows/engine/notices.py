"""The notices a transition stores: rendered from the case as it stands after the transition,
addressed, and sealed (a salted hash of their content, anchored in the log entry's hash:
storage/hashchain.py)."""
from __future__ import annotations

import hashlib
from datetime import date
from typing import Any, Callable, Mapping

from notifications.render import TemplateRenderError
from states.spec import Notify, NotifyEach, Process
from storage.rows import NoticeRow, TimerRow
from workflows.core.calendar import fires_at
from workflows.core.deadlines import Deadline
from workflows.engine.facts import CaseFacts
from workflows.engine.modes import Mode
from workflows.core.errors import EngineError, InvalidDataError


def context(process: Process, case_id: str, state: str, facts: CaseFacts,
            pending: Mapping[str, date], started: Mapping[str, Deadline],
            fired: TimerRow | None, contacts: Mapping[str, str],
            superseded: TimerRow | None = None, today: date | None = None) -> dict[str, Any]:
    """What a template reads (the case as it stands after the transition: `facts` holds its
    records with this transition's, facts.recorded):
    - `case`: the data it was opened with; `records`: trigger -> the data it recorded;
      `done`: trigger -> the day it took effect;
    - `event`: this trigger's data; `effective_date`; `state`: the state it leads to;
    - `timers`: the deadlines still running (due, fires_at; counted_from for one started
      now); `deadlines`: every deadline the case has run, with its status (pending, fired,
      cancelled, superseded);
    - `missed` (a `deadline_missed`, or the `deadline_missed_withdrawn` of a superseded timer):
      the timer, its due date, the duty and whose it is;
    - `nation`: england or wales; `contacts`: the configured addresses;
    - `today`: the day the notice is read (its effective date, or the day it was keyed in when
      later): a due date before it is overdue, never promised;
    - `role`: the role acting (for an operator: the one it acts for), to sign by;
    - `headteacher`: the headteacher the case is with now (after any `change_headteacher`);
    - `derived`: what the engine derived with the event; `copy`: whether this notice is the
      copy to others than the addressee; `about` (a notice for each of a list): its item."""
    timers: dict[str, dict[str, Any]] = {name: {"due": due, "fires_at": fires_at(due)}
                                         for name, due in pending.items()}
    for name, started_now in started.items():
        # A deadline this transition starts: what it counts from, as text like the records.
        timers[name] = {"due": started_now.due, "fires_at": started_now.fires_at,
                        "counted_from": started_now.counted_from.isoformat()}
    records = facts.stored_records
    out = {"case_id": case_id, "kind": process.kind, "state": state, "case": facts.case,
           # (the same mapping the recipients read: made once for both)
           "records": facts.records,
           "done": {t: r["effective_date"] for t, r in records.items()},
           "event": _canonical(facts.event) if facts.event else {},
           "effective_date": facts.effective_date, "timers": timers,
           "deadlines": _deadlines(facts, pending, fired), "contacts": contacts,
           "nation": facts.nation, "derived": facts.derived, "copy": False,
           "today": today or facts.effective_date, "role": facts.role,
           "headteacher": current_headteacher(facts.case, records)}
    missed = fired if fired is not None else superseded
    if missed is not None:
        timer = process.timer(missed.name)
        out["missed"] = {"timer": timer.name, "due": date.fromisoformat(missed.due),
                         "duty": timer.duty, "whose": timer.whose}
    if superseded is not None:
        out["deadlines"][superseded.name] = {"due": date.fromisoformat(superseded.due),
                                             "status": "superseded"}
    return out


def _deadlines(facts: CaseFacts, pending: Mapping[str, date], fired: TimerRow | None) -> dict[str, Any]:
    """Every deadline the case has run, by name: its due date and whether it is `pending`,
    `fired` (missed, or for `review_window` passed) or `cancelled`, after this transition. A
    notice can thus speak of a deadline that has already passed, not only of the ones still
    running (`timers`)."""
    out = {}
    for name, due in facts.deadlines.items():
        status = facts.statuses.get(name)
        out[name] = {"due": due, "status": "cancelled" if status == "pending" else status}
    if fired is not None:
        out[fired.name] = {"due": date.fromisoformat(fired.due), "status": "fired"}
    for name, due in pending.items():
        out[name] = {"due": due, "status": "pending"}
    return out


def _canonical(value: Any) -> Any:
    """Mappings with their keys in sorted order, as the log stores them: a notice rendered from
    the data as keyed in and one rendered again from the log (replay) read the same."""
    kind = type(value)
    if kind is dict:
        out = {}
        for key in sorted(value):
            item = value[key]
            out[key] = _canonical(item) if type(item) in _NESTED else item
        return out
    if kind is list:
        return [_canonical(item) if type(item) in _NESTED else item for item in value]
    return value


_NESTED = (dict, list)   # (a model's dump is made of plain dicts and lists, never subclasses)


def current_headteacher(case: Mapping[str, Any], records: Mapping[str, Any]) -> Any:
    """The headteacher the case is with now: the last `change_headteacher`'s, else the one it
    was opened with (None for a kind of case that names none)."""
    changed = records.get("change_headteacher")
    if changed:
        return changed["data"]["headteacher"]
    return case.get("headteacher")


def render_all(case_id: str, seq: int, sending: list[Notify], ctx: Mapping[str, Any],
               facts: CaseFacts, render: Callable[..., Any], mode: Mode,
               created_at: str) -> list[NoticeRow]:
    """Every notice an entry stores, numbered in order: one per Notify, and one per item of a
    NotifyEach (none when its list is empty)."""
    out: list[NoticeRow] = []
    for effect in sending:
        if isinstance(effect, NotifyEach):
            for item in facts.derived.get(effect.each) or ():
                to = [a for r in effect.to_each if (a := r(item))]
                out.append(render_notice(case_id, seq, len(out) + 1, effect,
                                         {**ctx, "about": item, "copy": effect.copy}, facts,
                                         render, mode, created_at, to))
            continue
        out.append(render_notice(case_id, seq, len(out) + 1, effect,
                                 {**ctx, "copy": True} if effect.copy else ctx, facts, render,
                                 mode, created_at))
    return out


def render_notice(case_id: str, seq: int, n: int, effect: Notify, ctx: Mapping[str, Any],
                  facts: CaseFacts, render: Callable[..., Any], mode: Mode,
                  created_at: str, addresses: list[str] | None = None) -> NoticeRow:
    if addresses is None:
        addresses = []
        for recipient in effect.to:
            found = recipient(facts)
            if isinstance(found, (list, tuple)):
                addresses.extend(a for a in found if a)
            elif found:
                addresses.append(found)
    to = list(dict.fromkeys(addresses))
    if not to:
        raise InvalidDataError(f"notice {effect.template} has no recipient: the case names "
                               "no address for it", case=case_id, trigger=facts.kind)
    notice_id = f"{case_id}.{seq}.{n}"
    try:
        # Replay renders a stored notice again with the template version that rendered it.
        rendered = render(effect.template, ctx, mode.template_version(notice_id))
    except TemplateRenderError as err:
        raise EngineError(f"case {case_id}: {err}; nothing was written") from err
    seal = mode.seal
    salt = seal.salt()
    content = seal.notice_content(salt, to, rendered.subject, rendered.body)
    return NoticeRow(
        id=notice_id, case_id=case_id, log_seq=seq, template=effect.template,
        template_sha256=rendered.version, recipients=tuple(to), subject=rendered.subject,
        body=rendered.body, body_sha256=hashlib.sha256(rendered.body.encode()).hexdigest(),
        salt=salt or None, content_sha256=content,
        hash=seal.notice(notice_id, case_id, seq, effect.template, rendered.version, content),
        status="pending", attempts=0, last_error=None, created_at=created_at)
