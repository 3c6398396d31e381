"""Running the daemon as a real process against a database seeded with overdue work: shared by
tests/integration/test_daemon.py and bench/crash_daemon.py."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from storage import queries
from storage.db import Database
from storage.migrations import migrate
from tests import ROOT
from tests.builders import application_data
from workflows.core.clock import FixedClock
from workflows.engine import Actor, Engine
from workflows.core.times import parse_instant

ENGINE = ROOT / "run_engine.py"


def seed_overdue(db_url: str, cases: int, first: str = "2026-01-05") -> list[str]:
    """`cases` applications received long ago whose headteachers never answered: each has a
    headteacher_deadline overdue by the real clock, and an application_received notice."""
    db = Database(db_url)
    migrate(db, "2026-01-01T00:00:00+00:00")
    clock = FixedClock(parse_instant("2026-06-01"))
    engine = Engine(db, clock=clock)
    start = parse_instant(first)
    ids = [engine.open("application", Actor.parse("headteacher:h.brown"), application_data(),
                       start + timedelta(minutes=i)).case for i in range(cases)]
    db.dispose()
    return ids


def daemon_env(smtp_port: int | None = None, folder: Path | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AST_ENGINE_")}
    if smtp_port is not None:
        env.update(AST_ENGINE_DELIVERY_CHANNEL="smtp", AST_ENGINE_DELIVERY_SMTP_PORT=str(smtp_port))
    if folder is not None:
        env.update(AST_ENGINE_DELIVERY_FOLDER=str(folder))
    return env


def start_daemon(db_url: str, log: Path, env: dict, tick: float = 1.0) -> subprocess.Popen:
    out = open(log, "a")
    return subprocess.Popen([sys.executable, str(ENGINE), "--db", db_url, "daemon", "--tick",
                             str(tick)], stdout=out, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)


def stop(process: subprocess.Popen, sig=signal.SIGTERM, timeout: float = 60) -> int:
    process.send_signal(sig)
    return process.wait(timeout)


def wait_until(predicate, timeout: float = 120, every: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return predicate()


def counts(db_url: str) -> dict:
    db = Database(db_url)
    try:
        with db.read() as conn:
            one = lambda sql: conn.exec_driver_sql(sql).scalar()
            return {
                "pending_timers": one("SELECT COUNT(*) FROM timers WHERE status = 'pending'"),
                "fired_timers": one("SELECT COUNT(*) FROM timers WHERE status = 'fired'"),
                "timer_entries": one("SELECT COUNT(*) FROM transition_log "
                                     "WHERE substr(trigger, 1, 6) = 'timer:'"),
                "pending_notices": one("SELECT COUNT(*) FROM notices WHERE status = 'pending'"),
                "sent_notices": one("SELECT COUNT(*) FROM notices WHERE status = 'sent'"),
                "notices": one("SELECT COUNT(*) FROM notices"),
            }
    finally:
        db.dispose()


def timer_entries_per_case(db_url: str) -> dict[str, int]:
    db = Database(db_url)
    try:
        with db.read() as conn:
            rows = conn.exec_driver_sql(
                "SELECT case_id, COUNT(*) FROM transition_log WHERE trigger = "
                "'timer:headteacher_deadline' GROUP BY case_id").all()
        return dict(rows)
    finally:
        db.dispose()


def chains_verify(db_url: str) -> bool:
    db = Database(db_url)
    try:
        return queries.verify_log(db).ok
    finally:
        db.dispose()


def notice_ids(db_url: str) -> list[str]:
    db = Database(db_url)
    try:
        with db.read() as conn:
            return [r[0] for r in conn.exec_driver_sql("SELECT id FROM notices").all()]
    finally:
        db.dispose()


def message_ids(notices: list[str], sender_domain: str = "la.example.org") -> set[str]:
    return {f"<{n}@{sender_domain}>" for n in notices}


def crash_run(db_url: str, log: Path, env: dict, kills: int, rng,
              window: tuple[float, float] = (0.6, 1.2), tick: float = 0.5,
              on_kill=lambda n, c: None) -> int:
    """Start the daemon and SIGKILL it at a random moment, `kills` times (fewer if the work is
    all done first), then let one last daemon finish the work and stop it cleanly."""
    done = 0
    while done < kills:
        before = counts(db_url)
        if before["pending_timers"] == 0 and before["pending_notices"] == 0:
            break
        process = start_daemon(db_url, log, env, tick)
        time.sleep(rng.uniform(*window))   # the crash schedule: a random moment in its work
        if process.poll() is None:
            process.kill()
            process.wait(30)
            done += 1
            on_kill(done, counts(db_url))
    process = start_daemon(db_url, log, env, tick)
    wait_until(lambda: (lambda c: c["pending_timers"] == 0 and c["pending_notices"] == 0)(
        counts(db_url)), timeout=300, every=0.25)
    stop(process)
    return done
