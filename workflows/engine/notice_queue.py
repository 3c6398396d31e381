"""The notice queue: delivering the notices that committed transitions stored (a
transactional outbox).

Each notice is claimed with a lease (storage/outbox.py), handed to the channel with no
transaction open, and marked `sent` in its own commit right after the channel accepted it: a
crash in between repeats at most that one notice, with the same Message-ID. A failure is
retried with exponential back-off and, after `max_attempts`, marked `failed` with its last
error, where operators see it (`notices --status failed`) and can `notices retry` it. A notice
whose stored content no longer matches its hash is never sent: it is marked failed at once and
reported. Times here (sent, next attempt, leases) are read from the real clock, never the
business clock of `--now`."""
from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable

from notifications.delivery import Channel, Outgoing, SealBrokenError, compose
from storage import outbox
from storage.db import Database
from storage.rows import NoticeRow
from workflows.core.clock import Clock
from workflows.core.times import utc_iso

FIRST_RETRY_SECONDS = 30
LONGEST_WAIT_SECONDS = 3600
LEASE_SECONDS = 120   # longer than an SMTP conversation can last (its timeout is 30 s)


def backoff(attempts: int) -> timedelta:
    """30 s after the first failure, doubling each time, at most an hour."""
    return timedelta(seconds=min(FIRST_RETRY_SECONDS * 2 ** (attempts - 1), LONGEST_WAIT_SECONDS))


@dataclass
class DeliveryReport:
    sent: list[str] = field(default_factory=list)
    retrying: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def quiet(line: str, level: int = logging.INFO) -> None:
    """Say nothing (the default `say` of an Outbox)."""


class Outbox:
    def __init__(self, db: Database, channel: Channel, sender: str, max_attempts: int,
                 clock: Clock, say: Callable[[str, int], None] = quiet,
                 owner: str | None = None):
        """`clock` is the real clock: it stamps `sent_at`, back-off times and leases. `say`
        is given one line per delivery and its logging level: INFO for a notice sent,
        WARNING for one that waits to be tried again, ERROR for one that failed for good."""
        self.db, self.channel, self.sender = db, channel, sender
        self.max_attempts, self.clock, self.say = max_attempts, clock, say
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}"

    def deliver_one(self, report: DeliveryReport) -> bool:
        """Claim and deliver the next due notice; False when none was due."""
        now = self.clock.now()
        claimed = outbox.claim(self.db, self.owner, utc_iso(now),
                               utc_iso(now + timedelta(seconds=LEASE_SECONDS)))
        if claimed is None:
            return False
        self._deliver(claimed.notice, claimed.problem, report)
        return True

    def deliver_all(self, should_stop: Callable[[], bool] = lambda: False,
                    most: int | None = None) -> DeliveryReport:
        """Deliver due notices until none is left, `should_stop` says so, or `most` have been
        handled (the daemon delivers in bounded batches between its timer passes)."""
        report = DeliveryReport()
        handled = 0
        try:
            while not should_stop() and (most is None or handled < most) \
                    and self.deliver_one(report):
                handled += 1
        finally:
            self.channel.close()
        return report

    def _deliver(self, notice: NoticeRow, problem: str | None, report: DeliveryReport) -> None:
        message = Outgoing(notice.id, notice.recipients, notice.subject, notice.body,
                           notice.created_at, notice.salt or "", notice.content_sha256,
                           problem)
        try:
            self.channel.send(compose(message, self.sender), message)
        except SealBrokenError as err:
            # Not a passing fault: a stored notice was changed. It is not sent, now or later.
            error = f"not sent: {err}"
            outbox.mark_failed_try(self.db, notice.id, self.owner, "failed",
                                   notice.attempts + 1, error[:500], None)
            report.failed.append((notice.id, error))
            self.say(f"notice {notice.id} NOT SENT: {err}; `audit verify` names it",
                     logging.ERROR)
            return
        except Exception as err:   # every failure is recorded on the notice, never dropped
            attempts = notice.attempts + 1
            error = " ".join(f"{type(err).__name__}: {err}".split())[:500]
            if attempts >= self.max_attempts:
                outbox.mark_failed_try(self.db, notice.id, self.owner, "failed", attempts,
                                       error, None)
                report.failed.append((notice.id, error))
                self.say(f"notice {notice.id} FAILED after {attempts} attempts: {error}",
                         logging.ERROR)
            else:
                retry = utc_iso(self.clock.now() + backoff(attempts))
                outbox.mark_failed_try(self.db, notice.id, self.owner, "pending", attempts,
                                       error, retry)
                report.retrying.append((notice.id, error))
                self.say(f"notice {notice.id} not delivered (attempt {attempts} of "
                         f"{self.max_attempts}): {error}; next try at {retry}", logging.WARNING)
            return
        outbox.mark_sent(self.db, notice.id, self.owner, utc_iso(self.clock.now()))
        report.sent.append(notice.id)
        self.say(f"sent notice {notice.id} to {', '.join(notice.recipients)} "
                 f"via {self.channel.name}", logging.INFO)
