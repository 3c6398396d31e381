"""The delivery queue's statements (workflows/engine/notice_queue.py delivers).

A notice is claimed with a lease in one short write transaction, handed to the mail server with
no transaction open, then marked `sent` (or its failure recorded) in another. No write lock is
held while a mail server answers, and a daemon that dies mid-send leaves a lease that expires, so
the notice is claimed again: at most the one in flight is sent twice, with the same Message-ID.
Two daemons on PostgreSQL never claim the same notice (`FOR UPDATE SKIP LOCKED`, then the
lease)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from storage import hashchain
from storage.db import Database
from storage.rows import LogEntry, NoticeRow
from storage.sql_store import LOG_COLUMNS, NOTICE_COLUMNS, log_entry, notice_row
from storage.statements import Statements

DUE = (f"SELECT {NOTICE_COLUMNS} FROM notices WHERE status = 'pending' AND "
       "(next_attempt_at IS NULL OR next_attempt_at <= :now) AND "
       "(lease_until IS NULL OR lease_until <= :now) ORDER BY created_at, id LIMIT 1")
LEASE = "UPDATE notices SET lease_until = :until, lease_owner = :owner WHERE id = :id"
MARK_SENT = ("UPDATE notices SET status = 'sent', sent_at = :at, attempts = attempts + 1, "
             "last_error = NULL, next_attempt_at = NULL, lease_until = NULL, lease_owner = NULL "
             "WHERE id = :id AND status = 'pending' AND lease_owner = :owner")
MARK_FAILED_TRY = ("UPDATE notices SET status = :status, attempts = :attempts, "
                   "last_error = :error, next_attempt_at = :next, lease_until = NULL, "
                   "lease_owner = NULL WHERE id = :id AND status = 'pending' "
                   "AND lease_owner = :owner")


@dataclass(frozen=True)
class Claimed:
    notice: NoticeRow
    problem: str | None   # why its stored content may not be sent (edited since), or None


def claim(db: Database, owner: str, now: str, until: str) -> Claimed | None:
    """The next notice due, leased to `owner` until `until`, with its seal checked against the
    log entry that stored it; None when none is due."""
    with db.write() as conn:
        q = Statements(db, conn)
        row = q.one(DUE + ("" if db.is_sqlite else " FOR UPDATE SKIP LOCKED"), {"now": now})
        if row is None:
            return None
        notice = notice_row(row)
        q.run(LEASE, {"id": notice.id, "owner": owner, "until": until})
        entry_row = q.one(f"SELECT {LOG_COLUMNS} FROM transition_log WHERE case_id = :case_id "
                          "AND seq = :seq", {"case_id": notice.case_id, "seq": notice.log_seq})
        siblings = [r[0] for r in q.all("SELECT hash FROM notices WHERE case_id = :case_id AND "
                                        "log_seq = :seq ORDER BY id",
                                        {"case_id": notice.case_id, "seq": notice.log_seq})]
    entry = log_entry(entry_row) if entry_row else None
    return Claimed(notice, seal_problem(notice, entry, siblings))


def seal_problem(notice: NoticeRow, entry: LogEntry | None, siblings: Sequence[str | None]
                 ) -> str | None:
    """Why a notice may not be sent as stored: its content no longer matches its hash, or its
    hash is not the one its log entry's hash covers."""
    problem = hashchain.notice_problem(notice)
    if problem:
        return problem
    if entry is None:
        return f"notice {notice.id} belongs to no log entry"
    if entry.hash_version >= 2:
        if hashchain.notices_sha256([h or "" for h in siblings]) != entry.notices_sha256:
            return (f"notice {notice.id} is not among the notices its log entry "
                    f"({notice.case_id} seq {notice.log_seq}) stored")
        if hashchain.entry_hash(entry) != entry.hash:
            return f"the log entry that stored notice {notice.id} was edited"
    return None


def release_all(db: Database) -> int:
    """Leases left by a daemon that died (on SQLite only one daemon runs per file: at its
    start, every lease is a dead one's)."""
    with db.write() as conn:
        return Statements(db, conn).run("UPDATE notices SET lease_until = NULL, lease_owner = "
                                        "NULL WHERE lease_owner IS NOT NULL", {})


def mark_sent(db: Database, notice_id: str, owner: str, at: str) -> int:
    with db.write() as conn:
        return Statements(db, conn).run(MARK_SENT, {"id": notice_id, "owner": owner, "at": at})


def mark_failed_try(db: Database, notice_id: str, owner: str, status: str, attempts: int,
                    error: str, next_attempt_at: str | None) -> int:
    with db.write() as conn:
        return Statements(db, conn).run(MARK_FAILED_TRY, {
            "id": notice_id, "owner": owner, "status": status, "attempts": attempts,
            "error": error, "next": next_attempt_at})


def retry(db: Database, notice_id: str | None) -> list[tuple[str, str]]:
    """Put failed or waiting notices (one, or all) back in the queue now; returns each one's
    id and previous status ('sent' for one that was sent meanwhile, nothing changed)."""
    with db.write() as conn:
        q = Statements(db, conn)
        if notice_id is None:
            rows = q.all("SELECT id, status FROM notices WHERE status = 'failed' OR (status = "
                         "'pending' AND (attempts > 0 OR next_attempt_at IS NOT NULL))", {})
        else:
            rows = q.all("SELECT id, status FROM notices WHERE id = :id", {"id": notice_id})
        for found_id, status in rows:
            if status != "sent":
                q.run("UPDATE notices SET status = 'pending', attempts = 0, next_attempt_at = "
                      "NULL, lease_until = NULL, lease_owner = NULL WHERE id = :id AND "
                      "status <> 'sent'", {"id": found_id})
    return [(r[0], r[1]) for r in rows]


def waiting(db: Database, now: str) -> list[tuple[str, str]]:
    """Pending notices waiting out a back-off at `now`: (id, when the next attempt is due),
    soonest first. One a live deliverer holds (a daemon on PostgreSQL) is being sent, not
    waiting."""
    with db.read() as conn:
        return [(r[0], r[1]) for r in Statements(db, conn).all(
            "SELECT id, next_attempt_at FROM notices WHERE status = 'pending' AND "
            "next_attempt_at > :now AND (lease_until IS NULL OR lease_until <= :now) "
            "ORDER BY next_attempt_at, id", {"now": now})]


def pending_count(db: Database) -> int:
    with db.read() as conn:
        row = Statements(db, conn).one("SELECT COUNT(*) FROM notices WHERE status = 'pending'",
                                       {})
    return int(row[0]) if row else 0


def release_owned(db: Database, owner: str) -> int:
    """Leases `owner` holds: after a database outage, a notice it had claimed (and perhaps
    handed to the mail server without its `sent` being recorded) is due again at once, rather
    than when its lease runs out; at most that one is sent twice, with the same Message-ID."""
    with db.write() as conn:
        return Statements(db, conn).run("UPDATE notices SET lease_until = NULL, lease_owner = "
                                        "NULL WHERE lease_owner = :owner AND status = 'pending'",
                                        {"owner": owner})
