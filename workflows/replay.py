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

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Callable, Iterable

from storage.db import Database
from storage.migrations import migrate
from storage.statements import Statements
from workflows.calendar import WorkingCalendar
from workflows.clock import FixedClock
from workflows.config import Config
from workflows.engine import SYSTEM, Actor, Engine
from workflows.errors import EngineError

LOG = ("SELECT seq, trigger, source, dest, actor, on_behalf_of, effective_at, recorded_at, data "
       "FROM transition_log WHERE case_id = :id ORDER BY seq")
TIMERS = ("SELECT name, due, status, started_seq, ended_seq, nation, closures FROM timers "
          "WHERE case_id = :id ORDER BY id")
NOTICES = ("SELECT template, body_sha256, log_seq FROM notices WHERE case_id = :id "
           "ORDER BY log_seq, id")


@dataclass
class CaseReplay:
    case: str
    kind: str
    entries: int
    state: str | None = None
    version: int = 0
    seq: int | None = None           # the first log entry where replay and storage part
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def as_json(self) -> dict:
        return {"case": self.case, "kind": self.kind, "entries": self.entries,
                "state": self.state, "version": self.version, "ok": self.ok,
                "first_difference_at_seq": self.seq, "differences": self.differences}


def _actor(text: str | None) -> Actor | None:
    if text is None:
        return None
    return SYSTEM if text == "system" else Actor.parse(text)


class Replayer:
    def __init__(self, source: Database, config: Config | None = None,
                 recorded_calendars: bool = True, **engine_options):
        """`recorded_calendars`: each entry that started timers is re-applied with the calendar
        (nation, closure days) stored with them, as it was then; a what-if passes False to
        apply the given configuration's calendar throughout."""
        self.source, self.config = source, config or Config()
        self.recorded_calendars = recorded_calendars
        self.scratch = Database("sqlite://")
        migrate(self.scratch, "1970-01-01T00:00:00+00:00")
        self.clock = FixedClock(datetime.fromisoformat("1970-01-01T00:00:00+00:00"))
        self.recorder = FixedClock(self.clock.at)
        self.engine = Engine(self.scratch, self.config, clock=self.clock, recorder=self.recorder,
                             new_id=lambda prefix: "", replaying=True, lookup_db=source,
                             **engine_options)

    def stored(self, case_id: str) -> tuple:
        with self.source.read() as conn:
            q = Statements(self.source, conn)
            case = q.one("SELECT id, kind, state, version FROM cases WHERE id = :id",
                         {"id": case_id})
            if case is None:
                return None, [], [], []
            return case, q.all(LOG, {"id": case_id}), q.all(TIMERS, {"id": case_id}), \
                q.all(NOTICES, {"id": case_id})

    def rebuilt(self, case_id: str) -> tuple:
        with self.scratch.read() as conn:
            q = Statements(self.scratch, conn)
            case = q.one("SELECT id, kind, state, version FROM cases WHERE id = :id",
                         {"id": case_id})
            return case, q.all(LOG, {"id": case_id}), q.all(TIMERS, {"id": case_id}), \
                q.all(NOTICES, {"id": case_id})

    def replay(self, case_id: str, verify: bool = True) -> CaseReplay:
        case, log, timers, notices = self.stored(case_id)
        if case is None:
            raise EngineError(f"no case {case_id!r}")
        result = CaseReplay(case_id, case.kind, len(log))
        in_force = self.engine.calendar
        used = {t.started_seq: WorkingCalendar(t.nation, frozenset(
            date.fromisoformat(d) for d in json.loads(t.closures))) for t in timers}
        for entry in log:
            if self.recorded_calendars:
                self.engine.calendar = used.get(entry.seq, in_force)
            self.clock.set(datetime.fromisoformat(entry.effective_at))
            self.recorder.set(datetime.fromisoformat(entry.recorded_at))
            data = json.loads(entry.data)
            warnings = data.pop("warnings", [])   # as decided when recorded
            try:
                self.engine.replay_entry(case_id, case.kind, entry.trigger, _actor(entry.actor),
                                         _actor(entry.on_behalf_of), data,
                                         datetime.fromisoformat(entry.effective_at), warnings)
            except Exception as err:   # a refusal now is itself the difference to report
                result.seq = entry.seq
                result.differences.append(
                    f"entry {entry.seq} ({entry.trigger}) cannot be re-applied: "
                    f"{type(err).__name__}: {err}")
                break
            if verify:
                problem = self.compare_entry(case_id, entry, timers, notices)
                if problem:
                    result.seq = entry.seq
                    result.differences.append(f"entry {entry.seq} ({entry.trigger}): {problem}")
                    break
        self.engine.calendar = in_force
        now, _, now_timers, now_notices = self.rebuilt(case_id)
        result.state, result.version = (now.state, now.version) if now else (None, 0)
        if verify and result.ok:
            result.differences += self.compare_case(case, timers, notices, now, now_timers,
                                                    now_notices)
        return result

    def compare_entry(self, case_id: str, entry, timers, notices) -> str | None:
        _, log, now_timers, now_notices = self.rebuilt(case_id)
        mine = next((e for e in log if e.seq == entry.seq), None)
        if mine is None:
            return "replay wrote no log entry"
        for column in ("trigger", "source", "dest", "effective_at", "data"):
            if getattr(mine, column) != getattr(entry, column):
                return (f"{column} differs: stored {getattr(entry, column)!r}, "
                        f"replayed {getattr(mine, column)!r}")
        seq = entry.seq
        started = [(t.name, t.due) for t in timers if t.started_seq == seq]
        now_started = [(t.name, t.due) for t in now_timers if t.started_seq == seq]
        if started != now_started:
            return f"timers started differ: stored {started}, replayed {now_started}"
        ended = [(t.name, t.status) for t in timers if t.ended_seq == seq]
        now_ended = [(t.name, t.status) for t in now_timers if t.ended_seq == seq]
        if ended != now_ended:
            return f"timers ended differ: stored {ended}, replayed {now_ended}"
        sent = [(n.template, n.body_sha256) for n in notices if n.log_seq == seq]
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
    def compare_case(case, timers, notices, now, now_timers, now_notices) -> list[str]:
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

    def close(self) -> None:
        self.scratch.dispose()


def case_ids(db: Database) -> list[str]:
    with db.read() as conn:
        return [r.id for r in Statements(db, conn).all(
            "SELECT id FROM cases ORDER BY opened_at, id", {})]


def replay_many(db: Database, config: Config, ids: Iterable[str], verify: bool,
                on_progress: Callable[[int, int, CaseReplay], None] = lambda *a: None
                ) -> list[CaseReplay]:
    ids = list(ids)
    replayer = Replayer(db, config)
    try:
        results = []
        for n, case_id in enumerate(ids, start=1):
            results.append(replayer.replay(case_id, verify))
            on_progress(n, len(ids), results[-1])
        return results
    finally:
        replayer.close()
