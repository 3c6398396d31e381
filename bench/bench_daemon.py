"""Benchmarks of the daemon's work (figures printed, nothing asserted):

1. catch-up: how fast overdue timers fire (each its own transaction, its deadline_missed notice
   rendered and stored) after downtime: 10,000 by default; target under 30 s;
2. delivery: how fast stored notices go to a local SMTP server (aiosmtpd on loopback);
3. memory: the daemon process's peak resident memory with few and with many cases in the
   database; target: flat in the number of cases.

    python bench/bench_daemon.py [--timers 10000] [--cases-for-memory 100000]
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from notifications.delivery import SmtpChannel  # noqa: E402
from storage.db import Database  # noqa: E402
from tests import daemon_harness as h  # noqa: E402
from tests.mailserver import MailServer  # noqa: E402
from workflows.core.clock import SystemClock  # noqa: E402
from workflows.engine import Engine  # noqa: E402
from workflows.engine.notice_queue import Outbox  # noqa: E402


def seed(url: str, n: int) -> None:
    started = time.perf_counter()
    batch = 1000
    for first in range(0, n, batch):
        h.seed_overdue(url, min(batch, n - first))
        print(f"  seeded {min(first + batch, n)} of {n} overdue cases", flush=True)
    print(f"  (seeding took {time.perf_counter() - started:.1f} s)")


def catch_up(url: str, n: int) -> None:
    print(f"catch-up: {n} overdue timers")
    db = Database(url)
    engine = Engine(db, clock=SystemClock())
    due = len(engine.due_timers())
    started = time.perf_counter()
    fired = engine.tick(lambda done, total, _: done % 2000 == 0 and print(
        f"  {done} of {total} fired", flush=True))
    seconds = time.perf_counter() - started
    print(f"  {len(fired)} of {due} timers fired in {seconds:.1f} s: "
          f"{len(fired) / seconds:.0f} timers/s (target: {n} in under 30 s)")
    db.dispose()


def delivery(url: str) -> None:
    db = Database(url)
    with MailServer() as server:
        box = Outbox(db, SmtpChannel("127.0.0.1", server.port), "ast-engine@la.example.org", 8,
                     SystemClock())
        started = time.perf_counter()
        report = box.deliver_all()
        seconds = time.perf_counter() - started
        arrived = sum(server.recorder.ids().values())
    print(f"delivery: {len(report.sent)} notices to the local SMTP server in {seconds:.1f} s: "
          f"{len(report.sent) / seconds:.0f} notices/s ({arrived} arrived)")
    db.dispose()


def daemon_peak_rss(url: str, folder: Path, label: str) -> float:
    """Start the daemon as a process, let it catch up and idle through a few ticks, stop it and
    read its peak resident memory (VmHWM)."""
    log = folder / f"daemon-{label}.log"
    process = h.start_daemon(url, log, h.daemon_env(folder=folder / "outbox"), tick=0.5)
    try:
        h.wait_until(lambda: "catch-up:" in log.read_text() and
                     h.counts(url)["pending_notices"] == 0, timeout=600, every=0.5)
        time.sleep(3)   # a few idle ticks: memory must not grow with them either
        peak = _vm_hwm_mb(process.pid)
    finally:
        h.stop(process)
    return peak


def _vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory(folder: Path, small: int, large: int) -> None:
    print(f"memory: the daemon's peak RSS with {small} and with {large} cases")
    figures = {}
    for n in (small, large):
        url = f"sqlite:///{folder / f'memory-{n}.db'}"
        if n <= 20000:
            seed(url, n)
        else:
            # bench_fire's bulk loader of realistic rows (a third of the cases still in progress,
            # with timers that are overdue by now: the daemon catches them up first).
            from bench.bench_fire import preload
            from storage.migrations import migrate
            migrate(Database(url), "2025-01-01T00:00:00+00:00")
            print(f"  preloading {n} cases", flush=True)
            preload(folder / f"memory-{n}.db", n, 2026, folder)
        figures[n] = daemon_peak_rss(url, folder, str(n))
        print(f"  {n} cases: daemon peak RSS {figures[n]:.1f} MB")
    print(f"  peak RSS ratio {large}/{small} cases: {figures[large] / figures[small]:.2f} "
          "(flat = close to 1)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timers", type=int, default=10000)
    parser.add_argument("--cases-for-memory", type=int, default=100000)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--dir", type=Path, help="keep the databases here")
    args = parser.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="ast-bench-daemon-"))
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / 'catch-up.db'}"
    print(f"databases in {folder}")
    seed(url, args.timers)
    catch_up(url, args.timers)
    delivery(url)
    if not args.skip_memory:
        memory(folder, 1000, args.cases_for_memory)
    print(f"this process's own peak RSS: "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
