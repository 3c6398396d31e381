"""The notice queue: delivering the notices that committed transitions stored (a
transactional outbox).

Each notice is claimed, handed to the channel, and marked `sent` in its own commit right after
the channel accepted it: a crash in between repeats at most that one notice, with the same
Message-ID. A failure is retried with exponential back-off and, after `max_attempts`, marked
`failed` with its last error, where operators see it (`notices --status failed`) and can
`notices retry` it. Delivery never holds a lock that a transition needs."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from notifications.delivery import Channel, Outgoing, compose
from storage.db import Database
from storage.statements import Statements
from workflows.clock import Clock
from workflows.times import utc_iso

BATCH = 100
FIRST_RETRY_SECONDS = 30
LONGEST_WAIT_SECONDS = 3600

DUE = ("SELECT id, recipients, subject, body, created_at, attempts FROM notices "
       "WHERE status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= :now) "
       "ORDER BY created_at, id LIMIT :limit")
MARK_SENT = ("UPDATE notices SET status = 'sent', sent_at = :at, attempts = attempts + 1, "
             "last_error = NULL, next_attempt_at = NULL WHERE id = :id AND status = 'pending'")
MARK_FAILED_TRY = ("UPDATE notices SET status = :status, attempts = :attempts, "
                   "last_error = :error, next_attempt_at = :next WHERE id = :id "
                   "AND status = 'pending'")


def backoff(attempts: int) -> timedelta:
    """30 s after the first failure, doubling each time, at most an hour."""
    return timedelta(seconds=min(FIRST_RETRY_SECONDS * 2 ** (attempts - 1), LONGEST_WAIT_SECONDS))


@dataclass
class DeliveryReport:
    sent: list[str] = field(default_factory=list)
    retrying: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


class Outbox:
    def __init__(self, db: Database, channel: Channel, sender: str, max_attempts: int,
                 clock: Clock, say: Callable[[str], None] = lambda line: None):
        self.db, self.channel, self.sender = db, channel, sender
        self.max_attempts, self.clock, self.say = max_attempts, clock, say

    def deliver_batch(self, report: DeliveryReport, should_stop: Callable[[], bool]) -> bool:
        """Deliver the next due notices; False when none was due."""
        now = utc_iso(self.clock.now())
        if self.db.is_sqlite:
            # One daemon per SQLite file (the daemon lock): read a batch, then send each and
            # mark it in its own short write transaction, so that no write lock is held while
            # a mail server answers.
            with self.db.read() as conn:
                rows = Statements(self.db, conn).all(DUE, {"now": now, "limit": BATCH})
            for row in rows:
                if should_stop():
                    break
                self._deliver(row, report, self._write)
            return bool(rows)
        # PostgreSQL: several daemons; the row lock claims one notice until it is marked, and
        # the mark commits with it.
        with self.db.write() as conn:
            q = Statements(self.db, conn)
            row = q.one(DUE + " FOR UPDATE SKIP LOCKED", {"now": now, "limit": 1})
            if row is None:
                return False
            self._deliver(row, report, q.run)
        return True

    def deliver_all(self, should_stop: Callable[[], bool] = lambda: False) -> DeliveryReport:
        report = DeliveryReport()
        try:
            while not should_stop() and self.deliver_batch(report, should_stop):
                pass
        finally:
            self.channel.close()
        return report

    def _write(self, sql: str, params: dict) -> int:
        with self.db.write() as conn:
            return Statements(self.db, conn).run(sql, params)

    def _deliver(self, row, report: DeliveryReport, run: Callable[[str, dict], int]) -> None:
        notice = Outgoing(row.id, tuple(json.loads(row.recipients)), row.subject, row.body,
                          datetime.fromisoformat(row.created_at))
        try:
            self.channel.send(compose(notice, self.sender))
        except Exception as err:   # every failure is recorded on the notice, never dropped
            attempts = row.attempts + 1
            error = f"{type(err).__name__}: {err}"[:500]
            if attempts >= self.max_attempts:
                run(MARK_FAILED_TRY, {"id": row.id, "status": "failed", "attempts": attempts,
                                      "error": error, "next": None})
                report.failed.append((row.id, error))
                self.say(f"notice {row.id} FAILED after {attempts} attempts: {error}")
            else:
                retry = utc_iso(self.clock.now() + backoff(attempts))
                run(MARK_FAILED_TRY, {"id": row.id, "status": "pending", "attempts": attempts,
                                      "error": error, "next": retry})
                report.retrying.append((row.id, error))
                self.say(f"notice {row.id} not delivered (attempt {attempts} of "
                         f"{self.max_attempts}): {error}; next try at {retry}")
            return
        run(MARK_SENT, {"id": row.id, "at": utc_iso(self.clock.now())})
        report.sent.append(row.id)
        self.say(f"sent notice {row.id} to {', '.join(notice.recipients)} "
                 f"via {self.channel.name}")


def retry(db: Database, notice_id: str) -> str:
    """Put a failed (or waiting) notice back in the queue now; returns its previous status."""
    with db.write() as conn:
        q = Statements(db, conn)
        row = q.one("SELECT status FROM notices WHERE id = :id", {"id": notice_id})
        if row is None:
            return ""
        if row.status != "sent":
            # The status is checked again in the update: a daemon may have just sent it.
            if q.run("UPDATE notices SET status = 'pending', attempts = 0, next_attempt_at = "
                     "NULL WHERE id = :id AND status <> 'sent'", {"id": notice_id}) == 0:
                return "sent"
        return row.status
