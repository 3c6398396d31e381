"""Everything the engine holds about one person, for a subject access request (UK GDPR art. 15).

A person is found by email address: a case belongs in the export when its opening data or its
trigger records name the address anywhere (as candidate, headteacher, assessor, review officer,
post school...), compared without regard to case, and an appointment belongs in it when it
appointed one of the person's certified applications. The database narrows the search with
`LOWER(...) LIKE '%address%'` (the same SQL on SQLite and PostgreSQL); the parsed JSON is then
walked for a value equal to the address, so that a longer address containing it
(`joann.lee@...` for `ann.lee@...`) does not count. (An address with characters beyond ASCII
skips the narrowing: every row is walked.) Notices are taken when their recipients include the
address, and every notice of the cases found. A shortlist that names the person only by name
and application id is found through that application's appointment, not on its own.
"""
from __future__ import annotations

from typing import Any

from storage import queries
from storage.db import Database
from storage.rows import CaseRow, NoticeRow, TimerRow


def export_person(db: Database, email: str, exported_at: str) -> dict:
    """The cases whose data names `email`, their whole logs, timers and notices, and every
    notice addressed to `email`; JSON-serialisable."""
    wanted = email.strip().lower()
    if not wanted:
        raise ValueError("email: give the address of the person whose data to export")
    cases = [c for c in queries.cases_naming(db, wanted)
             if mentions(c.data, wanted) or mentions(c.records, wanted)]
    # An appointment names its appointee through the certified application.
    known = {c.id for c in cases}
    cases += [c for c in queries.appointments_of(db, [c.id for c in cases
                                                      if c.kind == "application"])
              if c.id not in known]
    log, timers, notices = queries.rows_of_cases(db, [c.id for c in cases])
    found = {n.id: n for n in notices}
    for n in queries.notices_to(db, wanted):
        if n.id not in found and mentions(list(n.recipients), wanted):
            found[n.id] = n
    return {
        "email": email,
        "exported_at": exported_at,
        "cases": [_case(c) for c in cases],
        "log": [queries.export_row(e) for e in sorted(log, key=lambda e: e.global_seq)],
        "timers": [_timer(t) for t in sorted(timers, key=lambda t: t.id)],
        "notices": [_notice(n) for n in sorted(
            found.values(), key=lambda n: (n.created_at, n.case_id, n.log_seq, n.id))],
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


def _case(row: CaseRow) -> dict:
    return {"case": row.id, "kind": row.kind, "state": row.state, "version": row.version,
            "opened_at": row.opened_at, "last_effective_at": row.last_effective_at,
            "updated_at": row.updated_at, "last_hash": row.last_hash,
            "erased_at": row.erased_at, "data": row.data, "records": row.records}


def _timer(row: TimerRow) -> dict:
    return {"case": row.case_id, **queries.timer_json(row), "counted_from": row.counted_from,
            "nation": row.nation, "closures": queries.json_or_text(row.closures)}


def _notice(row: NoticeRow) -> dict:
    return {"id": row.id, "case": row.case_id, "seq": row.log_seq, "template": row.template,
            "to": list(row.recipients), "subject": row.subject, "body": row.body,
            "body_sha256": row.body_sha256, "status": row.status, "attempts": row.attempts,
            "last_error": row.last_error, "created_at": row.created_at, "sent_at": row.sent_at,
            "next_attempt_at": row.next_attempt_at, "erased": row.erased}
