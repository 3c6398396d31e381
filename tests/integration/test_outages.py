"""The daemon through database outages (a real process): PostgreSQL cut off through a loopback
proxy that drops every connection and refuses new ones for a few seconds (the shared server
itself is never stopped), a SQLite file that vanishes and comes back, and a schema it cannot run
on. It stays up, fires every timer once, delivers every notice, logs one line per event, and
exits 0 on SIGTERM even while the database is away."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import create_engine, text

from storage.migrations import LATEST
from tests import daemon_harness as h
from tests.mailserver import MailServer
from tests.tcp_proxy import TcpProxy, proxied
from workflows.daemon.loop import retry_delays

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (INFO|WARNING|ERROR|CRITICAL) \S")


def all_done(url: str) -> bool:
    c = h.counts(url)
    return c["pending_timers"] == 0 and c["pending_notices"] == 0


def lines(log) -> list[str]:
    return log.read_text().splitlines()


def test_retries_wait_one_second_doubling_to_thirty():
    delays = retry_delays()
    assert [next(delays) for _ in range(8)] == [1, 2, 4, 8, 16, 30, 30, 30]


def test_postgresql_lost_during_catch_up_and_in_the_loop_is_ridden_out(pg_url, tmp_path):
    cases = 400
    h.seed_overdue(pg_url, cases)
    upstream, through = proxied(pg_url)
    log = tmp_path / "daemon.log"
    with TcpProxy(upstream) as proxy, MailServer() as server:
        daemon = h.start_daemon(through(proxy.port), log, h.daemon_env(smtp_port=server.port))
        try:
            # 1. In the middle of the catch-up.
            assert h.wait_until(lambda: h.counts(pg_url)["fired_timers"] >= 20, 60, every=0.02)
            proxy.cut(3)
            assert h.wait_until(lambda: "database available again" in log.read_text(), 30)
            assert h.wait_until(lambda: all_done(pg_url), 120)
            # 2. In its loop, with nothing to do; then new work once it is back.
            proxy.cut(3)
            assert h.wait_until(lambda: log.read_text().count("database available again") == 2,
                                30)
            h.seed_overdue(pg_url, 5, first="2026-02-02")
            assert h.wait_until(lambda: all_done(pg_url), 60)
            assert daemon.poll() is None   # up all along
        finally:
            assert h.stop(daemon) == 0
        arrived = server.recorder.ids()

    per_case = h.timer_entries_per_case(pg_url)
    assert len(per_case) == cases + 5 and set(per_case.values()) == {1}   # each fired once
    expected = h.message_ids(h.notice_ids(pg_url))
    assert set(arrived) == expected                            # every notice arrived
    assert sum(n - 1 for n in arrived.values()) <= 2           # at most one resend per cut
    assert h.chains_verify(pg_url)

    said = lines(log)
    assert [line for line in said if not LINE.match(line)] == []   # one line per event
    lost = [line for line in said if "database unavailable" in line]
    back = [line for line in said if "database available again" in line]
    assert len(lost) == len(back) == 2
    assert all(" WARNING " in line for line in lost)
    left = re.search(r"database unavailable during the catch-up; (\d+) of 400 overdue "
                     r"timer\(s\) still pending: ", lost[0])
    assert left, lost[0]
    assert "database unavailable while idle" in lost[1]
    # The catch-up resumes with what is truly left, and says so when it is all done.
    resumed = [int(m.group(1)) for line in said
               if (m := re.search(r"catch-up: (\d+) overdue timer\(s\) to fire", line))]
    assert resumed[0] == cases and resumed[1] <= int(left.group(1))
    assert any(line.endswith(f"catch-up: {resumed[1]} of {resumed[1]} overdue timers done, 0 "
                             "still pending") for line in said)
    assert not any(" ERROR " in line for line in said)   # an outage is not a timer's fault


def test_a_daemon_started_while_postgresql_is_away_waits_and_sigterm_still_exits_at_once(
        pg_url, tmp_path):
    h.seed_overdue(pg_url, 10)
    upstream, through = proxied(pg_url)
    log = tmp_path / "daemon.log"
    with TcpProxy(upstream) as proxy:
        proxy.cut(4)   # away before the daemon starts
        daemon = h.start_daemon(through(proxy.port), log,
                                h.daemon_env(folder=tmp_path / "outbox"))
        try:
            assert h.wait_until(lambda: "database unavailable during the start-up"
                                in log.read_text(), 30)
            assert h.wait_until(lambda: all_done(pg_url), 60)
            assert "database available again" in log.read_text()
            assert daemon.poll() is None
            proxy.cut(120)   # away again, for long
            assert h.wait_until(lambda: log.read_text().count("database unavailable") == 2, 30)
        finally:
            code = h.stop(daemon, timeout=60)
            # Stopped while the database was still away (for 120 s): it waited for nothing.
            still_away = proxy.away()
    assert code == 0
    assert still_away, "the daemon stopped only once the database was back"
    said = lines(log)
    assert said[-1].endswith("stopped: 10 timer(s) fired, 20 notice(s) sent, 0 to retry, "
                             "0 failed, 0 error(s)")
    assert any("stopping while the database is unavailable" in line for line in said)
    assert set(h.timer_entries_per_case(pg_url).values()) == {1}


def test_a_sqlite_file_that_vanishes_for_a_while_is_waited_for(tmp_path):
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    h.seed_overdue(url, 5)
    outbox, log = tmp_path / "outbox", tmp_path / "daemon.log"
    daemon = h.start_daemon(url, log, h.daemon_env(folder=outbox))
    try:
        assert h.wait_until(lambda: all_done(url), 60)
        (tmp_path / "cases.db").rename(tmp_path / "elsewhere.db")   # an unmounted disk
        assert h.wait_until(lambda: "the file is gone" in log.read_text(), 30)
        assert not (tmp_path / "cases.db").exists()   # never made anew, empty
        (tmp_path / "elsewhere.db").rename(tmp_path / "cases.db")
        assert h.wait_until(lambda: "database available again" in log.read_text(), 30)
        h.seed_overdue(url, 2, first="2026-02-02")
        assert h.wait_until(lambda: all_done(url), 60)
        assert daemon.poll() is None
    finally:
        assert h.stop(daemon) == 0
    assert len(list(outbox.glob("*.eml"))) == 14
    assert set(h.timer_entries_per_case(url).values()) == {1}
    said = lines(log)
    assert [line for line in said if not LINE.match(line)] == []
    assert sum("database unavailable while idle" in line for line in said) == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_schema_newer_than_the_code_stops_the_daemon_saying_why(backend, request, tmp_path):
    url = f"sqlite:///{tmp_path / 'cases.db'}" if backend == "sqlite" \
        else request.getfixturevalue("pg_url")
    h.seed_overdue(url, 1)
    engine = create_engine(url)
    with engine.begin() as conn:   # as a newer engine's `init` would leave it
        conn.execute(text("INSERT INTO schema_migrations (version, description, applied_at) "
                          "VALUES (:v, 'from a newer engine', '2027-01-01T00:00:00+00:00')"),
                     {"v": LATEST + 1})
    engine.dispose()
    log = tmp_path / "daemon.log"
    daemon = h.start_daemon(url, log, h.daemon_env(folder=tmp_path / "outbox"))
    assert daemon.wait(30) == 2
    last = lines(log)[-1]
    assert " CRITICAL cannot run on this database: " in last
    assert f"version {LATEST + 1}" in last
    assert h.counts(url)["pending_timers"] == 1   # it did nothing
