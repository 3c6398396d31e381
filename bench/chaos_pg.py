"""Chaos on PostgreSQL, the long form of tests/integration/test_outages.py against the real server: two
daemons under a supervisor (it starts a daemon again half a second after it ends, as systemd's
Restart= would), 1,000 overdue cases, the server restarted (or stopped for two seconds and
started) several times and a daemon SIGKILLed several times per run, while the work goes on.
After each server restart a few probe cases with an overdue deadline are stored: how long their
timers wait is the timer delay after an outage, whatever the notice backlog.

Then it checks and prints: every timer fired exactly once, every notice arrived (and how many
twice), daemon exits other than the kills (there should be none: outages are ridden out), the
longest probe timer delay, when the timers and when the notices were all done, the outage lines
in the logs, and both hash chains.

It restarts the server it is given (`pg_ctlcluster`), so it is not part of the test suite, which
shares the server with other runs; each outage lasts a few seconds and the server is always
started again at the end.

    python bench/chaos_pg.py [--runs 3] [--cases 1000] [--restarts 5] [--kills 10]
                             [--cluster "15 main"] [--url URL] [--seed N]

--url names a database on that cluster's server (default: the suite's local one, database
`test` at 127.0.0.1:5432); to leave a shared server alone, make a cluster of your own for it:
`pg_createcluster 15 chaos -p 5433 --start -- -A trust`, create its `test` database, run with
`--cluster "15 chaos" --url postgresql+psycopg://postgres@127.0.0.1:5433/test`, then
`pg_dropcluster --stop 15 chaos`.
"""
from __future__ import annotations

import argparse
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from tests import daemon_harness as h  # noqa: E402
from tests.mailserver import MailServer  # noqa: E402

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) (INFO|WARNING|ERROR|CRITICAL) \S")


class Supervisor:
    """Keeps `count` daemons running: one that ends (killed, or exited) is started again after
    half a second. Exits that were not our kills are recorded with their codes."""

    def __init__(self, url: str, folder: Path, env: dict, count: int = 2):
        self.url, self.folder, self.env = url, folder, env
        self.slots: list[subprocess.Popen | None] = [None] * count
        self.killed: set[int] = set()
        self.other_exits: list[int] = []
        self.starts = 0
        self.running = True
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        for i in range(len(self.slots)):
            self._start(i)
        self.thread.start()

    def _start(self, i: int) -> None:
        self.slots[i] = h.start_daemon(self.url, self.folder / f"daemon{i}.log", self.env,
                                       tick=1.0)
        self.starts += 1

    def _watch(self) -> None:
        while self.running:
            with self.lock:
                for i, process in enumerate(self.slots):
                    if process is not None and process.poll() is not None:
                        if process.pid not in self.killed:
                            self.other_exits.append(process.returncode)
                        self.slots[i] = None
                        threading.Timer(0.5, self._restart, args=(i,)).start()
            time.sleep(0.05)

    def _restart(self, i: int) -> None:
        with self.lock:
            if self.running and self.slots[i] is None:
                self._start(i)

    def kill_one(self, rng: random.Random) -> bool:
        with self.lock:
            alive = [p for p in self.slots if p is not None and p.poll() is None]
            if not alive:
                return False
            victim = rng.choice(alive)
            self.killed.add(victim.pid)
            victim.kill()
        return True

    def stop(self) -> list[int]:
        """SIGTERM every daemon; their exit codes."""
        self.running = False
        self.thread.join(5)
        time.sleep(0.6)   # a restart timer that was about to fire
        codes = []
        with self.lock:
            for process in self.slots:
                if process is not None and process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    codes.append(process.wait(60))
        return codes


def pg_ctl(cluster: list[str], action: str) -> None:
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, action],
                   check=True, capture_output=True, timeout=120)


def server_up(cluster: list[str], wait: float = 60) -> None:
    """Wait until the server answers; start it if it does not."""
    port = str(make_url(SERVER).port or 5432)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", port]).returncode == 0:
            return
        time.sleep(0.2)
    pg_ctl(cluster, "start")


def outage(cluster: list[str], n: int) -> str:
    """A restart (about a second away), or a stop, two seconds, and a start."""
    if n % 2 == 0:
        pg_ctl(cluster, "restart")
        return "restart"
    pg_ctl(cluster, "stop")
    time.sleep(2)
    pg_ctl(cluster, "start")
    return "stop, 2 s, start"


def one_run(number: int, args, cluster: list[str], rng: random.Random) -> bool:
    schema = f"chaos_{uuid.uuid4().hex[:10]}"
    admin = create_engine(SERVER, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{SERVER}?options=-csearch_path%3D{schema}"
    folder = Path(tempfile.mkdtemp(prefix=f"ast-chaos-{number}-"))
    print(f"run {number}: schema {schema}, logs in {folder}", flush=True)
    try:
        h.seed_overdue(url, args.cases)
        probes: list[tuple[str, float]] = []   # (case, when stored, monotonic)
        with MailServer() as mail:
            supervisor = Supervisor(url, folder, h.daemon_env(smtp_port=mail.port))
            started = time.monotonic()
            progress = Progress(url, args.cases, started)
            supervisor.start()
            events = ["restart"] * args.restarts + ["kill"] * args.kills
            rng.shuffle(events)
            restarts = kills = 0
            for event in events:
                time.sleep(rng.uniform(0.8, 2.0))
                if event == "kill":
                    kills += supervisor.kill_one(rng)
                else:
                    outage(cluster, restarts)
                    restarts += 1
                    server_up(cluster)
                    stored = time.monotonic()
                    for case in h.seed_overdue(url, 3, first="2026-02-02"):
                        probes.append((case, stored))
            h.wait_until(lambda: all_done(url), timeout=600, every=0.25)
            progress.stop()
            timers_done, notices_done = progress.timers_done, progress.notices_done
            codes = supervisor.stop()
            arrived = mail.recorder.ids()
        delays = probe_delays(url, probes, started)
        return report(url, folder, args, restarts, kills, supervisor, codes, arrived, delays,
                      timers_done, notices_done)
    finally:
        server_up(cluster)
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def all_done(url: str) -> bool:
    try:
        c = h.counts(url)
    except Exception:   # the server is away: not done
        return False
    return c["pending_timers"] == 0 and c["pending_notices"] == 0


class Progress(threading.Thread):
    """When the seeded cases' timers were all fired, and their notices all sent (seconds
    from the start), sampled every quarter second; outages only delay a sample."""

    def __init__(self, url: str, cases: int, started: float):
        super().__init__(daemon=True)
        self.url, self.cases, self.started = url, cases, started
        self.timers_done: float | None = None
        self.notices_done: float | None = None
        self.done = threading.Event()
        self.start()

    def run(self) -> None:
        while not self.done.wait(0.25):
            try:
                c = h.counts(self.url)
            except Exception:
                continue
            now = time.monotonic() - self.started
            if self.timers_done is None and c["fired_timers"] >= self.cases:
                self.timers_done = now
            if self.notices_done is None and c["sent_notices"] >= 2 * self.cases:
                self.notices_done = now

    def stop(self) -> None:
        self.done.set()
        self.join(5)


def probe_delays(url: str, probes: list[tuple[str, float]], started: float) -> list[float]:
    """Seconds from storing each probe to its timer's log entry (recorded_at, real time)."""
    from datetime import datetime
    from storage.db import Database
    db = Database(url)
    try:
        with db.read() as conn:
            rows = dict(conn.exec_driver_sql(
                "SELECT l.case_id, l.recorded_at FROM transition_log l WHERE l.trigger = "
                "'timer:headteacher_deadline'").all())
            opened = dict(conn.exec_driver_sql(
                "SELECT case_id, recorded_at FROM transition_log WHERE seq = 1").all())
    finally:
        db.dispose()
    delays = []
    for case, _stored in probes:
        if case in rows:
            delays.append((datetime.fromisoformat(rows[case]) -
                           datetime.fromisoformat(opened[case])).total_seconds())
        else:
            delays.append(float("inf"))
    return delays


def log_figures(folder: Path) -> dict:
    lines = [line for log in sorted(folder.glob("daemon*.log"))
             for line in log.read_text().splitlines()]
    per_second = Counter(m.group(1) for line in lines if (m := LINE.match(line)))
    return {
        "lines": len(lines),
        "not one line per event": sum(1 for line in lines if not LINE.match(line)),
        "outage warnings": sum("database unavailable" in line for line in lines),
        "back lines": sum("database available again" in line for line in lines),
        "timer errors": sum(" ERROR timer " in line for line in lines),
        "most lines in one second": max(per_second.values(), default=0),
        "exits with a fault": sum(" CRITICAL " in line for line in lines),
    }


def report(url, folder, args, restarts, kills, supervisor, codes, arrived, delays,
           timers_done, notices_done) -> bool:
    per_case = h.timer_entries_per_case(url)
    final = h.counts(url)
    expected = h.message_ids(h.notice_ids(url))
    duplicates = sum(n - 1 for n in arrived.values())
    logs = log_figures(folder)
    cases = args.cases + len(delays)
    print(f"  {restarts} server outages, {kills} kills, {supervisor.starts} daemon starts; "
          f"daemon exits other than kills: {supervisor.other_exits or 'none'}; "
          f"SIGTERM exit codes at the end: {codes}")
    print(f"  timers: {final['fired_timers']} fired of {cases} ({len(per_case)} cases, "
          f"{sum(1 for n in per_case.values() if n > 1)} fired twice); the {args.cases} "
          f"overdue at the start all fired at {timers_done and f'{timers_done:.1f}'} s")
    print(f"  notices: {len(set(arrived))} of {len(expected)} arrived, {duplicates} twice; "
          f"those {2 * args.cases} all delivered at {notices_done and f'{notices_done:.1f}'} s")
    finite = [d for d in delays if d != float("inf")]
    print(f"  probe timers stored after each outage: {len(delays)}, fired {len(finite)}; "
          f"delay max {max(finite, default=0):.1f} s, median "
          f"{sorted(finite)[len(finite) // 2] if finite else 0:.1f} s")
    print(f"  logs: {logs}")
    checks = {
        "every timer fired exactly once": len(per_case) == cases
        and set(per_case.values()) == {1} and final["pending_timers"] == 0,
        "every notice arrived": set(arrived) == expected and final["pending_notices"] == 0,
        "resends at most one per kill or outage": duplicates <= kills + restarts * 2,
        "no daemon exit but the kills": not supervisor.other_exits,
        "SIGTERM exits 0": all(c == 0 for c in codes),
        "one line per event": logs["not one line per event"] == 0,
        "both hash chains verify": h.chains_verify(url),
    }
    for name, ok in checks.items():
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")
    return all(checks.values())


def main() -> int:
    global SERVER
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--restarts", type=int, default=5)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--cluster", default="15 main", help="pg_ctlcluster's VERSION NAME")
    parser.add_argument("--url", default=SERVER, help="a database on that cluster's server")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    SERVER = args.url
    cluster = args.cluster.split()
    rng = random.Random(args.seed)
    print(f"seed {args.seed}; {args.runs} run(s) of {args.cases} overdue cases, "
          f"{args.restarts} server outages and {args.kills} kills each")
    results = []
    try:
        for number in range(1, args.runs + 1):
            results.append(one_run(number, args, cluster, rng))
    finally:
        server_up(cluster)
    print(f"{sum(results)} of {len(results)} run(s) passed every check")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
