"""The daemon as LA IT run and watch it (issue 12): --version, `status --check` in the
monitoring-plugin convention and `status --json`, a heartbeat that stays fresh through a long
backlog, timers that never wait for the mail, dead daemons' rows, Prometheus metrics scraped
from a running daemon, and log lines with the journal's priorities. Real processes throughout."""
from __future__ import annotations

import json
import os
import re
import socket
import time
import urllib.request
from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from storage import daemons, queries
from storage.db import Database
from tests import daemon_harness as h
from tests.cli import Cli
from tests.mailserver import MailServer, free_port
from workflows.core.clock import REAL
from workflows.daemon.loop import BATCH_SECONDS, BEAT_SECONDS
from workflows.core.times import utc_iso


def run(url: str, *args: str, env: dict | None = None):
    return Cli(h.ENGINE.parent, db=url)(*args, env=env)


RELAY_DELAY = 0.05   # seconds the slow relay takes to accept each message

def check(url: str, env: dict | None = None) -> tuple[int, str]:
    result = run(url, "status", "--check", env=env)
    assert result.stdout.count("\n") == 1, result.stdout + result.stderr   # one line
    return result.returncode, result.stdout.strip()


def status_json(url: str) -> dict:
    result = run(url, "status", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def all_done(url: str) -> bool:
    c = h.counts(url)
    return c["pending_timers"] == 0 and c["pending_notices"] == 0


def test_version_names_the_engine_and_its_schema():
    result = Cli(h.ENGINE.parent)("--version")
    assert result.returncode == 0
    assert re.fullmatch(r"ast-engine \d+\.\d+\.\d+\S* \(schema version \d+\)\n", result.stdout)


def test_status_check_follows_a_daemon_from_never_run_to_alive_to_stopped(tmp_path):
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    h.seed_overdue(url, 3)
    code, line = check(url)
    assert (code, line.split(" | ")[0]) == (2, "CRITICAL - no daemon alive: none has run on "
                                               "this database; 3 timer(s) overdue by more "
                                               "than one tick (60s)")
    assert status_json(url)["alive"] is False

    daemon = h.start_daemon(url, tmp_path / "daemon.log", h.daemon_env(folder=tmp_path / "out"))
    try:
        assert h.wait_until(lambda: all_done(url), 60)
        code, line = check(url)
        assert code == 0, line
        assert line.startswith(f"OK - daemon {socket.gethostname()}:{daemon.pid}:"), line
        assert "0 overdue timer(s), 0 notice(s) pending | daemons=1;;1 heartbeat_age=" in line
        report = status_json(url)
        assert report["alive"] is True and report["daemons_alive"] == 1
        assert 0 <= report["heartbeat_age_seconds"] < BEAT_SECONDS + 5
    finally:
        assert h.stop(daemon) == 0
    # Stopped on SIGTERM: it says so at once, not a minute later.
    code, line = check(url)
    assert code == 2 and line.startswith("CRITICAL - no daemon alive: the last one stopped at ")
    assert "(3 timer(s) fired, 6 notice(s) sent, 0 to retry, 0 failed, 0 error(s))" in line
    report = status_json(url)
    assert report["alive"] is False and report["daemon"]["stopped_at"] is not None


def test_a_killed_daemons_row_is_dead_once_silent_and_the_next_daemon_closes_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    h.seed_overdue(url, 1)
    db = Database(url)
    silent_since = utc_iso(REAL.now() - timedelta(minutes=5))
    daemons.beat(db, "gone:4242:x", "gone", 4242, silent_since)   # SIGKILLed five minutes ago
    code, line = check(url)
    assert code == 2
    assert re.match(r"CRITICAL - no daemon alive: the last one \(gone:4242:x\) fell silent "
                    r"30\ds ago \(no heartbeat for over 60s", line), line

    daemon = h.start_daemon(url, tmp_path / "daemon.log", h.daemon_env(folder=tmp_path / "out"))
    try:
        assert h.wait_until(lambda: all_done(url), 60)
        assert check(url)[0] == 0
    finally:
        assert h.stop(daemon) == 0
    with db.read() as conn:
        row = conn.exec_driver_sql("SELECT stopped_at, summary FROM daemons WHERE id = "
                                   "'gone:4242:x'").one()
    db.dispose()
    assert row.stopped_at == silent_since
    assert row.summary.startswith(f"no heartbeat since {silent_since}: presumed dead")
    assert "closed 1 daemon row(s) with no heartbeat" in (tmp_path / "daemon.log").read_text()


def test_status_check_warns_of_late_timers_failed_notices_and_failed_timers(tmp_path):
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    ids = h.seed_overdue(url, 2)
    db = Database(url)
    daemons.beat(db, "here:1:x", "here", 1, utc_iso(REAL.now()))   # a daemon that looks alive
    code, line = check(url)
    assert code == 1
    assert line.startswith("WARNING - 2 timer(s) overdue by more than one tick (60s); "
                           "daemon here:1:x alive, last heartbeat"), line

    closed_port = {"AST_ENGINE_DELIVERY_CHANNEL": "smtp",
                   "AST_ENGINE_DELIVERY_SMTP_PORT": str(free_port()),
                   "AST_ENGINE_DELIVERY_MAX_ATTEMPTS": "1"}
    assert run(url, "deliver", env=closed_port).returncode == 3
    with db.write() as conn:   # as five failed attempts leave a timer
        conn.exec_driver_sql(f"UPDATE timers SET status = 'failed' WHERE case_id = '{ids[0]}'")
    daemons.beat(db, "here:1:x", "here", 1, utc_iso(REAL.now()))
    db.dispose()
    code, line = check(url)
    assert code == 1
    assert line.startswith("WARNING - 2 failed notice(s); 1 failed timer(s); 1 timer(s) "
                           "overdue by more than one tick (60s); daemon here:1:x alive"), line
    assert " failed_notices=2;0" in line


def test_status_check_is_unknown_when_the_database_cannot_be_read(tmp_path):
    code, line = check(f"sqlite:///{tmp_path / 'nowhere.db'}")
    assert code == 3
    assert line.startswith("UNKNOWN - cannot read the database: no database at ")
    assert not (tmp_path / "nowhere.db").exists()
    code, line = check("postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert code == 3 and line.startswith("UNKNOWN - cannot read the database: "), line


def test_a_due_timer_waits_at_most_one_batch_and_the_heartbeat_stays_fresh_through_a_backlog(
        tmp_path):
    """Counted in mail, not in seconds: the relay takes RELAY_DELAY per message, so one batch
    carries at most BATCH_SECONDS / RELAY_DELAY of them (fewer on a busy machine, never more),
    and the span between two heartbeats at most (BEAT_SECONDS + BATCH_SECONDS) / RELAY_DELAY."""
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    h.seed_overdue(url, 100)   # 100 timers, then 200 notices to a relay that takes its time
    db = Database(url)
    one_batch = BATCH_SECONDS / RELAY_DELAY + 1                    # and the one in flight
    between_beats = (BEAT_SECONDS + BATCH_SECONDS) / RELAY_DELAY + 1
    beats: list[int] = []   # the notices sent when each fresh heartbeat was first seen
    last_age = [float("inf")]

    def watch_heartbeat() -> None:
        report = queries.status(db, utc_iso(REAL.now()), utc_iso(REAL.now()))
        age = report["heartbeat_age_seconds"]
        if report["alive"] and age is not None and age < last_age[0]:
            beats.append(h.counts(url)["sent_notices"])
        last_age[0] = age if age is not None else float("inf")

    with MailServer(delay=RELAY_DELAY) as server:
        daemon = h.start_daemon(url, tmp_path / "daemon.log", h.daemon_env(smtp_port=server.port))
        try:
            assert h.wait_until(lambda: h.counts(url)["sent_notices"] >= 20, 60)
            h.seed_overdue(url, 1, first="2026-03-02")   # a deadline passed, stored meanwhile
            sent_when_stored = h.counts(url)["sent_notices"]
            assert h.wait_until(lambda: h.counts(url)["timer_entries"] == 101, 60, every=0.05)
            sent_when_fired = h.counts(url)["sent_notices"]
            backlog = h.counts(url)["pending_notices"]
            while not all_done(url):
                watch_heartbeat()
                time.sleep(0.25)
        finally:
            assert h.stop(daemon) == 0
    db.dispose()
    assert backlog > 20, "the backlog was gone before the timer fired: nothing was shown"
    assert sent_when_fired - sent_when_stored <= one_batch, \
        f"a due timer waited behind {sent_when_fired - sent_when_stored} notices"
    spans = [later - earlier for earlier, later in zip(beats, beats[1:])]
    assert len(beats) > 2 and max(spans) <= between_beats, beats


def test_a_running_daemon_serves_prometheus_metrics(tmp_path):
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    h.seed_overdue(url, 4)
    port = free_port()
    env = h.daemon_env(folder=tmp_path / "out") | {"AST_ENGINE_DAEMON_METRICS_PORT": str(port)}
    daemon = h.start_daemon(url, tmp_path / "daemon.log", env)

    def scrape() -> dict[str, float]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                body = r.read().decode()
        except OSError:
            return {}
        return {s.name: s.value for f in text_string_to_metric_families(body)
                for s in f.samples}

    try:
        assert h.wait_until(lambda: all_done(url), 60)
        # The gauges follow at the next heartbeat.
        assert h.wait_until(lambda: scrape().get("ast_engine_notices_pending") == 0, 30)
        seen = scrape()
    finally:
        assert h.stop(daemon) == 0
    assert seen["ast_engine_timers_fired_total"] == 4
    assert seen["ast_engine_notices_sent_total"] == 8
    assert seen["ast_engine_notices_failed_total"] == 0
    assert seen["ast_engine_timers_overdue"] == 0
    assert seen["ast_engine_database_up"] == 1
    assert abs(seen["ast_engine_heartbeat_timestamp_seconds"] - time.time()) < 30


def test_a_metrics_port_already_taken_is_refused_at_start_up(tmp_path):
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    h.seed_overdue(url, 1)
    with MailServer() as taken:
        env = h.daemon_env(folder=tmp_path / "out") | {
            "AST_ENGINE_DAEMON_METRICS_PORT": str(taken.port)}
        result = run(url, "daemon", env=env)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: [daemon] metrics_port: cannot serve metrics on "
                                    f"127.0.0.1:{taken.port}")


def test_under_the_journal_lines_carry_priorities_and_a_timer_that_cannot_fire_is_an_error(
        tmp_path):
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    broken, *fine = h.seed_overdue(url, 3)
    engine = create_engine(url)
    with engine.begin() as conn:   # a case in a state no process knows: its timer cannot fire
        conn.execute(text("UPDATE cases SET state = 'lost_in_transit' WHERE id = :id"),
                     {"id": broken})
    engine.dispose()
    log = tmp_path / "daemon.log"
    log.touch()
    stat = os.stat(log)
    env = h.daemon_env() | {"AST_ENGINE_DELIVERY_CHANNEL": "smtp",   # a relay that is down
                            "AST_ENGINE_DELIVERY_SMTP_PORT": str(free_port()),
                            "JOURNAL_STREAM": f"{stat.st_dev}:{stat.st_ino}"}
    daemon = h.start_daemon(url, log, env)
    try:
        assert h.wait_until(lambda: "<3>timer " in log.read_text()
                            and "<4>notice " in log.read_text(), 60)
    finally:
        assert h.stop(daemon) == 0
    said = log.read_text().splitlines()
    assert [line for line in said if not re.match(r"<[0-7]>\S", line)] == []
    assert not any(re.search(r"\d\d:\d\d:\d\dZ", line) for line in said)   # the journal's own
    errors = [line for line in said if line.startswith("<3>")]
    assert errors and all(f"on {broken}) could not fire and stays pending" in line
                          for line in errors)
    assert sum(line.startswith("<6>fired timer:headteacher_deadline") for line in said) == 2
    assert any(line.startswith("<4>notice ") and "not delivered (attempt 1 of 8)" in line
               for line in said)
    assert said[-1].startswith("<6>stopped: 2 timer(s) fired")
