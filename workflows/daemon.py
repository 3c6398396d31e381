"""`run_engine.py daemon`: fires due timers and delivers stored notices until SIGTERM or SIGINT.

The database is the source of truth for both; APScheduler only wakes the two jobs, at a regular
tick and at the next instant a timer is due. Timers are never kept in APScheduler's own job
store: it drops a job missed during downtime under the default grace time, removes a job when it
starts (at most once) and duplicates jobs when two processes share a store.
"""
from __future__ import annotations

import fcntl
import os
import signal
import socket
import sys
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, TextIO

from sqlalchemy.engine import make_url

from storage.db import Database
from storage import daemons, outbox
from workflows.clock import Clock
from workflows.engine import Engine
from workflows.errors import RefusedError
from workflows.notice_queue import DeliveryReport, Outbox
from workflows.times import utc_iso

TICK_SECONDS = 5   # a notice committed while the daemon runs goes out within this


class DaemonAlreadyRunningError(RefusedError):
    pass


class SqliteDaemonLock:
    """One daemon per SQLite file: an exclusive flock on a file beside the database. The kernel
    drops the lock when the process dies, so a SIGKILL never leaves a stale lock, and no other
    command takes it, so `show`, `fire` and `open` are never blocked by it."""

    def __init__(self, database_path: str):
        self.path = Path(f"{database_path}.daemon.lock")
        self.handle: TextIO | None = None

    def acquire(self, who: str, when_taken: str = "only one daemon may run per SQLite file: "
                "stop it first, or move to PostgreSQL to run several") -> None:
        """Take the lock, or refuse saying who holds it and, in `when_taken`, what to do."""
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise DaemonAlreadyRunningError(
                f"a daemon already runs on this database ({holder}); {when_taken}") from None
        handle.seek(0)
        handle.truncate()
        handle.write(who)
        handle.flush()
        self.handle = handle

    def release(self) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


@dataclass
class Totals:
    timers: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: int = 0


@dataclass
class Daemon:
    engine: Engine
    outbox: Outbox
    clock: Clock
    out: TextIO = sys.stdout
    tick_seconds: float = TICK_SECONDS
    totals: Totals = field(default_factory=Totals)
    early_signals: list = field(default_factory=list)

    def __post_init__(self):
        assert self.engine.db is not None
        self.db: Database = self.engine.db
        self.stopping = threading.Event()
        self.id = f"{socket.gethostname()}:{os.getpid()}:{utc_iso(self.clock.now())}"
        self.lock = SqliteDaemonLock(make_url(self.db.url).database or "") \
            if self.db.is_sqlite else None
        self.scheduler: Any = None
        self.worker = None

    def say(self, line: str) -> None:
        print(f"{utc_iso(self.clock.now())[:19]}Z {line}", file=self.out, flush=True)

    # -- the two jobs ----------------------------------------------------------------------------

    def guarded(self, job: Callable[[], None], what: str) -> Callable[[], None]:
        """A job that fails (the database away for a moment) says so and runs again at the
        next tick; nothing is lost, since the work stays in the database."""
        def run():
            if self.stopping.is_set():
                # A signal that landed while the scheduler was starting: stop from here.
                self.scheduler.shutdown(wait=False)
                return
            try:
                job()
            except Exception as err:
                self.totals.errors += 1
                self.say(f"{what} failed and will run again: {type(err).__name__}: {err}")
        return run

    def fire_due_timers(self, catching_up: bool = False) -> None:
        def progress(done, total, outcome):
            if outcome is not None:
                self.totals.timers += 1
                self.say(f"fired {outcome.trigger} on {outcome.case} -> {outcome.state}")
            if catching_up and (done == total or done % 100 == 0):
                self.say(f"catch-up: {done} of {total} overdue timers done")

        def failed(timer, err):
            self.totals.errors += 1
            self.say(f"timer {timer.id} ({timer.name} on {timer.case_id}) could not fire and "
                     f"stays pending: {type(err).__name__}: {err}")

        if catching_up:
            due = len(self.engine.due_timers())
            self.say(f"catch-up: {due} overdue timer(s) to fire" if due else
                     "catch-up: no overdue timers")
        self.engine.tick(progress, self.stopping.is_set, failed)
        self.heartbeat()
        self.wake_at_next_timer()

    def deliver_notices(self) -> None:
        report = self.outbox.deliver_all(self.stopping.is_set)
        self.count(report)

    def count(self, report: DeliveryReport) -> None:
        self.totals.sent += len(report.sent)
        self.totals.retrying += len(report.retrying)
        self.totals.failed += len(report.failed)

    def wake_at_next_timer(self) -> None:
        """Between regular ticks, a timer due sooner still fires on the instant."""
        due = self.engine.next_fires_at()
        if self.scheduler is None or due is None:
            return
        if due - self.clock.now() < timedelta(seconds=self.tick_seconds):
            return
        self.scheduler.add_job(self.guarded(self.fire_due_timers, "firing timers"), "date",
                               run_date=due, id="next_timer",
                               replace_existing=True, misfire_grace_time=None, coalesce=True,
                               max_instances=1)

    # -- heartbeat ---------------------------------------------------------------------------------

    def heartbeat(self, stopped: bool = False) -> None:
        now = utc_iso(self.clock.now())
        if stopped:
            daemons.stopped(self.db, self.id, now, self.summary())
        else:
            daemons.beat(self.db, self.id, socket.gethostname(), os.getpid(), now)

    def summary(self) -> str:
        t = self.totals
        return (f"{t.timers} timer(s) fired, {t.sent} notice(s) sent, {t.retrying} to retry, "
                f"{t.failed} failed, {t.errors} error(s)")

    # -- running -----------------------------------------------------------------------------------

    def stop(self, *_signal) -> None:
        if not self.stopping.is_set():
            self.stopping.set()
            self.say("stopping: finishing the work in hand")
        if self.scheduler is not None and self.scheduler.running:
            # From a signal handler: shut down without waiting here; start() returns once the
            # job in hand has finished (it checks `stopping` between timers and notices).
            self.scheduler.shutdown(wait=False)

    def run(self) -> int:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.blocking import BlockingScheduler

        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        if self.early_signals:   # received before these handlers were in place
            self.stop()
        if self.lock is not None:
            self.lock.acquire(f"pid {os.getpid()} on {socket.gethostname()}, started "
                              f"{utc_iso(self.clock.now())}")
        try:
            self.say(f"daemon {self.id} on {self.db.url}: timers every {self.tick_seconds:g}s "
                     f"and at each due instant; notices via {self.outbox.channel.name}")
            self.heartbeat()
            if self.lock is not None:
                # The only daemon on this file: a notice leased by one that died is free again.
                outbox.release_all(self.db)
            self.fire_due_timers(catching_up=True)
            if not self.stopping.is_set():
                self.deliver_notices()
            if not self.stopping.is_set():
                # One worker thread: the jobs take turns, so they never race each other.
                self.worker = ThreadPoolExecutor(1)
                self.scheduler = BlockingScheduler(
                    executors={"default": self.worker},
                    job_defaults={"misfire_grace_time": None, "coalesce": True,
                                  "max_instances": 1})
                self.scheduler.add_job(self.guarded(self.fire_due_timers, "firing timers"),
                                       "interval", seconds=self.tick_seconds, id="timers")
                self.scheduler.add_job(self.guarded(self.deliver_notices, "delivery"),
                                       "interval", seconds=self.tick_seconds, id="notices")
                self.wake_at_next_timer()
                if not self.stopping.is_set():
                    self.scheduler.start()
            self._wait_for_jobs()
            self.heartbeat(stopped=True)
            self.say(f"stopped: {self.summary()}")
            return 0
        finally:
            if self.lock is not None:
                self.lock.release()

    def _wait_for_jobs(self) -> None:
        """shutdown(wait=False) from the signal handler left the job in hand running: let it
        finish before the heartbeat says stopped."""
        if self.worker is not None:
            self.worker.shutdown(wait=True)
