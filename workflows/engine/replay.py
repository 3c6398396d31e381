"""Replay: rebuild a case from its transition log alone, with the current code, in a scratch
in-memory database, and (with --verify) compare the result with what is stored: the state and
version, the timers (name, due date, status) and the notices (template, hash of the rendered
text). A difference names the case, the first log entry where they part, and what differs.

Each entry is re-applied as it was recorded: the same actor, data and effective time, the same
recorded time. Guards and warnings are not decided again (the log records what was decided),
and effects on linked cases are left to those cases' own logs; reading another case (an
appointee's address) reads the database being replayed.
"""
from __future__ import annotations

import gc
import multiprocessing
from bisect import bisect_right
import os
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from operator import attrgetter
from typing import Any, Callable, Iterable, Mapping, Sequence

from notifications.render import check_all, render
from states import PROCESSES
from storage import jsontext, queries
from storage.db import Database
from storage.memory_store import MemoryCaseStore
from storage.queries import CaseDigest, NoticeDigest, StoredCase, TimerDigest, case_ids
from storage.rows import CaseRow, LogEntry, NoticeRow, StoredEntry, TimerRow
from workflows.core.calendar import WorkingCalendar
from workflows.core.config import Config
from workflows.core.deadlines import recorded_calendar
from workflows.core.errors import EngineError
from workflows.engine import steps
from workflows.engine.actors import SYSTEM, Actor
from workflows.engine.apply import Setting
from workflows.engine.modes import DatabaseReader, Replay
from workflows.engine.outcome import Outcome
from workflows.engine.request import Request, Step
from workflows.engine.unit_of_work import UnitOfWork

__all__ = ["Replayer", "CaseReplay", "replay_many", "case_ids"]

BATCH = 200   # cases per round of queries (and at most per task for a worker): few round
              # trips, bounded memory, progress every few hundred cases
TASK_MIN = 20


@dataclass
class CaseReplay:
    case: str
    kind: str
    entries: int
    state: str | None = None
    version: int = 0
    seq: int | None = None           # the first log entry where replay and storage part
    differences: list[str] = field(default_factory=list)
    erased: bool = False             # its personal data was erased: nothing to rebuild it from

    @property
    def ok(self) -> bool:
        return not self.differences

    def as_json(self) -> dict[str, Any]:
        return {"case": self.case, "kind": self.kind, "entries": self.entries,
                "state": self.state, "version": self.version, "ok": self.ok,
                "erased": self.erased, "first_difference_at_seq": self.seq,
                "differences": self.differences}


@lru_cache(maxsize=4096)
def _actor(text: str | None) -> Actor | None:
    if text is None:
        return None
    return SYSTEM if text == "system" else Actor.parse(text)


@lru_cache(maxsize=1024)
def _calendar_as_stored(nation: str, closures: str, school: str | None, school_closures: str
                        ) -> WorkingCalendar:
    return recorded_calendar(nation, jsontext.loads(closures), school,
                             jsontext.loads(school_closures))


def _stored_calendar(t: TimerDigest) -> WorkingCalendar:
    return _calendar_as_stored(t.nation, t.closures, t.school, t.school_closures)


class Replayer:
    def __init__(self, source: Database, config: Config | None = None,
                 recorded_calendars: bool = True, renderer: Callable[..., Any] = render):
        """`recorded_calendars`: each entry that started timers is re-applied with the calendar
        (nation, closure days) stored with them, as it was then; a what-if passes False to
        apply the given configuration's calendars throughout."""
        self.source, self.config = source, config or Config()
        self.recorded_calendars = recorded_calendars
        self.memory = MemoryCaseStore()
        self.reader = DatabaseReader(source)
        if renderer is render:
            check_all()   # a template that does not parse is found before the first case
        self.setting = Setting.of(self.config, renderer)
        # Each entry is re-applied under the rules it was decided under: the editions, and
        # the global seq each applies from (both rising: an edition applies from its adoption).
        editions = queries.rule_editions(source)
        self.editions = [edition for edition, _ in editions]
        self.edition_starts = [first for _, first in editions]

    def edition_of(self, entry: StoredEntry) -> int:
        """The edition of the rules `entry` was decided under (states/editions.py): the latest
        that applies from its place in the global chain, else the first."""
        found = bisect_right(self.edition_starts, entry.global_seq)
        return self.editions[found - 1] if found else 1

    def rebuilt(self, case_id: str) -> tuple[CaseRow | None, list[LogEntry], list[TimerRow],
                                             list[NoticeRow]]:
        m = self.memory
        return (m.case(case_id), m.log.get(case_id, []), m.timers.get(case_id, []),
                m.notices.get(case_id, []))

    def replay(self, case_id: str, verify: bool = True) -> CaseReplay:
        stored = queries.stored_cases(self.source, [case_id]).get(case_id)
        if stored is None:
            raise EngineError(f"no case {case_id!r}")
        return self.replay_stored(stored, verify)

    def replay_stored(self, stored: StoredCase, verify: bool = True) -> CaseReplay:
        if stored.case.erased_at:
            # Its personal data is gone by design (DOMAIN.md, "Personal data"): the log that
            # would rebuild it reads `erased`. Its chains are what `audit verify` still checks.
            return CaseReplay(stored.case.id, stored.case.kind, len(stored.log),
                              stored.case.state, stored.case.version, erased=True)
        if not verify:
            return self._reapply(stored, None)
        # Most cases replay exactly as stored: re-apply the whole log, then compare every
        # row at once (the prefilter). Only a case that parts from its log is replayed again
        # entry by entry (the comparison), to name the first entry where they part.
        result = self._reapply(stored, None)
        if result.ok and self.matches_as_stored(stored):
            return result
        self.memory.forget(stored.case.id)
        return self.compared(stored)

    def compared(self, stored: StoredCase) -> CaseReplay:
        """THE comparison: `stored`'s log re-applied entry by entry, each compared with what
        the stored entry did, to the first difference; then the case as a whole."""
        return self._reapply(stored, _by_seq(stored.timers, stored.notices))

    def _reapply(self, stored: StoredCase, by_seq: dict[int, Did] | None) -> CaseReplay:
        """Re-apply `stored`'s log; with `by_seq` (what each stored entry did), compare after
        each entry and stop at the first difference."""
        case, log, timers, notices = stored.case, stored.log, stored.timers, stored.notices
        case_id = case.id
        result = CaseReplay(case_id, case.kind, len(log))
        versions = {n.id: n.template_sha256 for n in notices}
        calendars: dict[int, dict[str, WorkingCalendar]] = {}
        if self.recorded_calendars:
            for t in timers:
                calendars.setdefault(t.started_seq, {})[t.name] = _stored_calendar(t)
        for entry in log:
            data = jsontext.loads(entry.data)
            mode = Replay(self.reader, _engine_record(entry, data, case.kind), versions,
                          calendars.get(entry.seq, _NONE), self.edition_of(entry), entry.dest)
            try:
                reapply(self.memory, mode, self.setting, case.kind, entry, data)
            except Exception as err:   # a refusal now is itself the difference to report
                result.seq = entry.seq
                result.differences.append(
                    f"entry {entry.seq} ({entry.trigger}) cannot be re-applied: "
                    f"{type(err).__name__}: {err}")
                break
            if by_seq is not None:
                problem = self.compare_entry(case_id, entry, by_seq)
                if problem:
                    result.seq = entry.seq
                    result.differences.append(f"entry {entry.seq} ({entry.trigger}): {problem}")
                    break
        now, _, now_timers, now_notices = self.rebuilt(case_id)
        result.state, result.version = (now.state, now.version) if now else (None, 0)
        if by_seq is not None and result.ok:
            result.differences += self.compare_case(case, timers, notices, now, now_timers,
                                                    now_notices) if now is not None \
                else ["replay rebuilt no case from the log"]
        return result

    def matches_as_stored(self, stored: StoredCase) -> bool:
        """The prefilter, after the whole log was re-applied: whether the rebuilt case is the
        stored one in every column the comparison (`compared`) reads, and in the seqs that
        tie each timer and notice to its entry. It compares those columns and more, so when
        it finds no difference the comparison would find none either; when it finds one,
        the comparison runs and names it (tests/engine/test_replay_comparison.py: they agree on a
        log corrupted in each column)."""
        now, log, timers, notices = self.rebuilt(stored.case.id)
        return (now is not None and (now.state, now.version) ==
                (stored.case.state, stored.case.version)
                and len(log) == len(stored.log)
                and all(map(_same_entry, log, stored.log))
                and list(map(_TIMER_COLUMNS, timers)) == list(map(_TIMER_COLUMNS, stored.timers))
                and list(map(_NOTICE_COLUMNS, notices)) ==
                list(map(_NOTICE_COLUMNS, stored.notices)))

    def compare_entry(self, case_id: str, entry: StoredEntry, stored_by_seq: dict[int, Did]
                      ) -> str | None:
        """The first difference at `entry` between what is stored (grouped by `_by_seq`) and
        what replaying it wrote, or None."""
        memory = self.memory
        log = memory.log.get(case_id)
        mine = log[-1] if log and log[-1].seq == entry.seq else None
        if mine is None:
            return "replay wrote no log entry"
        if not _same_entry(mine, entry):
            for column in ("trigger", "source", "dest", "effective_at", "data", "engine"):
                if getattr(mine, column) != getattr(entry, column):
                    return (f"{column} differs: stored {getattr(entry, column)!r}, "
                            f"replayed {getattr(mine, column)!r}")
        now_timers, now_notices = memory.timers.get(case_id, ()), memory.notices.get(case_id, ())
        seq = entry.seq
        started, ended, sent = stored_by_seq.get(seq, _NOTHING)
        now_started = [(t.name, t.due) for t in now_timers if t.started_seq == seq]
        if started != now_started:
            return f"timers started differ: stored {started}, replayed {now_started}"
        now_ended = [(t.name, t.status) for t in now_timers if t.ended_seq == seq]
        if ended != now_ended:
            return f"timers ended differ: stored {ended}, replayed {now_ended}"
        now_sent = [(n.template, n.body_sha256) for n in now_notices if n.log_seq == seq]
        if sent != now_sent:
            if [t for t, _ in sent] != [t for t, _ in now_sent]:
                return (f"notices differ: stored {[t for t, _ in sent]}, replayed "
                        f"{[t for t, _ in now_sent]}")
            changed = [f"{t} (sha256 {h[:12]}... stored, {h2[:12]}... replayed)"
                       for (t, h), (_, h2) in zip(sent, now_sent) if h != h2]
            return f"the rendered text of {', '.join(changed)} differs"
        return None

    @staticmethod
    def compare_case(case: CaseDigest, timers: Sequence[TimerDigest], notices: Sequence[NoticeDigest],
                     now: CaseRow, now_timers: Sequence[TimerRow],
                     now_notices: Sequence[NoticeRow]) -> list[str]:
        out = []
        if (case.state, case.version) != (now.state, now.version):
            out.append(f"stored state {case.state} v{case.version}, replayed {now.state} "
                       f"v{now.version}")
        mine = [(t.name, t.due, t.status) for t in timers]
        theirs = [(t.name, t.due, t.status) for t in now_timers]
        if mine != theirs:
            out.append(f"timers differ: stored {mine}, replayed {theirs}")
        if [(n.template, n.body_sha256) for n in notices] != \
                [(n.template, n.body_sha256) for n in now_notices]:
            out.append("notices differ in template or rendered text")
        return out


# What one stored entry did: timers started (name, due), timers ended (name, status), notices
# sent (template, sha256 of the body).
Did = tuple[list[tuple[str, str]], list[tuple[str, str]], list[tuple[str, str]]]
_NOTHING: Did = ([], [], [])
_NONE: dict[str, WorkingCalendar] = {}
# The columns replay compares, named once for the prefilter and the comparison alike (the
# comparison reads them grouped by the entry that wrote them: `_by_seq`, `compare_entry`).
_LOG_COLUMNS = attrgetter("seq", "trigger", "source", "dest", "effective_at", "data")
_TIMER_COLUMNS = attrgetter("name", "due", "status", "started_seq", "ended_seq")
_NOTICE_COLUMNS = attrgetter("log_seq", "template", "body_sha256")


def _same_entry(replayed: LogEntry | StoredEntry, stored: LogEntry | StoredEntry) -> bool:
    """Whether a replayed log entry is the stored one in every column replay compares. An
    entry written before migration 4 has no `engine` column (it kept the engine's record in
    `data`, which is compared)."""
    return (_LOG_COLUMNS(replayed) == _LOG_COLUMNS(stored)
            and (stored.engine is None or replayed.engine == stored.engine))


def reapply(memory: MemoryCaseStore, mode: Replay, setting: Setting, kind: str,
            entry: StoredEntry, data: Mapping[str, Any]) -> Outcome | None:
    """Re-apply one logged entry on `memory`, as its own unit of work, at its recorded times,
    by the same steps as live (workflows/engine/steps.py) in the replay mode. None for a
    `deadline_recomputed` that changes nothing under the calendar in use."""
    at = datetime.fromisoformat(entry.effective_at)
    request = Request(case=entry.case_id, trigger=entry.trigger,
                      actor=_actor(entry.actor) or SYSTEM, on_behalf_of=_actor(entry.on_behalf_of),
                      data=data, effective_at=at)
    with UnitOfWork(memory.transaction, entry.recorded_at) as work:
        step = Step(work, mode, setting, at)
        if entry.trigger == "open":
            return steps.open_case(step, PROCESSES[kind], request)
        if entry.trigger == "deadline_recomputed" or entry.trigger.startswith("timer:"):
            name = data["timer"] if entry.trigger == "deadline_recomputed" \
                else entry.trigger.removeprefix("timer:")
            timer = work.store.pending_timer_named(entry.case_id, name)
            if timer is None:
                raise EngineError(f"case {entry.case_id}: no pending {name} for "
                                  f"{entry.trigger}")
            if entry.trigger.startswith("timer:"):
                return steps.fire_timer(step, timer, logged_at=at)
            return steps.recompute(step, timer, request.actor)
        return steps.fire(step, request, internal=entry.trigger == "timer_superseded")


def _engine_record(entry: StoredEntry, data: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """What the engine recorded about a stored entry. An entry from before migration 4 kept
    it inside `data` (the warnings, the id of a case the trigger opened): read it from there,
    leaving `data` as stored, so that replay writes it again as it was."""
    if entry.engine is not None:
        return {} if entry.engine == "{}" else jsontext.loads(entry.engine)
    record: dict[str, Any] = {}
    warnings = data.get("warnings")
    if isinstance(warnings, list) and all(isinstance(w, str) for w in warnings):
        record["warnings"] = warnings
    opened = {effect.kind: data[effect.kind] for row in PROCESSES[kind].rows(entry.trigger)
              for effect in row.opens_linked if isinstance(data.get(effect.kind), str)}
    if opened:
        record["opened"] = opened
    return record


def _by_seq(timers: list[TimerDigest], notices: list[NoticeDigest]
            ) -> dict[int, Did]:
    """What each log entry of a stored case did: timers started, timers ended, notices."""
    out: dict[int, Did] = {}
    for t in timers:
        out.setdefault(t.started_seq, ([], [], []))[0].append((t.name, t.due))
        if t.ended_seq is not None:
            # A superseded timer was `fired` by the entry it ended in; the later
            # timer_superseded entry marked it so (DOMAIN.md, "Late-keyed events").
            status = "fired" if t.status == "superseded" else t.status
            out.setdefault(t.ended_seq, ([], [], []))[1].append((t.name, status))
    for n in notices:
        out.setdefault(n.log_seq, ([], [], []))[2].append((n.template, n.body_sha256))
    return out


def replay_many(db: Database, config: Config, ids: Iterable[str], verify: bool,
                on_progress: Callable[[int, int, CaseReplay], None] = lambda *a: None,
                workers: int | None = None, batch: int = BATCH) -> list[CaseReplay]:
    """Replay `ids` in batches, in order. Cases are independent (each is rebuilt from its own
    log, and reads of other cases go to `db`), so batches run in `workers` processes, by
    default one per CPU this process may use; a single batch runs here."""
    ids = list(ids)
    batches = [ids[first:first + batch] for first in range(0, len(ids), batch)]
    workers = min(workers or len(os.sched_getaffinity(0)), len(batches))
    results: list[CaseReplay] = []
    if workers <= 1:
        replayer = Replayer(db, config)
        for chunk in batches:
            _collect(results, _replay_batch(replayer, db, chunk, verify), len(ids), on_progress)
        return results
    # Tasks small enough that at the end no worker waits long for the last one, large enough
    # that the four queries per task stay cheap.
    size = min(batch, max(TASK_MIN, len(ids) // (workers * 16)))
    tasks = [(ids[first:first + size], verify) for first in range(0, len(ids), size)]
    # fork: each worker starts with the current code and configuration already loaded, and
    # with what every replay loads first loaded once here: the templates, and the bank
    # holidays (their first lookup takes 0.1-0.4 s). It opens its own connections
    # (`_worker_start`), never the parent's.
    check_all()
    config.working_calendar().bank_holiday(date(2000, 1, 3))
    context = multiprocessing.get_context(
        "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    with context.Pool(workers, initializer=_worker_start, initargs=(db.url, config)) as pool:
        for part in pool.imap(_worker_replay, tasks):
            _collect(results, part, len(ids), on_progress)
    return results


def _replay_batch(replayer: Replayer, db: Database, ids: list[str], verify: bool
                  ) -> list[CaseReplay]:
    stored = queries.stored_cases(db, ids)
    out = []
    for case_id in ids:
        if case_id not in stored:
            raise EngineError(f"no case {case_id!r}")
        out.append(replayer.replay_stored(stored[case_id], verify))
        replayer.memory.forget(case_id)   # compared: only the current case is kept
    return out


def _collect(results: list[CaseReplay], part: list[CaseReplay], total: int,
             on_progress: Callable[[int, int, CaseReplay], None]) -> None:
    for result in part:
        results.append(result)
        on_progress(len(results), total, result)


_worker: tuple[Database, Replayer] | None = None


def _worker_start(url: str, config: Config) -> None:
    global _worker
    db = Database(url)
    _worker = (db, Replayer(db, config))
    # What the worker has now (the code, the templates, the calendars) lives as long as it
    # does: the garbage collector need not walk it again on every full collection.
    gc.freeze()


def _worker_replay(task: tuple[list[str], bool]) -> list[CaseReplay]:
    assert _worker is not None, "a worker replays only after _worker_start"
    db, replayer = _worker
    ids, verify = task
    return _replay_batch(replayer, db, ids, verify)
