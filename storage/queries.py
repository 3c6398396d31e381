"""Read-only queries behind `show`, `list` and `audit verify`, returning the JSON shapes of
shared/CLI.md. They read through the same connection layer as the write path."""
from __future__ import annotations

import json
from typing import Iterator

from storage.db import Database
from storage.statements import Statements

LOG_COLUMNS = ("global_seq, case_id, seq, trigger, source, dest, actor, on_behalf_of, "
               "effective_at, recorded_at, data, engine, prev_hash, global_prev_hash, hash")


def _log_entry(row) -> dict:
    return {"seq": row.seq, "trigger": row.trigger, "source": row.source, "dest": row.dest,
            "actor": row.actor, "for": row.on_behalf_of, "effective_at": row.effective_at,
            "recorded_at": row.recorded_at, "data": json.loads(row.data),
            "engine": engine_record(row.engine), "hash": row.hash}


def case_timers(db: Database, case_id: str) -> list[dict]:
    with db.read() as conn:
        rows = Statements(db, conn).all(
            "SELECT name, due, fires_at, status, rule, counted_from, nation, closures, "
            "started_seq, ended_seq FROM timers WHERE case_id = :id ORDER BY id", {"id": case_id})
    return [r._asdict() for r in rows]


def case_detail(db: Database, case_id: str, as_of: str | None = None) -> dict | None:
    """One case as `show` prints it; with `as_of` (a UTC instant), as it stood then: its state
    after the last entry effective by then, the timers pending then, the notices sent by then."""
    with db.read() as conn:
        q = Statements(db, conn)
        case = q.one("SELECT id, kind, state, version, data FROM cases WHERE id = :id",
                     {"id": case_id})
        if case is None:
            return None
        log = q.all(f"SELECT {LOG_COLUMNS} FROM transition_log WHERE case_id = :id ORDER BY seq",
                    {"id": case_id})
        notices = q.all("SELECT id, template, recipients, subject, status, log_seq FROM notices "
                        "WHERE case_id = :id ORDER BY log_seq, id", {"id": case_id})
    timers = case_timers(db, case_id)
    state, version, data = case.state, case.version, json.loads(case.data)
    if as_of is not None:
        log = [e for e in log if e.effective_at <= as_of]
        version = log[-1].seq if log else 0
        state = log[-1].dest if log else None
        timers = [{**t, "status": "pending" if t["ended_seq"] is None or t["ended_seq"] > version
                   else t["status"]} for t in timers if t["started_seq"] <= version]
        notices = [n for n in notices if n.log_seq <= version]
        data = _data_as_of(data, log)
    return {
        "case": case.id, "kind": case.kind, "state": state, "version": version,
        **({"as_of": as_of} if as_of else {}),
        "data": data,
        "timers": [{"name": t["name"], "due": t["due"], "fires_at": t["fires_at"],
                    "status": t["status"], "rule": t["rule"], "started_seq": t["started_seq"],
                    "ended_seq": None if t["status"] == "pending" else t["ended_seq"]}
                   for t in timers],
        "log": [_log_entry(e) for e in log],
        "notices": [{"id": n.id, "template": n.template, "to": json.loads(n.recipients),
                     "subject": n.subject, "status": n.status, "seq": n.log_seq}
                    for n in notices],
    }


def _data_as_of(data: dict, log: list) -> dict:
    """The case data holds each trigger's record under its name: keep those keyed by then."""
    logged = {e.trigger for e in log}
    return {k: v for k, v in data.items()
            if not (isinstance(v, dict) and "effective_date" in v and k not in logged)}


def list_cases(db: Database, kind: str | None = None, state: str | None = None,
               overdue_at: str | None = None) -> list[dict]:
    where, params = _where([
        ("c.kind = :kind", "kind", kind), ("c.state = :state", "state", state),
        ("EXISTS (SELECT 1 FROM timers o WHERE o.case_id = c.id AND o.status = 'pending' "
         "AND o.fires_at <= :now)", "now", overdue_at)])
    sql = ("SELECT c.id, c.kind, c.state, c.version, c.opened_at, "
           "(SELECT MIN(t.due) FROM timers t WHERE t.case_id = c.id AND t.status = 'pending') "
           f"AS next_due FROM cases c{where} ORDER BY c.opened_at, c.id")
    with db.read() as conn:
        rows = Statements(db, conn).all(sql, params)
    return [{"case": r.id, "kind": r.kind, "state": r.state, "version": r.version,
             "opened_at": r.opened_at, "next_due": r.next_due} for r in rows]


def _where(clauses: list[tuple[str, str, object]]) -> tuple[str, dict]:
    """` WHERE a AND b` of the clauses whose value was given, with their parameters."""
    used = [(clause, name, value) for clause, name, value in clauses if value]
    return ((" WHERE " + " AND ".join(c for c, _, _ in used)) if used else "",
            {name: value for _, name, value in used})


def log_in_order(db: Database, batch: int = 5000) -> Iterator[dict]:
    """Every log entry in global order, fetched in batches so memory stays flat."""
    after = 0
    while True:
        with db.read() as conn:
            rows = Statements(db, conn).all(
                f"SELECT {LOG_COLUMNS} FROM transition_log WHERE global_seq > :after "
                f"ORDER BY global_seq LIMIT {int(batch)}", {"after": after})
        if not rows:
            return
        for r in rows:
            yield r._asdict()
        after = rows[-1].global_seq


def chain_head(db: Database) -> tuple[int, str]:
    with db.read() as conn:
        row = Statements(db, conn).one("SELECT global_seq, hash FROM chain_head WHERE id = 1", {})
    return (row.global_seq, row.hash)


def case_heads(db: Database) -> dict[str, tuple[int, str]]:
    with db.read() as conn:
        rows = Statements(db, conn).all("SELECT id, version, last_hash FROM cases", {})
    return {r.id: (r.version, r.last_hash) for r in rows}


def notice_list(db: Database, case_id: str | None = None, status: str | None = None) -> list[dict]:
    where, params = _where([("case_id = :case_id", "case_id", case_id),
                            ("status = :status", "status", status)])
    sql = ("SELECT id, case_id, template, recipients, subject, status, attempts, last_error, "
           f"created_at, sent_at, next_attempt_at FROM notices{where} ORDER BY created_at, id")
    with db.read() as conn:
        rows = Statements(db, conn).all(sql, params)
    return [{"id": r.id, "case": r.case_id, "template": r.template,
             "to": json.loads(r.recipients), "subject": r.subject, "status": r.status,
             "attempts": r.attempts, "last_error": r.last_error, "created_at": r.created_at,
             "sent_at": r.sent_at, "next_attempt_at": r.next_attempt_at} for r in rows]


def status(db: Database, now: str) -> dict:
    with db.read() as conn:
        q = Statements(db, conn)
        daemon = q.one("SELECT id, heartbeat_at, stopped_at, summary FROM daemons "
                       "ORDER BY heartbeat_at DESC LIMIT 1", {})
        next_timer = q.one("SELECT case_id, name, due, fires_at FROM timers WHERE status = "
                           "'pending' ORDER BY fires_at, id LIMIT 1", {})
        overdue = q.one("SELECT COUNT(*) FROM timers WHERE status = 'pending' AND "
                        "fires_at <= :now", {"now": now})[0]
        counts = dict(q.all("SELECT status, COUNT(*) FROM notices GROUP BY status", {}))
    return {
        "now": now,
        "daemon": None if daemon is None else {
            "id": daemon.id, "heartbeat_at": daemon.heartbeat_at,
            "stopped_at": daemon.stopped_at, "summary": daemon.summary},
        "next_timer": None if next_timer is None else {
            "case": next_timer.case_id, "name": next_timer.name, "due": next_timer.due,
            "fires_at": next_timer.fires_at},
        "overdue_timers": overdue,
        "notices": {"pending": counts.get("pending", 0), "sent": counts.get("sent", 0),
                    "failed": counts.get("failed", 0)},
    }


def engine_record(text: str | None) -> dict:
    """What the engine recorded about an entry (warnings, a case it opened); entries from
    before migration 4 kept that inside their data, and read here as {}."""
    return json.loads(text) if text else {}
