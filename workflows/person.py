"""Everything the engine holds about one person, for a subject access request (UK GDPR art. 15).

A person is found by email address: a case belongs in the export when its data names the
address anywhere (as candidate, headteacher, assessor, review officer, post school...), compared
without regard to case. The database narrows the search with `LOWER(data) LIKE '%address%'`
(the same SQL on SQLite and PostgreSQL); the parsed JSON is then walked for a value equal to the
address, so that a longer address containing it (`joann.lee@...` for `ann.lee@...`) does not
count. (An address with characters beyond ASCII skips the narrowing: every row is walked.) Notices are taken when their recipients include the address, and every notice of the
cases found.

What is not found this way: a case that refers to the person only by name or through another
case's id (an appointment's shortlist and `appoint` record the candidate's name and application
id, not the address). The notices sent to the person from such a case are in the export all the
same, with their case ids.
"""
from __future__ import annotations

import json
from typing import Any

from storage.db import Database
from storage.queries import engine_record
from storage.statements import Statements

CHUNK = 500   # case ids per `IN (...)` list

CASE_COLUMNS = "id, kind, state, version, data, opened_at, last_effective_at, last_hash, updated_at"
LOG_COLUMNS = ("global_seq, case_id, seq, trigger, source, dest, actor, on_behalf_of, "
               "effective_at, recorded_at, data, engine, prev_hash, global_prev_hash, hash")
TIMER_COLUMNS = ("id, case_id, name, due, fires_at, status, rule, counted_from, nation, closures, "
                 "started_seq, ended_seq")
NOTICE_COLUMNS = ("id, case_id, log_seq, template, recipients, subject, body, body_sha256, status, "
                  "attempts, last_error, created_at, sent_at, next_attempt_at")


def export_person(db: Database, email: str, exported_at: str) -> dict:
    """The cases whose data names `email`, their whole logs, timers and notices, and every
    notice addressed to `email`; JSON-serialisable."""
    wanted = email.strip().lower()
    if not wanted:
        raise ValueError("email: give the address of the person whose data to export")
    # SQLite's LOWER folds ASCII letters only, and recipients are stored with non-ASCII
    # characters escaped: an address beyond ASCII is looked for in every row instead.
    narrow = wanted.isascii()
    params = {"pattern": f"%{wanted}%"} if narrow else {}
    with db.read() as conn:
        q = Statements(db, conn)
        candidates = q.all(f"SELECT {CASE_COLUMNS} FROM cases"
                           + (" WHERE LOWER(data) LIKE :pattern" if narrow else "")
                           + " ORDER BY opened_at, id", params)
        cases = []
        for row in candidates:
            data = json.loads(row.data)
            if mentions(data, wanted):
                cases.append(_case(row, data))
        ids = [c["case"] for c in cases]
        log = _by_case(q, f"SELECT {LOG_COLUMNS} FROM transition_log", ids)
        timers = _by_case(q, f"SELECT {TIMER_COLUMNS} FROM timers", ids)
        notices = {n.id: n for n in _by_case(q, f"SELECT {NOTICE_COLUMNS} FROM notices", ids)}
        for row in q.all(f"SELECT {NOTICE_COLUMNS} FROM notices"
                         + (" WHERE LOWER(recipients) LIKE :pattern" if narrow else ""), params):
            if row.id not in notices and mentions(json.loads(row.recipients), wanted):
                notices[row.id] = row
    return {
        "email": email,
        "exported_at": exported_at,
        "cases": cases,
        "log": [_log_entry(r) for r in sorted(log, key=lambda r: r.global_seq)],
        "timers": [_timer(r) for r in sorted(timers, key=lambda r: r.id)],
        "notices": [_notice(r) for r in sorted(notices.values(),
                                               key=lambda r: (r.created_at, r.case_id, r.log_seq, r.id))],
    }


def mentions(value: Any, wanted: str) -> bool:
    """Whether a parsed JSON value holds the address `wanted` (lower case) as a whole string."""
    if isinstance(value, str):
        return value.strip().lower() == wanted
    if isinstance(value, dict):
        return any(mentions(v, wanted) for v in value.values())
    if isinstance(value, list):
        return any(mentions(v, wanted) for v in value)
    return False


def _by_case(q: Statements, select: str, ids: list[str]) -> list:
    rows: list = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        names = [f"c{i}" for i in range(len(chunk))]
        rows.extend(q.all(f"{select} WHERE case_id IN ({', '.join(':' + n for n in names)})",
                          dict(zip(names, chunk))))
    return rows


def _case(row, data: dict) -> dict:
    return {"case": row.id, "kind": row.kind, "state": row.state, "version": row.version,
            "opened_at": row.opened_at, "last_effective_at": row.last_effective_at,
            "updated_at": row.updated_at, "last_hash": row.last_hash, "data": data}


def _log_entry(row) -> dict:
    return {"global_seq": row.global_seq, "case": row.case_id, "seq": row.seq,
            "trigger": row.trigger, "source": row.source, "dest": row.dest, "actor": row.actor,
            "for": row.on_behalf_of, "effective_at": row.effective_at,
            "recorded_at": row.recorded_at, "data": json.loads(row.data),
            "engine": engine_record(row.engine),
            "prev_hash": row.prev_hash, "global_prev_hash": row.global_prev_hash,
            "hash": row.hash}


def _timer(row) -> dict:
    return {"case": row.case_id, "name": row.name, "due": row.due, "fires_at": row.fires_at,
            "status": row.status, "rule": row.rule, "counted_from": row.counted_from,
            "nation": row.nation, "closures": _json_or_text(row.closures),
            "started_seq": row.started_seq, "ended_seq": row.ended_seq}


def _notice(row) -> dict:
    return {"id": row.id, "case": row.case_id, "seq": row.log_seq, "template": row.template,
            "to": json.loads(row.recipients), "subject": row.subject, "body": row.body,
            "body_sha256": row.body_sha256, "status": row.status, "attempts": row.attempts,
            "last_error": row.last_error, "created_at": row.created_at, "sent_at": row.sent_at,
            "next_attempt_at": row.next_attempt_at}


def _json_or_text(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text

