"""Apply: write one decided transition. In the unit of work's transaction it ends and starts the
case's timers, updates the case (optimistic concurrency on `version`), appends the hash-chained
log entry and stores the rendered notices; for `erase_personal_data` it erases the case's personal
data. Effects on linked cases are the caller's (workflows/engine/steps.py), since they are
transitions of their own."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cached_property
from typing import Any, Callable, Mapping

from states.spec import Process, Transition
from storage import hashchain, jsontext
from storage.rows import ERASED, CaseChange, CaseRow, Erasure, LogEntry, NewTimer, TimerRow
from workflows.core.calendar import Calendars, fires_at, local_date
from workflows.core.config import Config
from workflows.core.deadlines import Deadline, calendar_for, compute
from workflows.engine import notices
from workflows.engine.actors import Actor
from workflows.engine.facts import CaseFacts
from workflows.engine.modes import Mode
from workflows.engine.outcome import Outcome
from workflows.engine.unit_of_work import UnitOfWork
from workflows.core.errors import ConcurrentChangeError, GuardFailedError
from workflows.core.times import utc_iso


@dataclass(frozen=True)
class Setting:
    """What every transition reads of the configuration: the calendar in force, the contacts,
    the local policy, and the renderer of notices."""
    config: Config
    calendars: Calendars
    contacts: Mapping[str, str]
    policy: Mapping[str, Any]
    render: Callable[..., Any]

    @classmethod
    def of(cls, config: Config, renderer: Callable[..., Any]) -> Setting:
        return cls(config, config.calendars(), config.contacts.model_dump(),
                   config.policy.model_dump(), renderer)

    @cached_property   # (read by every transition: read once)
    def nation(self) -> str:
        """England or Wales: the bank holidays, and which standards apply (DOMAIN.md, "Wales")."""
        return self.config.calendar.nation


@dataclass(slots=True)
class Change:
    """One decided transition, as apply writes it."""
    process: Process
    row: Transition                  # the row the machine took
    case: CaseRow                    # the case before it (version 0 for `open`)
    dest: str                        # the state it leads to
    actor: Actor
    on_behalf_of: Actor | None
    at: datetime
    facts: CaseFacts                 # with the event's data and effective date
    submitted: dict[str, Any]        # the log entry's data: what was submitted, nothing else
    engine: dict[str, Any]           # what the engine records of it: warnings, opened, derived
    record: dict[str, Any] | None    # what the case keeps of the trigger (None: nothing)
    timers: list[TimerRow] = field(default_factory=list)   # the case's timers before it
    fired: TimerRow | None = None    # the timer whose firing this is
    also_ends: list[tuple[int, str]] = field(default_factory=list)   # (timer id, status)
    also_starts: list[Deadline] = field(default_factory=list)
    now: datetime | None = None      # the business clock (`--now`) as the entry is keyed in


def apply(work: UnitOfWork, mode: Mode, setting: Setting, change: Change) -> Outcome:
    process, row, case, facts = change.process, change.row, change.case, change.facts
    opening = row.trigger == "open"
    dest = change.dest
    seq = case.version + 1

    # -- timers: the one firing, the ones the row cancels --------------------------------------
    pending = dict(facts.pending_timers)
    ended = list(change.also_ends)
    if change.fired is not None:
        ended.append((change.fired.id, "fired"))
        pending.pop(change.fired.name, None)
    cancels = row.cancels
    if cancels is None or cancels:
        for t in change.timers:
            if t.status == "pending" and t.name in pending and (cancels is None
                                                                 or t.name in cancels):
                ended.append((t.id, "cancelled"))
                del pending[t.name]

    # -- the case's record of the trigger, which the timers it starts may count from -----------
    records = case.records
    if change.record is not None:
        entry_record: dict[str, Any] = {"data": change.record,
                                        "effective_date": facts.effective_date.isoformat()}
        if change.engine.get("opened") or change.engine.get("derived"):
            entry_record["engine"] = {k: change.engine[k] for k in ("opened", "derived")
                                      if change.engine.get(k)}
        records = {**records, row.trigger: entry_record}
    if records is not facts.stored_records:
        # (what notices and their recipients read: the records with this transition's)
        facts.recorded(records)

    started: dict[str, Deadline] = {}
    for start in row.starting:
        timer = process.timer(start.name)
        calendar = mode.recorded_calendar(timer.name) or \
            calendar_for(timer, facts, setting.calendars)
        deadline = compute(timer, facts, calendar, setting.policy)
        if start.keep_due is not None:
            deadline = kept(deadline, start.keep_due(facts))
        started[start.name] = deadline
        pending[start.name] = deadline.due
    for deadline in change.also_starts:
        started[deadline.name] = deadline
        pending[deadline.name] = deadline.due

    superseded = None
    if row.supersedes:
        # The timer entry a late-keyed event overtook (DOMAIN.md, "Late-keyed events").
        overtaken = int(facts.event["superseded_seq"])
        superseded = next((t for t in change.timers if t.name == facts.event["timer"]
                           and t.ended_seq == overtaken and t.status == "fired"), None)

    erasure = None
    if row.erases:
        erasure = _erasure(work, case, change)

    # -- notices, rendered from the case as it stands after the transition ---------------------
    stored = []
    # The notices of the rules the entry is decided under (replay: as it was recorded).
    sending = [n for n in row.notices if n.sent_in(mode.edition)] if row.notices else None
    if sending:
        # The day the notice is read: its own date, or the day it is keyed in when later (a
        # letter never promises a date that has passed by then). Keyed in on the business
        # clock (`--now`, ahead of the real one in a simulation), that day is the clock's: it is
        # recorded with the entry, since replay cannot know the clock, only the recorded time.
        today = max(facts.effective_date, local_date(datetime.fromisoformat(work.recorded_at)))
        read_on = mode.read_on(change.now)
        if read_on is not None and read_on > today:
            today = read_on
            change.engine["read_on"] = read_on.isoformat()
        ctx = notices.context(process, case.id, dest, facts, pending, started, change.fired,
                              setting.contacts, superseded, today)
        stored = notices.render_all(case.id, seq, sending, ctx, facts, setting.render, mode,
                                    work.recorded_at)

    # -- the log entry, chained --------------------------------------------------------------------
    global_seq, global_prev = work.next_in_chain()
    data_text = jsontext.dumps(change.submitted)
    seal = mode.seal
    salt = seal.salt()
    effective_at = utc_iso(change.at)
    entry = LogEntry(
        global_seq=global_seq, case_id=case.id, seq=seq, trigger=row.trigger,
        source=None if opening else case.state, dest=dest, actor=change.actor.text,
        on_behalf_of=change.on_behalf_of.text if change.on_behalf_of else None,
        effective_at=effective_at, recorded_at=work.recorded_at, data=data_text,
        engine=jsontext.dumps(change.engine) if change.engine else "{}",
        data_salt=salt or None,
        data_sha256=seal.data(salt, data_text),
        notices_sha256=seal.notices(stored),
        hash_version=hashchain.CURRENT, prev_hash=case.last_hash, global_prev_hash=global_prev,
        hash="")
    entry.hash = seal.entry(entry)
    work.appended(global_seq, entry.hash)

    latest = effective_at if opening else max(case.last_effective_at, effective_at)
    if opening:
        work.store.insert_case(CaseRow(
            id=case.id, kind=process.kind, state=dest, version=seq, data=case.data,
            records=records, opened_at=effective_at, last_effective_at=latest,
            last_hash=entry.hash, updated_at=work.recorded_at))
    elif work.store.update_case(CaseChange(
            id=case.id, state=dest, version=seq, data=case.data, records=records,
            last_effective_at=latest, last_hash=entry.hash, updated_at=work.recorded_at,
            expected_version=case.version)) != 1:
        raise ConcurrentChangeError(
            f"case {case.id} changed while {row.trigger} was being applied; nothing was "
            "written: look at it again and retry", case=case.id, trigger=row.trigger,
            state=case.state)
    work.store.append_log(entry)
    for timer_id, status in ended:
        work.store.end_timer(timer_id, status, seq)
    if superseded is not None:
        work.store.supersede_timer(superseded.id)
    if started:
        work.store.start_timers([_timer_row(case.id, d, seq) for d in started.values()])
    if stored:
        work.store.store_notices(stored)
    if erasure is not None:
        work.store.erase(erasure)
    return Outcome(case.id, process.kind, dest, seq, row.trigger, change.at,
                   list(change.engine.get("warnings", ())))


def kept(deadline: Deadline, due: date) -> Deadline:
    """A deadline started again that keeps the due date it had (a review window after a
    withdrawn review), said so in its rule's words."""
    if due == deadline.due:
        return deadline
    return replace(deadline, due=due, fires_at=fires_at(due),
                   rule=f"{deadline.rule}; kept at {due}, its due date before the review")


def _timer_row(case_id: str, deadline: Deadline, seq: int) -> NewTimer:
    """A timer as stored: its rule as data and in words, and the calendar it was computed
    with, for explain and replay."""
    counted_on = deadline.counted_on
    return NewTimer(
        case_id=case_id, name=deadline.name, due=deadline.due.isoformat(),
        fires_at=utc_iso(deadline.fires_at), rule=deadline.rule, rule_kind=deadline.rule_kind,
        rule_n=deadline.rule_n, calendar=deadline.calendar,
        counted_from=deadline.counted_from.isoformat(), nation=counted_on.nation,
        closures=counted_on.closures_json(), school=counted_on.school,
        school_closures=counted_on.school_closures_json(), started_seq=seq)


def _erasure(work: UnitOfWork, case: CaseRow, change: Change) -> Erasure:
    """What erasing the case writes: every personal field reads `erased`, keys kept. An entry
    from before hash version 2 covers its data itself: the erasing entry records a digest of the
    rest of it (`legacy`), against which `audit verify` checks it from then on."""
    waiting = [n.id for n in work.store.notices_of(case.id) if n.status == "pending"]
    if waiting:
        raise GuardFailedError(
            f"erase_personal_data refused on case {case.id}: notice {waiting[0]} is not "
            "delivered yet (erasing it would lose it); let the daemon deliver it, or run "
            "`ast-engine deliver`, then erase", case=case.id, trigger="erase_personal_data",
            state=case.state)
    legacy = []
    log_data: dict[int, str] = {}
    for entry in work.store.log_of(case.id):
        if entry.erased or entry.actor == "system":
            continue   # the engine's own entries hold no one's personal data
        log_data[entry.seq] = jsontext.dumps(_erased(jsontext.loads(entry.data)))
        if entry.hash_version == 1:
            legacy.append({"seq": entry.seq, "digest": hashchain.legacy_digest(entry)})
    if legacy:
        change.engine["legacy"] = legacy
    records = {t: {**r, "data": _erased(r["data"])} for t, r in case.records.items()}
    return Erasure(case_id=case.id, erased_at=work.recorded_at, case_data=_erased(case.data),
                   records=records, log_data=log_data)


def _erased(value: Any) -> Any:
    """A value with every field it holds reading `erased` (its keys kept: they say what kind of
    thing was there, not who)."""
    if isinstance(value, dict):
        return {k: ERASED for k in value}
    return ERASED
