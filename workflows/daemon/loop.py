"""`run_engine.py daemon`: fires due timers and delivers stored notices until SIGTERM or SIGINT.

One loop on one thread, in this order each time round:
1. the timers that are due, each fired in its own transaction (the first pass is the catch-up
   after downtime);
2. one batch of notices, bounded in time (BATCH_SECONDS, plus the notice in flight): while a
   backlog remains the loop comes straight back to 1, so a due timer never waits for more than
   one batch, whatever the backlog;
3. with nothing left, a wait until the next tick, the next timer's instant or SIGTERM.

The database is the only record of the work. When it cannot be reached (PostgreSQL down or
restarting, a SQLite file locked or gone), in whichever phase, the daemon says so in one line,
tries again after 1 s, doubling to 30 s, says in one line when it is back, and goes on where the
database says it stands. It stops with a non-zero exit only on what waiting cannot mend: a
schema it cannot run on (missing, behind, or newer than this code: exit 2), a configuration
that is wrong (exit 2).

APScheduler (3.x) drives the rounds: one job, on one worker thread, run every poll interval and
at the next timer's instant, never two at once; a round that leaves work (a backlog of notices,
a timer that came due meanwhile) goes round again at once. Timers are never kept in
APScheduler's own job store: the database is their only record.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any


from storage import daemons, outbox, queries
from storage.db import Database
from storage.errors import (DatabaseUnavailableError, SchemaError, StorageError, one_line,
                            safe_url)
from storage.daemons import HEARTBEAT_LIMIT_SECONDS
from storage.migrations import require_current
from workflows.core.clock import Clock
from workflows.engine import Engine, timers
from workflows.engine.deliverer import OneDeliverer
from workflows.daemon.logs import LOGGER
from workflows.engine.notice_queue import DeliveryReport, Outbox
from workflows.daemon.sdnotify import Notifier
from workflows.core.times import utc_iso

TICK_SECONDS = 60          # [daemon] tick_seconds: the daemon looks at least this often
NOTICE_POLL_SECONDS = 5    # ... and at least this often: a new notice goes out within it
BATCH_SECONDS = 2.0        # one delivery batch; then the timers again
BEAT_SECONDS = 5           # the heartbeat, at most this often (and during long work too)
FIRST_RETRY_SECONDS, LONGEST_RETRY_SECONDS = 1.0, 30.0   # waiting out the database
PROGRESS_EVERY = 100       # catch-up: a progress line every this many timers


def retry_delays(first: float = FIRST_RETRY_SECONDS, longest: float = LONGEST_RETRY_SECONDS):
    """1 s, 2 s, 4 s ... doubling, at most 30 s: how long to wait before each new try."""
    delay = first
    while True:
        yield delay
        delay = min(delay * 2, longest)


@dataclass
class Totals:
    timers: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: int = 0


class NoMetrics:
    """Stands in for workflows.daemon.metrics.Metrics when none are served: every call does nothing."""

    def __getattr__(self, _name: str) -> Any:
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self


@dataclass
class Daemon:
    engine: Engine
    outbox: Outbox
    clock: Clock                       # the business clock: which timers are due
    tick_seconds: float = TICK_SECONDS
    log: logging.Logger = field(default_factory=lambda: logging.getLogger(LOGGER))
    metrics: Any = field(default_factory=NoMetrics)
    metrics_at: tuple[str, int] | None = None   # (host, port) to serve the metrics on
    notifier: Notifier = field(default_factory=Notifier)
    totals: Totals = field(default_factory=Totals)
    early_signals: list = field(default_factory=list)

    def __post_init__(self):
        assert self.engine.db is not None
        self.db: Database = self.engine.db
        self.real: Clock = self.engine.recorder   # heartbeats are real time, whatever --now says
        self.stopping = threading.Event()
        self.id = f"{socket.gethostname()}:{os.getpid()}:{utc_iso(self.real.now())}"
        self.deliverer = OneDeliverer(self.db)
        self.outbox.say = self.notice_said
        self.started = False          # start-up done: schema checked, first heartbeat written
        self.caught_up = False        # the first timer pass (the catch-up) has completed
        self.reachable = True         # the database answered the last time it was asked
        self.phase = "start-up"
        self.left = ""                # what an interrupted pass left pending, for its one line
        self.next_due: datetime | None = None
        self.last_timer_pass = float("-inf")
        self.last_beat = float("-inf")
        self.outage_began = 0.0
        self.tries = 0

    # -- the loop ----------------------------------------------------------------------------------

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        if self.early_signals:   # received before these handlers were in place
            self.stop()
        self.deliverer.take(f"pid {os.getpid()} on {socket.gethostname()}, started "
                            f"{utc_iso(self.real.now())}")
        try:
            if self.metrics_at is not None and self.metrics_at[1]:
                self.metrics.serve(*self.metrics_at)
            served = (f"; metrics on http://{self.metrics_at[0]}:{self.metrics_at[1]}/metrics"
                      if self.metrics_at and self.metrics_at[1] else "")
            self.log.info(f"daemon {self.id} on {safe_url(self.db.url)}: looks for due timers "
                          f"and notices every {self.poll_seconds():g}s, at each timer's instant "
                          f"and between delivery batches of at most {BATCH_SECONDS:g}s; notices "
                          f"via {self.outbox.channel.name}{served}")
            self.notifier.ready("starting")
            try:
                self.loop()
            except SchemaError as err:
                # Waiting will not mend it: `init` (behind), an upgrade (newer), the right --db.
                self.log.critical(f"cannot run on this database: {err}")
                return 2
            self.notifier.stopping()
            self.close_row()
            self.log.info(f"stopped: {self.summary()}")
            return 0
        finally:
            self.deliverer.release()
            self.metrics.close()

    def loop(self) -> None:
        """Until SIGTERM: APScheduler runs `round` now, every poll interval and at each timer's
        instant, on its one worker thread. Returns once the scheduler is shut down and the round
        in hand has finished; raises what waiting cannot mend (SchemaError)."""
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.blocking import BlockingScheduler
        self.fatal: SchemaError | None = None
        # A poll that comes while a round is still at work is skipped, by design (the round goes
        # on while work is left): APScheduler's warning about it would only be noise.
        logging.getLogger("apscheduler").setLevel(logging.ERROR)
        self.worker = ThreadPoolExecutor(1)
        self.scheduler = BlockingScheduler(
            executors={"default": self.worker},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})
        self.scheduler.add_job(self.round, "interval", seconds=self.poll_seconds(), id="round",
                               next_run_time=datetime.now(timezone.utc))
        threading.Thread(target=self.stop_when_asked, name="stopper", daemon=True).start()
        if not self.stopping.is_set():
            self.scheduler.start()
        self.worker.shutdown(wait=True)   # the round in hand finishes first
        if self.fatal is not None:
            raise self.fatal

    def round(self) -> None:
        """Timers, then one batch of notices, again and again while work is left; then the
        scheduler wakes this at the next poll or the next timer's instant."""
        if self.stopping.is_set():
            # A signal that landed while the scheduler was starting, or a round handed out
            # just before the stop: stop from here.
            self.shut_scheduler()
            return
        while not self.stopping.is_set():
            try:
                if not self.reachable:
                    self.back()
                more = self.step()
            except DatabaseUnavailableError as err:
                self.ride_out(err)
                continue
            except SchemaError as err:
                self.fatal = err
                self.scheduler.shutdown(wait=False)
                return
            except Exception as err:   # a fault of one round: said, and tried again later
                self.totals.errors += 1
                reason = one_line(f"{type(err).__name__}: {err}")
                self.log.error(f"{self.phase} failed and will run again in "
                               f"{self.poll_seconds():g}s: {reason}")
                return
            if not more:
                break
        self.wake_at_next_timer()

    def step(self) -> bool:
        """Start-up (once), due timers, one batch of notices; whether to go round again now."""
        if not self.started:
            self.start_up()
        if self.timers_wanted():
            self.fire_due_timers()
        if self.stopping.is_set():
            return False
        more = self.deliver_batch()
        self.beat()
        if more:
            return True   # straight back to the timers, then the next batch
        self.phase = "idle"
        return False

    def wake_at_next_timer(self) -> None:
        """Between polls, a timer due sooner fires on its instant."""
        if self.stopping.is_set() or self.next_due is None:
            return
        wait = (self.next_due - self.clock.now()).total_seconds()
        if 0 < wait < self.poll_seconds():
            self.scheduler.add_job(self.round, "date", id="next_timer", replace_existing=True,
                                   run_date=datetime.now(timezone.utc) + timedelta(seconds=wait))

    def start_up(self) -> None:
        self.phase = "start-up"
        require_current(self.db)
        self.beat(force=True)   # and closes the rows of daemons that died
        self.deliverer.free_dead_leases()
        self.started = True
        self.notifier.status("running")

    def poll_seconds(self) -> float:
        return min(self.tick_seconds, NOTICE_POLL_SECONDS)

    def timers_wanted(self) -> bool:
        """Whether a timer is due now (asked before every batch of notices, so one that came
        due, or that another process stored already overdue, waits at most one batch)."""
        if not self.caught_up or self.last_timer_pass == float("-inf"):
            return True
        self.next_due = self.engine.next_fires_at()
        return self.next_due is not None and self.next_due <= self.clock.now()

    # -- timers ------------------------------------------------------------------------------------

    def fire_due_timers(self) -> None:
        """Fire every due timer, each in its own transaction, through the one timer loop
        (workflows/engine/timers.py). A timer that cannot fire stays pending (its attempt
        counted; `failed` after TIMER_ATTEMPTS) and the others go on; a database that goes away
        ends the pass, which says how many it left pending."""
        catching_up = not self.caught_up
        self.phase = "catch-up" if catching_up else "timer pass"
        due = self.engine.due_timers()
        total = len(due)
        if catching_up:
            self.log.info(f"catch-up: {total} overdue timer(s) to fire" if total else
                          "catch-up: no overdue timers")
        fired = gone = failed = 0
        errors: dict[str, int] = {}
        self.last_timer_pass = float("-inf")   # until the pass completes: wanted again

        def still_pending() -> str:
            return (f"{total - fired - gone} of {total} "
                    f"{'overdue' if catching_up else 'due'} timer(s) still pending")

        def said(event: timers.TimerEvent) -> None:
            nonlocal fired, gone, failed
            if isinstance(event, timers.Failed):   # this timer's own fault: the others go on
                failed += 1
                self.totals.errors += 1
                self.metrics.timer_errors.inc()
                timer = event.timer
                if event.reason not in errors:   # the same fault on many timers is said once
                    self.log.error(f"timer {timer.id} ({timer.name} on {timer.case_id}) could "
                                   f"not fire and stays {event.status}: {event.reason}")
                errors[event.reason] = errors.get(event.reason, 0) + 1
                return
            if isinstance(event, timers.Gone):
                gone += 1   # cancelled meanwhile, or fired by another daemon
            else:
                fired += 1
                self.totals.timers += 1
                self.metrics.timers_fired.inc()
                outcome = event.outcome
                self.log.info(f"fired {outcome.trigger} on {outcome.case} -> {outcome.state}")
            if catching_up and (fired + gone) % PROGRESS_EVERY == 0 and fired + gone < total:
                self.log.info(f"catch-up: {fired + gone} of {total} overdue timers done, "
                              f"{total - fired - gone} still pending")
            self.beat()
            self.left = still_pending()   # what an outage from here on would leave

        self.left = still_pending()
        timers.fire_due(self.engine, due, said, should_stop=self.stopping.is_set)
        self.left = ""
        pending = total - fired - gone
        if failed > len(errors):
            self.log.error(f"{self.phase}: {failed} timer(s) could not fire and stay pending "
                           f"({len(errors)} distinct error(s), each said above)")
        if catching_up:
            self.log.info(f"catch-up: {fired + gone} of {total} overdue timers done, {pending} "
                          f"still pending" + (f" ({failed} could not fire)" if failed else "")
                          + (" (stopping)" if self.stopping.is_set() else ""))
        if not self.stopping.is_set():
            self.caught_up = True
        self.last_timer_pass = time.monotonic()
        self.next_due = self.engine.next_fires_at()

    # -- notices -----------------------------------------------------------------------------------

    def deliver_batch(self) -> bool:
        """Deliver due notices for at most BATCH_SECONDS (and the one in flight); True when the
        time ran out, so more may be waiting."""
        self.phase = "delivery"
        self.left = ""
        ends = time.monotonic() + BATCH_SECONDS
        report = self.outbox.deliver_all(
            lambda: self.stopping.is_set() or time.monotonic() >= ends)
        self.count(report)
        return time.monotonic() >= ends

    def count(self, report: DeliveryReport) -> None:
        self.totals.sent += len(report.sent)
        self.totals.retrying += len(report.retrying)
        self.totals.failed += len(report.failed)
        self.metrics.notices_sent.inc(len(report.sent))
        self.metrics.notices_retrying.inc(len(report.retrying))
        self.metrics.notices_failed.inc(len(report.failed))

    def notice_said(self, line: str, level: int = logging.INFO) -> None:
        self.log.log(level, line)
        self.beat()   # a long backlog keeps the heartbeat fresh

    # -- heartbeat ---------------------------------------------------------------------------------

    def beat(self, force: bool = False) -> None:
        """The heartbeat (and the gauges), at most every BEAT_SECONDS unless forced."""
        now = time.monotonic()
        if not force and now - self.last_beat < BEAT_SECONDS:
            return
        self.notifier.alive()
        stamp = self.real.now()
        daemons.beat(self.db, self.id, socket.gethostname(), os.getpid(), utc_iso(stamp))
        self.last_beat = now
        self.metrics.database_up.set(1)
        self.metrics.heartbeat.set(stamp.timestamp())
        overdue, pending = queries.backlog(self.db, utc_iso(self.clock.now()))
        self.metrics.timers_overdue.set(overdue)
        self.metrics.notices_pending.set(pending)
        cutoff = utc_iso(self.real.now() - timedelta(seconds=HEARTBEAT_LIMIT_SECONDS))
        closed = daemons.close_dead(self.db, cutoff)
        if closed:
            self.log.info(f"closed {closed} daemon row(s) with no heartbeat for over "
                          f"{HEARTBEAT_LIMIT_SECONDS}s (daemons that were killed)")

    def close_row(self) -> None:
        """Say in the database that this daemon stopped, unless the database is away: then the
        row stays open and is taken as dead once its heartbeat is HEARTBEAT_LIMIT_SECONDS old."""
        if not self.started:
            return
        if not self.reachable:
            self.log.warning("stopping while the database is unavailable: this daemon's row "
                             f"is taken as stopped once its heartbeat is "
                             f"{HEARTBEAT_LIMIT_SECONDS}s old")
            return
        try:
            daemons.stopped(self.db, self.id, utc_iso(self.real.now()), self.summary())
        except DatabaseUnavailableError as err:
            self.log.warning(f"could not mark this daemon stopped: {err}")

    def summary(self) -> str:
        t = self.totals
        return (f"{t.timers} timer(s) fired, {t.sent} notice(s) sent, {t.retrying} to retry, "
                f"{t.failed} failed, {t.errors} error(s)")

    # -- the database away -------------------------------------------------------------------------

    def ride_out(self, err: DatabaseUnavailableError) -> None:
        """One line now; tries after 1 s, 2 s, 4 s ... at most 30 s apart, each cut short by
        SIGTERM; one line when the database answers again (self.back)."""
        self.reachable = False
        self.metrics.database_up.set(0)
        self.metrics.outages.inc()
        self.outage_began = time.monotonic()
        self.tries = 0
        left = f"; {self.left}" if self.left else ""
        during = "while idle" if self.phase == "idle" else f"during the {self.phase}"
        self.log.warning(f"database unavailable {during}{left}: {err}; trying again "
                         f"in {FIRST_RETRY_SECONDS:g}s, then doubling up to "
                         f"{LONGEST_RETRY_SECONDS:g}s")
        self.notifier.status(f"waiting for the database ({self.phase})")
        for delay in retry_delays():
            if self.stopping.wait(delay):
                return
            self.notifier.alive()   # waiting is what it should be doing: not hung
            self.tries += 1
            self.db.dispose()       # every pooled connection died with the outage
            try:
                self.db.ping()
            except SchemaError:
                raise
            except StorageError:
                continue
            return

    def back(self) -> None:
        """The database answers again: say so, and free what this daemon had leased."""
        outbox.release_owned(self.db, self.outbox.owner)
        seconds = time.monotonic() - self.outage_began
        self.reachable = True
        self.metrics.database_up.set(1)
        phase = self.phase if self.started else "start-up"
        self.log.info(f"database available again after {seconds:.1f}s ({self.tries} "
                      f"tr{'y' if self.tries == 1 else 'ies'})"
                      + (f"; resuming the {phase}" if phase != "idle" else ""))
        self.notifier.status("running")

    def stop(self, *_signal) -> None:
        """SIGTERM or SIGINT: stop once the work in hand is done. A signal handler runs in the
        main thread wherever the signal found it, perhaps holding a lock that stopping takes:
        inside APScheduler handing a round to its executor, which holds the executor's
        shutdown lock while it starts the worker thread. Shutting the scheduler down from
        here then waited for that lock forever (a daemon hung on SIGTERM, seen in CI). So
        this only sets an event, whose lock the main thread never holds; `stop_when_asked`,
        on a thread of its own, does the rest."""
        self.stopping.set()

    def stop_when_asked(self) -> None:
        """Shut the scheduler down once `stop` asks (loop() then waits for the round in
        hand). A stop that comes before the scheduler runs is seen by loop() or round()."""
        self.stopping.wait()
        self.log.info("stopping: finishing the work in hand")
        self.shut_scheduler()

    def shut_scheduler(self) -> None:
        """Shut the scheduler down without waiting (loop() waits for the round in hand). The
        stopper and a round that sees the stop may both come here, in either order: the
        second finds it shut already, which is what it wanted."""
        from apscheduler.schedulers import SchedulerNotRunningError
        try:
            self.scheduler.shutdown(wait=False)
        except SchedulerNotRunningError:
            pass
