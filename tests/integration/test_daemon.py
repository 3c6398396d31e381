"""The daemon as an operations team runs it: a real process that catches up after downtime,
delivers every notice, refuses a second copy on SQLite, shares the work on PostgreSQL, stops
cleanly on SIGTERM and loses nothing when killed."""
from __future__ import annotations

import random
import signal
import subprocess
import sys
from collections import Counter

import pytest
from sqlalchemy import create_engine, text

from tests import daemon_harness as h
from tests.mailserver import MailServer


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'cases.db'}"


def cli(db_url: str, *args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(h.ENGINE), "--db", db_url, *args],
                          capture_output=True, text=True, timeout=60, env=env or h.daemon_env())


def test_after_downtime_the_daemon_fires_overdue_timers_in_due_order_and_delivers(sqlite_url,
                                                                                  tmp_path):
    h.seed_overdue(sqlite_url, 30)
    outbox = tmp_path / "outbox"
    daemon = h.start_daemon(sqlite_url, tmp_path / "daemon.log", h.daemon_env(folder=outbox))
    try:
        assert h.wait_until(lambda: h.counts(sqlite_url)["pending_notices"] == 0
                            and h.counts(sqlite_url)["pending_timers"] == 0, timeout=60)
    finally:
        assert h.stop(daemon) == 0
    log = (tmp_path / "daemon.log").read_text()
    assert "catch-up: 30 overdue timer(s) to fire" in log
    assert "catch-up: 30 of 30 overdue timers done" in log
    assert log.strip().splitlines()[-1].endswith(
        "stopped: 30 timer(s) fired, 60 notice(s) sent, 0 to retry, 0 failed, 0 error(s)")
    assert set(h.timer_entries_per_case(sqlite_url).values()) == {1}
    assert len(list(outbox.glob("*.eml"))) == 60
    fired = [r[0] for r in create_engine(sqlite_url).connect().execute(text(
        "SELECT t.fires_at FROM transition_log l JOIN timers t ON t.case_id = l.case_id "
        "WHERE l.trigger = 'timer:headteacher_deadline' ORDER BY l.global_seq")).all()]
    assert fired == sorted(fired)
    assert h.chains_verify(sqlite_url)


def test_a_notice_committed_while_it_runs_goes_out_at_the_next_notice_poll_not_the_next_tick(
        sqlite_url, tmp_path):
    """The tick is an hour: the notice can only go out through the daemon's notice poll
    (NOTICE_POLL_SECONDS), which the test waits for, generously, instead of timing it."""
    h.seed_overdue(sqlite_url, 1)
    outbox = tmp_path / "outbox"
    env = h.daemon_env(folder=outbox)
    daemon = h.start_daemon(sqlite_url, tmp_path / "daemon.log", env, tick=3600)
    try:
        assert h.wait_until(lambda: h.counts(sqlite_url)["pending_notices"] == 0, timeout=30)
        opened = cli(sqlite_url, "open", "application", "--actor", "headteacher:h.brown",
                     "--at", "2026-01-05", "--data",
                     '{"candidate": {"name": "Zoe Quinn", "email": "zoe@hill.example.org"}, '
                     '"career_stage": "main_scale", "school": {"name": "Hill"}, '
                     '"headteacher": {"name": "Hugh", "email": "h@hill.example.org"}, '
                     '"post": {"school": "Hill", "advertisement": "internal"}}', env=env)
        assert opened.returncode == 0, opened.stderr
        case = opened.stdout.strip()
        assert h.wait_until(lambda: (outbox / f"{case}.1.1.eml").exists(), timeout=120,
                            every=0.05)
    finally:
        assert h.stop(daemon, signal.SIGINT) == 0


def test_a_second_daemon_on_one_sqlite_file_refuses_and_other_commands_still_work(sqlite_url,
                                                                                  tmp_path):
    h.seed_overdue(sqlite_url, 2)
    env = h.daemon_env(folder=tmp_path / "outbox")
    first = h.start_daemon(sqlite_url, tmp_path / "daemon.log", env)
    try:
        assert h.wait_until(lambda: "catch-up" in (tmp_path / "daemon.log").read_text(), 30)
        second = cli(sqlite_url, "daemon", env=env)
        assert second.returncode == 2
        assert second.stderr.startswith("error: a daemon already runs on this database (pid "
                                        f"{first.pid}")
        # The same file by another name (a symlink) is the same database, and so the same lock.
        real = sqlite_url.removeprefix("sqlite:///")
        link = tmp_path / "another-name.db"
        link.symlink_to(real)
        by_link = cli(f"sqlite:///{link}", "daemon", env=env)
        assert by_link.returncode == 2 and "a daemon already runs" in by_link.stderr
        assert cli(sqlite_url, "list", env=env).returncode == 0
        # Delivery is the daemon's: a `deliver` beside it would send the same notices twice.
        deliver = cli(sqlite_url, "deliver", env=env)
        assert deliver.returncode == 2 and "a daemon already runs" in deliver.stderr
        assert "nothing for `deliver` to do" in deliver.stderr
        status = cli(sqlite_url, "status", "--json", env=env)
        assert '"stopped_at": null' in status.stdout
    finally:
        assert h.stop(first) == 0


def test_a_killed_daemon_leaves_no_stale_lock(sqlite_url, tmp_path):
    h.seed_overdue(sqlite_url, 1)
    env = h.daemon_env(folder=tmp_path / "outbox")
    killed = h.start_daemon(sqlite_url, tmp_path / "daemon.log", env)
    assert h.wait_until(lambda: "catch-up" in (tmp_path / "daemon.log").read_text(), 30)
    killed.kill()
    killed.wait(10)
    again = h.start_daemon(sqlite_url, tmp_path / "daemon.log", env)
    try:
        assert h.wait_until(lambda: (tmp_path / "daemon.log").read_text().count("daemon ") >= 2
                            and again.poll() is None, 30)
    finally:
        assert h.stop(again) == 0


def test_two_daemons_on_postgresql_fire_every_timer_once_and_send_every_notice_once(pg_url,
                                                                                    tmp_path):
    h.seed_overdue(pg_url, 60)
    with MailServer() as server:
        env = h.daemon_env(smtp_port=server.port)
        daemons = [h.start_daemon(pg_url, tmp_path / f"daemon{i}.log", env) for i in (1, 2)]
        try:
            assert h.wait_until(lambda: (lambda c: c["pending_timers"] == 0
                                         and c["pending_notices"] == 0)(h.counts(pg_url)), 120)
        finally:
            assert [h.stop(d) for d in daemons] == [0, 0]
        arrived = server.recorder.ids()
    assert set(h.timer_entries_per_case(pg_url).values()) == {1}
    assert len(h.timer_entries_per_case(pg_url)) == 60
    assert arrived == Counter(h.message_ids(h.notice_ids(pg_url)))   # each exactly once
    assert h.chains_verify(pg_url)
    worked = [(tmp_path / f"daemon{i}.log").read_text().count("fired timer:") for i in (1, 2)]
    assert sum(worked) == 60


def test_sigkill_at_random_moments_loses_nothing_and_duplicates_at_most_one_per_kill(sqlite_url,
                                                                                     tmp_path):
    cases = 1000
    h.seed_overdue(sqlite_url, cases)
    rng = random.Random(20261123)
    with MailServer() as server:
        env = h.daemon_env(smtp_port=server.port)
        kills = h.crash_run(sqlite_url, tmp_path / "daemon.log", env, kills=20, rng=rng)
        arrived = server.recorder.ids()
    # Up to 20 kills, each while work was left to do: a fast machine may finish all of it
    # before the twentieth, so the count itself depends on the machine, not on the engine.
    assert kills >= 5
    per_case = h.timer_entries_per_case(sqlite_url)
    assert len(per_case) == cases and set(per_case.values()) == {1}
    final = h.counts(sqlite_url)
    assert (final["pending_timers"], final["pending_notices"]) == (0, 0)
    assert final["fired_timers"] == final["timer_entries"] == cases
    assert h.chains_verify(sqlite_url)
    expected = h.message_ids(h.notice_ids(sqlite_url))
    assert set(arrived) == expected                        # every notice arrived
    assert sum(n - 1 for n in arrived.values()) <= kills   # a resend at most per kill


def test_a_sigterm_during_start_up_still_ends_in_a_clean_exit(sqlite_url, tmp_path):
    h.seed_overdue(sqlite_url, 1)
    env = h.daemon_env(folder=tmp_path / "outbox")
    # From the moment its own code runs (the interpreter's first tens of milliseconds are
    # Python's own), a SIGTERM at any point of the start-up ends in exit 0.
    for delay in (0.15, 0.4, 0.7, 1.0):
        daemon = h.start_daemon(sqlite_url, tmp_path / "daemon.log", env)
        h.wait_until(lambda: False, timeout=delay, every=delay)
        assert h.stop(daemon) == 0


def test_sigterm_while_the_scheduler_hands_out_a_round_still_stops_the_daemon(tmp_path):
    """A signal handler runs in the main thread wherever the signal found it. Found inside
    APScheduler handing a round to its executor (which holds the executor's shutdown lock
    while it starts its worker thread), a handler that shut the scheduler down itself waited
    for that lock forever: a daemon hung on SIGTERM in CI. The handler only asks; the daemon
    then stops once the interrupted code goes on."""
    import threading
    from notifications.delivery import FileChannel
    from storage.db import Database
    from storage.migrations import migrate
    from workflows.core.clock import SystemClock
    from workflows.core.config import Config
    from workflows.daemon.loop import Daemon
    from workflows.engine import Engine
    from workflows.engine.notice_queue import Outbox

    db = Database(f"sqlite:///{tmp_path / 'cases.db'}")
    migrate(db, "2026-01-01T00:00:00+00:00")
    clock = SystemClock()
    daemon = Daemon(Engine(db, Config(), clock=clock),
                    Outbox(db, FileChannel(tmp_path / "outbox"), "ast@la.example.org", 3, clock),
                    clock, tick_seconds=0.2)
    looping = threading.Thread(target=daemon.loop, daemon=True)
    looping.start()
    assert h.wait_until(lambda: getattr(daemon, "scheduler", None) is not None
                        and daemon.scheduler.running, 10)

    def signal_arrives_inside_submit():
        with daemon.worker._pool._shutdown_lock:   # where the signal found the main thread
            daemon.stop(signal.SIGTERM, None)

    interrupted = threading.Thread(target=signal_arrives_inside_submit, daemon=True)
    interrupted.start()
    interrupted.join(5)
    assert not interrupted.is_alive(), "the signal handler waited on a lock it interrupted"
    looping.join(10)
    assert not looping.is_alive() and not daemon.scheduler.running
    # A round handed out just before the stop runs after the scheduler was shut down: it
    # stops quietly too, not with APScheduler's "not running" error.
    daemon.round()
    db.dispose()
