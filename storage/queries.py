"""The read queries behind the commands (`show`, `list`, `status`, `notices`, `audit`,
`export-person`), replay and the timers the daemon fires, returning typed rows or the JSON shapes
of shared/CLI.md. Each is one short read transaction through storage/db.py, so a driver error
arrives as one of storage's own."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator, Sequence

from storage import daemons, hashchain
from storage.db import Database
from storage.rows import CaseRow, LogEntry, NoticeRow, StoredEntry, TimerRow, row_from
from storage.sql_store import (CASE, CASE_COLUMNS, CHAIN_HEAD, LOG_COLUMNS, NOTICE_COLUMNS,
                               TIMER_COLUMNS, case_row as _case_row, cases_of_kind,
                               log_entry, notice_row, select_list)
from storage.statements import Statements

CHUNK = 500   # ids per `IN (...)` list


# -- cases and timers, as the engine reads them outside a unit of work --------------------------

def case_row(db: Database, case_id: str) -> CaseRow | None:
    with db.read() as conn:
        row = Statements(db, conn).one(CASE, {"id": case_id})
    return _case_row(row) if row else None


def case_rows_of_kind(db: Database, kind: str, state: str | None = None,
                      email: str | None = None) -> list[CaseRow]:
    with db.read() as conn:
        return cases_of_kind(Statements(db, conn), db.dialect, kind, state, email)


def case_exists(db: Database, case_id: str) -> bool:
    with db.read() as conn:
        return Statements(db, conn).one("SELECT 1 FROM cases WHERE id = :id",
                                        {"id": case_id}) is not None


def due_timers(db: Database, now: str) -> list[TimerRow]:
    with db.read() as conn:
        return [row_from(TimerRow, r) for r in Statements(db, conn).all(
            f"SELECT {TIMER_COLUMNS} FROM timers WHERE status = 'pending' AND fires_at <= :now "
            "ORDER BY fires_at, id", {"now": now})]


def next_fires_at(db: Database) -> datetime | None:
    with db.read() as conn:
        row = Statements(db, conn).one(
            "SELECT MIN(fires_at) FROM timers WHERE status = 'pending'", {})
    return datetime.fromisoformat(row[0]) if row and row[0] else None


def pending_timers_with_kind(db: Database) -> list[tuple[TimerRow, str]]:
    with db.read() as conn:
        rows = Statements(db, conn).all(
            f"SELECT {select_list(TimerRow, 't')}, c.kind FROM timers t "
            "JOIN cases c ON c.id = t.case_id "
            "WHERE t.status = 'pending' ORDER BY t.fires_at, t.id", {})
    return [(row_from(TimerRow, r[:-1]), r[-1]) for r in rows]


def timer_attempt_failed(db: Database, timer_id: int, error: str, max_attempts: int) -> str:
    """Count a failed attempt to fire a timer, in a transaction of its own (the attempt's was
    rolled back); after `max_attempts` it is `failed`. Returns its status."""
    with db.write() as conn:
        q = Statements(db, conn)
        q.run("UPDATE timers SET attempts = attempts + 1, last_error = :error, status = CASE "
              "WHEN attempts + 1 >= :most THEN 'failed' ELSE status END "
              "WHERE id = :id AND status = 'pending'",
              {"id": timer_id, "error": error, "most": max_attempts})
        row = q.one("SELECT status FROM timers WHERE id = :id", {"id": timer_id})
    return row[0] if row else ""


def retry_timers(db: Database, timer_id: int | None) -> int:
    """Make failed timers (one, or all) pending again, their attempts counted afresh."""
    with db.write() as conn:
        return Statements(db, conn).run(
            "UPDATE timers SET status = 'pending', attempts = 0 WHERE status = 'failed'"
            + ("" if timer_id is None else " AND id = :id"),
            {} if timer_id is None else {"id": timer_id})


# -- show ------------------------------------------------------------------------------------------

def log_json(e: LogEntry) -> dict[str, Any]:
    """A log entry as `show` and `audit export` give it."""
    return {"seq": e.seq, "trigger": e.trigger, "source": e.source, "dest": e.dest,
            "actor": e.actor, "for": e.on_behalf_of, "effective_at": e.effective_at,
            "recorded_at": e.recorded_at, "data": json.loads(e.data),
            "engine": engine_record(e.engine), "erased": e.erased, "hash": e.hash}


def timer_json(t: TimerRow) -> dict[str, Any]:
    return {"name": t.name, "due": t.due, "fires_at": t.fires_at, "status": t.status,
            "rule": t.rule, "calendar": t.calendar, "started_seq": t.started_seq,
            "ended_seq": None if t.status == "pending" else t.ended_seq,
            "attempts": t.attempts, "last_error": t.last_error}


def notice_json(n: NoticeRow) -> dict[str, Any]:
    return {"id": n.id, "template": n.template, "to": list(n.recipients), "subject": n.subject,
            "status": n.status, "seq": n.log_seq}


def case_detail(db: Database, case_id: str, as_of: str | None = None,
                version: int | None = None) -> dict[str, Any] | None:
    """One case as `show` prints it; with `as_of` (a UTC instant), as it stood then: its state
    after the last entry effective by then, the timers pending then, the notices sent by then.
    With `version`, as it stood just after that entry (what one API request made of it)."""
    with db.read() as conn:
        q = Statements(db, conn)
        row = q.one(CASE, {"id": case_id})
        if row is None:
            return None
        case = _case_row(row)
        log = [log_entry(r) for r in q.all(f"SELECT {LOG_COLUMNS} FROM transition_log WHERE "
                                           "case_id = :id ORDER BY seq", {"id": case_id})]
        timers = [row_from(TimerRow, r) for r in q.all(f"SELECT {TIMER_COLUMNS} FROM timers WHERE "
                                              "case_id = :id ORDER BY id", {"id": case_id})]
        notices = [notice_row(r) for r in q.all(f"SELECT {NOTICE_COLUMNS} FROM notices WHERE "
                                                "case_id = :id ORDER BY log_seq, id",
                                                {"id": case_id})]
    state: str | None = case.state
    upto = version
    version, records = case.version, case.records
    shown = [timer_json(t) for t in timers]
    if as_of is not None or (upto is not None and upto < case.version):
        log = [e for e in log if (as_of is None or e.effective_at <= as_of)
               and (upto is None or e.seq <= upto)]
        version = log[-1].seq if log else 0
        state = log[-1].dest if log else None
        shown = [{**timer_json(t), "status": "pending",
                  "ended_seq": None} if t.ended_seq is None or t.ended_seq > version
                 else timer_json(t) for t in timers if t.started_seq <= version]
        notices = [n for n in notices if n.log_seq <= version]
        logged = {e.trigger for e in log}
        records = {t: r for t, r in records.items() if t in logged}
    return {
        "case": case.id, "kind": case.kind, "state": state, "version": version,
        **({"as_of": as_of} if as_of else {}),
        "data": case.data, "records": records,
        "erased_at": case.erased_at,
        "timers": shown,
        "log": [log_json(e) for e in log],
        "notices": [notice_json(n) for n in notices],
    }


def case_timers(db: Database, case_id: str) -> list[TimerRow]:
    with db.read() as conn:
        return [row_from(TimerRow, r) for r in Statements(db, conn).all(
            f"SELECT {TIMER_COLUMNS} FROM timers WHERE case_id = :id ORDER BY id",
            {"id": case_id})]


# -- list, notices, status -----------------------------------------------------------------------

def list_cases(db: Database, kind: str | None = None, state: str | None = None,
               overdue_at: str | None = None, search: str | None = None) -> list[dict[str, Any]]:
    """Cases in the order they were opened; `search` keeps those whose candidate's name or
    email, school or case id holds that text, in any case of letters."""
    from storage.console import matches, search_fields
    where, params = _where([
        ("c.kind = :kind", "kind", kind), ("c.state = :state", "state", state),
        ("EXISTS (SELECT 1 FROM timers o WHERE o.case_id = c.id AND o.status = 'pending' "
         "AND o.fires_at <= :now)", "now", overdue_at)])
    sql = ("SELECT c.id, c.kind, c.state, c.version, c.opened_at, c.data, c.records, "
           "(SELECT MIN(t.due) FROM timers t WHERE t.case_id = c.id AND t.status = 'pending') "
           "AS next_due, (SELECT COUNT(*) FROM timers f WHERE f.case_id = c.id AND "
           "f.status = 'failed') AS failed_timers, (SELECT COUNT(*) FROM timers s WHERE "
           "s.case_id = c.id AND s.status = 'superseded') AS superseded_timers "
           f"FROM cases c{where} ORDER BY c.opened_at, c.id")
    with db.read() as conn:
        rows = Statements(db, conn).named(sql, params)
    found = []
    for r in rows:
        # The names a person knows the case by, as the console's search shows them.
        names = search_fields(r.id, r.kind, json.loads(r.data), json.loads(r.records or "{}"))
        if search and not matches(search, names["haystack"]):
            continue
        found.append({"case": r.id, "kind": r.kind, "state": r.state, "version": r.version,
                      "name": names["person"], "school": names["school"],
                      "opened_at": r.opened_at, "next_due": r.next_due,
                      "failed_timers": r.failed_timers, "superseded_timers": r.superseded_timers})
    return found


def _where(clauses: list[tuple[str, str, object]]) -> tuple[str, dict[str, object]]:
    """` WHERE a AND b` of the clauses whose value was given, with their parameters."""
    used = [(clause, name, value) for clause, name, value in clauses if value]
    return ((" WHERE " + " AND ".join(c for c, _, _ in used)) if used else "",
            {name: value for _, name, value in used})


def notice_list(db: Database, case_id: str | None = None, status: str | None = None
                ) -> list[dict[str, Any]]:
    where, params = _where([("case_id = :case_id", "case_id", case_id),
                            ("status = :status", "status", status)])
    sql = (f"SELECT {NOTICE_COLUMNS} FROM notices{where} ORDER BY created_at, id")
    with db.read() as conn:
        rows = [notice_row(r) for r in Statements(db, conn).all(sql, params)]
    return [{"id": n.id, "case": n.case_id, "template": n.template, "to": list(n.recipients),
             "subject": n.subject, "status": n.status, "attempts": n.attempts,
             "last_error": n.last_error, "created_at": n.created_at, "sent_at": n.sent_at,
             "next_attempt_at": n.next_attempt_at} for n in rows]


def notice_count(db: Database) -> int:
    with db.read() as conn:
        row = Statements(db, conn).one("SELECT COUNT(*) FROM notices", {})
    return int(row[0]) if row else 0


def status(db: Database, now: str, real_now: str | None = None, tick_seconds: float = 60,
           heartbeat_limit: float = 60) -> dict[str, Any]:
    """What `status` reports. `now` is the business clock (which timers are overdue);
    `real_now` the real one (how old the daemons' heartbeats are: a daemon is alive while its
    row is open and its heartbeat younger than `heartbeat_limit` seconds). A timer is late when
    it is overdue by more than one daemon tick."""
    real_now = real_now or now
    real = datetime.fromisoformat(real_now)
    cutoff = _utc(real - timedelta(seconds=heartbeat_limit))
    late_cutoff = _utc(datetime.fromisoformat(now) - timedelta(seconds=tick_seconds))
    beats = daemons.heartbeats(db, cutoff)
    with db.read() as conn:
        q = Statements(db, conn)
        next_timer = q.named_one("SELECT case_id, name, due, fires_at FROM timers WHERE status "
                                 "= 'pending' ORDER BY fires_at, id LIMIT 1", {})
        overdue = q.one("SELECT COUNT(*) FROM timers WHERE status = 'pending' AND "
                        "fires_at <= :now", {"now": now})
        late = q.one("SELECT COUNT(*) FROM timers WHERE status = 'pending' AND "
                     "fires_at <= :cutoff", {"cutoff": late_cutoff})
        failed_timers = q.one("SELECT COUNT(*) FROM timers WHERE status = 'failed'", {})
        counts = dict(q.all("SELECT status, COUNT(*) FROM notices GROUP BY status", {}))
    daemon = beats.latest
    newest = beats.newest_alive or (daemon[1] if daemon else None)
    return {
        "now": now,
        "checked_at": real_now,
        "alive": beats.alive > 0,
        "daemons_alive": beats.alive,
        "heartbeat_age_seconds": None if newest is None else round(
            (real - datetime.fromisoformat(newest)).total_seconds(), 1),
        "heartbeat_limit_seconds": heartbeat_limit,
        "daemon": None if daemon is None else {
            "id": daemon[0], "heartbeat_at": daemon[1], "stopped_at": daemon[2],
            "summary": daemon[3]},
        "next_timer": None if next_timer is None else {
            "case": next_timer.case_id, "name": next_timer.name, "due": next_timer.due,
            "fires_at": next_timer.fires_at},
        "overdue_timers": overdue[0] if overdue else 0,
        "late_timers": late[0] if late else 0,
        "tick_seconds": tick_seconds,
        "failed_timers": failed_timers[0] if failed_timers else 0,
        "notices": {"pending": counts.get("pending", 0), "sent": counts.get("sent", 0),
                    "failed": counts.get("failed", 0)},
    }


def _utc(instant: datetime) -> str:
    return instant.astimezone(timezone.utc).isoformat()


def backlog(db: Database, now: str) -> tuple[int, int]:
    """The daemon's gauges: timers overdue by `now`, and notices waiting to be delivered."""
    with db.read() as conn:
        q = Statements(db, conn)
        overdue = q.one("SELECT COUNT(*) FROM timers WHERE status = 'pending' AND "
                        "fires_at <= :now", {"now": now})
        pending = q.one("SELECT COUNT(*) FROM notices WHERE status = 'pending'", {})
    return (overdue[0] if overdue else 0), (pending[0] if pending else 0)


# -- the log, for auditors -----------------------------------------------------------------------

def log_in_order(db: Database, batch: int = 5000) -> Iterator[LogEntry]:
    """Every log entry in global order, fetched in batches so memory stays flat."""
    for entries, _ in _batches(db, batch, with_notices=False):
        yield from entries


def _batches(db: Database, batch: int, with_notices: bool
             ) -> Iterator[tuple[list[LogEntry], dict[tuple[str, int], list[NoticeRow]]]]:
    after = 0
    while True:
        with db.read() as conn:
            q = Statements(db, conn)
            rows = q.all(f"SELECT {LOG_COLUMNS} FROM transition_log WHERE global_seq > :after "
                         f"ORDER BY global_seq LIMIT {int(batch)}", {"after": after})
            entries = [log_entry(r) for r in rows]
            notices: dict[tuple[str, int], list[NoticeRow]] = {}
            if entries and with_notices:
                for r in q.all(f"SELECT {select_list(NoticeRow, 'n')} FROM notices n "
                               "JOIN transition_log l "
                               "ON l.case_id = n.case_id AND l.seq = n.log_seq WHERE "
                               "l.global_seq > :after AND l.global_seq <= :last",
                               {"after": after, "last": entries[-1].global_seq}):
                    n = notice_row(r)
                    notices.setdefault((n.case_id, n.log_seq), []).append(n)
        if not entries:
            return
        yield entries, notices
        after = entries[-1].global_seq


def verify_log(db: Database, checkpoint: tuple[int, str] | None = None) -> hashchain.Verdict:
    """Both hash chains of the log, with the notices each entry stored (storage/hashchain.py)."""
    attested: dict[tuple[str, int], str] = {}
    erasing: dict[str, int] = {}
    with db.read() as conn:
        for case_id, seq, engine in Statements(db, conn).all(
                "SELECT case_id, seq, engine FROM transition_log WHERE trigger = "
                "'erase_personal_data' ORDER BY global_seq", {}):
            erasing.setdefault(case_id, seq)
            for item in engine_record(engine).get("legacy", ()):
                attested[(case_id, int(item["seq"]))] = str(item["digest"])

    def entries() -> Iterator[tuple[LogEntry, list[NoticeRow]]]:
        for batch, notices in _batches(db, 5000, with_notices=True):
            for e in batch:
                yield e, notices.get((e.case_id, e.seq), [])

    verdict = hashchain.verify(entries(), chain_head(db), case_heads(db), checkpoint, attested,
                               erasing)
    stray = unanchored_notices(db) if verdict.ok else []
    if stray:
        n = stray[0]
        return hashchain.Verdict(verdict.entries, verdict.cases, verdict.notices, verdict.head,
                                 hashchain.Break(verdict.entries, n.case_id, n.log_seq,
                                                 f"notice {n.id} belongs to no log entry (it "
                                                 "was added to the database)"))
    return verdict


def unanchored_notices(db: Database) -> list[NoticeRow]:
    """Notices whose log entry is gone (a row of the log deleted around them)."""
    with db.read() as conn:
        return [notice_row(r) for r in Statements(db, conn).all(
            f"SELECT {select_list(NoticeRow, 'n')} FROM notices n "
            "LEFT JOIN transition_log l ON l.case_id = "
            "n.case_id AND l.seq = n.log_seq WHERE l.seq IS NULL", {})]


def chain_head(db: Database) -> tuple[int, str]:
    with db.read() as conn:
        row = Statements(db, conn).one(CHAIN_HEAD, {})
    assert row is not None
    return (row[0], row[1])


def case_heads(db: Database) -> dict[str, tuple[int, str]]:
    with db.read() as conn:
        rows = Statements(db, conn).all("SELECT id, version, last_hash FROM cases", {})
    return {r[0]: (r[1], r[2]) for r in rows}


def engine_record(text: str | None) -> dict[str, Any]:
    """What the engine recorded about an entry (warnings, a case it opened); entries from
    before migration 4 kept that inside their data, and read here as {}."""
    return json.loads(text) if text else {}


# -- replay --------------------------------------------------------------------------------------

@dataclass(slots=True)
class NoticeDigest:
    """What replay compares of a stored notice (its text only through the hash of its body)."""
    id: str
    case_id: str
    log_seq: int
    template: str
    template_sha256: str | None
    body_sha256: str


@dataclass(slots=True)
class CaseDigest:
    """What replay compares of a stored case: where it stands, not its data (which its log
    rebuilds)."""
    id: str
    kind: str
    state: str
    version: int
    erased_at: str | None


@dataclass(slots=True)
class TimerDigest:
    """What replay compares of a stored timer, and the calendar it was computed with (which
    replay computes it with again)."""
    name: str
    due: str
    status: str
    nation: str
    closures: str
    school: str | None
    school_closures: str
    started_seq: int
    ended_seq: int | None


@dataclass
class StoredCase:
    """One case as the database holds it, as replay reads it: where it stands, its log
    (without the hashes, which `audit verify` checks), and digests of its timers and notices.
    Replay reads no column it does not use: each column read costs (bench_replay)."""
    case: CaseDigest
    log: list[StoredEntry] = field(default_factory=list)
    timers: list[TimerDigest] = field(default_factory=list)
    notices: list[NoticeDigest] = field(default_factory=list)




def case_ids(db: Database) -> list[str]:
    with db.read() as conn:
        return [r[0] for r in Statements(db, conn).all(
            "SELECT id FROM cases ORDER BY opened_at, id", {})]


def stored_cases(db: Database, ids: Sequence[str]) -> dict[str, StoredCase]:
    """The stored side of `ids`, in four queries."""
    if not ids:
        return {}
    marks = ", ".join(f":c{n}" for n in range(len(ids)))
    params = {f"c{n}": case_id for n, case_id in enumerate(ids)}
    found: dict[str, StoredCase] = {}
    with db.read() as conn:
        q = Statements(db, conn)
        for r in q.all(f"SELECT {select_list(CaseDigest)} FROM cases WHERE id IN ({marks})",
                       params):
            case = row_from(CaseDigest, r)
            found[case.id] = StoredCase(case)
        for r in q.all(f"SELECT {select_list(StoredEntry)} FROM transition_log "
                       f"WHERE case_id IN ({marks}) ORDER BY case_id, seq", params):
            entry = row_from(StoredEntry, r)
            found[entry.case_id].log.append(entry)
        for case_id, *timer in q.all(
                f"SELECT case_id, {select_list(TimerDigest)} FROM timers "
                f"WHERE case_id IN ({marks}) ORDER BY case_id, id", params):
            found[case_id].timers.append(row_from(TimerDigest, timer))
        for r in q.all(f"SELECT {select_list(NoticeDigest)} FROM notices "
                       f"WHERE case_id IN ({marks}) ORDER BY case_id, log_seq, id", params):
            notice = row_from(NoticeDigest, r)
            found[notice.case_id].notices.append(notice)
    return found


def rule_editions(db: Database) -> list[tuple[int, int]]:
    """(edition, the global_seq of the first log entry decided under it), oldest first
    (states/editions.py)."""
    with db.read() as conn:
        return [(int(e), int(g)) for e, g in Statements(db, conn).all(
            "SELECT edition, from_global_seq FROM rule_editions ORDER BY edition", {})]


def closed_before(db: Database, final_states: dict[str, list[str]], cutoff: str
                  ) -> list[CaseRow]:
    """Cases in a final state whose latest event is before `cutoff`, not yet erased: the ones
    a retention period has run out on."""
    clauses, params = [], {"cutoff": cutoff}
    for n, (kind, states) in enumerate(sorted(final_states.items())):
        marks = ", ".join(f":s{n}_{i}" for i in range(len(states)))
        clauses.append(f"(kind = :k{n} AND state IN ({marks}))")
        params[f"k{n}"] = kind
        params.update({f"s{n}_{i}": state for i, state in enumerate(states)})
    with db.read() as conn:
        return [_case_row(r) for r in Statements(db, conn).all(
            f"SELECT {CASE_COLUMNS} FROM cases WHERE erased_at IS NULL AND "
            f"last_effective_at < :cutoff AND ({' OR '.join(clauses)}) "
            "ORDER BY last_effective_at, id", params)]


def appointments_of(db: Database, applications: list[str]) -> list[CaseRow]:
    """Appointment cases that appointed one of these certified applications (their records
    name the application, not always the candidate's address)."""
    if not applications:
        return []
    wanted = set(applications)
    return [c for c in case_rows_of_kind(db, "appointment")
            if (c.records.get("appoint") or {}).get("data", {}).get("certified_application")
            in wanted]


# -- a subject-access request ----------------------------------------------------------------------

def cases_naming(db: Database, wanted: str) -> list[CaseRow]:
    """Cases whose data may name the address `wanted` (lower case): narrowed in the database by
    `LOWER(...) LIKE` (the same SQL on SQLite and PostgreSQL); the caller checks each. SQLite's
    LOWER folds ASCII letters only, so an address beyond ASCII is looked for in every row."""
    narrow = wanted.isascii()
    with db.read() as conn:
        return [_case_row(r) for r in Statements(db, conn).all(
            f"SELECT {CASE_COLUMNS} FROM cases"
            + (" WHERE LOWER(data) LIKE :pattern OR LOWER(records) LIKE :pattern"
               if narrow else "") + " ORDER BY opened_at, id",
            {"pattern": f"%{wanted}%"} if narrow else {})]


def rows_of_cases(db: Database, ids: list[str]
                  ) -> tuple[list[LogEntry], list[TimerRow], list[NoticeRow]]:
    log: list[LogEntry] = []
    timers: list[TimerRow] = []
    notices: list[NoticeRow] = []
    with db.read() as conn:
        q = Statements(db, conn)
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            params = {f"c{i}": case_id for i, case_id in enumerate(chunk)}
            marks = ", ".join(f":{name}" for name in params)
            log += [log_entry(r) for r in q.all(
                f"SELECT {LOG_COLUMNS} FROM transition_log WHERE case_id IN ({marks})", params)]
            timers += [row_from(TimerRow, r) for r in q.all(
                f"SELECT {TIMER_COLUMNS} FROM timers WHERE case_id IN ({marks})", params)]
            notices += [notice_row(r) for r in q.all(
                f"SELECT {NOTICE_COLUMNS} FROM notices WHERE case_id IN ({marks})", params)]
    return log, timers, notices


def notices_to(db: Database, wanted: str) -> list[NoticeRow]:
    narrow = wanted.isascii()
    with db.read() as conn:
        return [notice_row(r) for r in Statements(db, conn).all(
            f"SELECT {NOTICE_COLUMNS} FROM notices"
            + (" WHERE LOWER(recipients) LIKE :pattern" if narrow else ""),
            {"pattern": f"%{wanted}%"} if narrow else {})]


def json_or_text(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def superseding(db: Database) -> dict[tuple[str, int], int]:
    """(case, seq of a timer entry a late-keyed event overtook) -> the seq of the
    `timer_superseded` entry that says so."""
    with db.read() as conn:
        rows = Statements(db, conn).all(
            "SELECT case_id, seq, data FROM transition_log WHERE trigger = 'timer_superseded'",
            {})
    out = {}
    for case_id, seq, data in rows:
        overtaken = json.loads(data).get("superseded_seq")
        if isinstance(overtaken, int):
            out[(case_id, overtaken)] = seq
    return out


def export_row(e: LogEntry) -> dict[str, Any]:
    return {"global_seq": e.global_seq, "case": e.case_id, **log_json(e),
            "prev_hash": e.prev_hash, "global_prev_hash": e.global_prev_hash}
