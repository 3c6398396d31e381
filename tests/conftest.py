"""Fixtures: every engine test runs on SQLite and on PostgreSQL (one fresh schema per test on
the server tests/pg_server.py picks, or starts when none answers). Time is a FixedClock the
test moves."""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from storage.db import Database
from storage.migrations import migrate
from tests import browser, pg_server
from tests.builders import Driver
from workflows.core.clock import FixedClock
from workflows.core.config import Config
from workflows.engine import Engine
from workflows.core.times import parse_instant

BACKENDS = ["sqlite", "postgresql"]


def say(config, line: str) -> None:
    """One progress line on the terminal, past pytest's output capture (a fixture that installs
    or starts something should say so while it happens, not in a captured log)."""
    capture = config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        config.get_terminal_writer().line(line)


@pytest.fixture(scope="session")
def pg_server_url(request) -> Iterator[str]:
    """The PostgreSQL server for the whole session; an embedded one it started is stopped when
    the session ends, also after a failure or Ctrl-C (pytest runs session teardown then)."""
    with pg_server.server_url(say=lambda line: say(request.config, f"\n{line}")) as url:
        yield url


@pytest.fixture(scope="session")
def chromium(request) -> str:
    """The path of Chromium for the browser tests (tests/browser.py finds or installs it)."""
    return browser.chromium(say=lambda line: say(request.config, f"\n{line}"))


@contextmanager
def postgres_schema(server_url: str) -> Iterator[str]:
    """A fresh schema on the server for one test, dropped afterwards; the URL selects it."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        # Added to the URL's query, not appended as text: the embedded server's URL has a query.
        url = make_url(server_url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def pg_url(pg_server_url):
    with postgres_schema(pg_server_url) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cases.db'}"
    else:
        with postgres_schema(request.getfixturevalue("pg_server_url")) as url:
            yield url


@pytest.fixture
def db(db_url):
    database = Database(db_url)
    migrate(database, "2026-11-01T00:00:00+00:00")
    yield database
    database.dispose()


@pytest.fixture
def cli(tmp_path):
    """The command line on a fresh SQLite file in the test's own folder, initialised."""
    from tests.cli import Cli
    run = Cli(tmp_path)
    run.ok("init")
    return run


@pytest.fixture
def clock():
    return FixedClock(parse_instant("2026-12-18"))


@pytest.fixture
def config():
    return Config()


@pytest.fixture
def engine(db, clock, config):
    return Engine(db, config, clock=clock)


@pytest.fixture
def driver(request, engine, clock):
    """After each test, every case it created is replayed from its log alone and must match
    what is stored: replay is checked on everything the suite builds (`no_replay` opts out a
    test that tampers with the database on purpose)."""
    yield Driver(engine, clock)
    if request.node.get_closest_marker("no_replay") is None:
        from workflows.engine.replay import case_ids, replay_many
        results = replay_many(engine.db, engine.config, case_ids(engine.db), verify=True)
        assert [r.as_json() for r in results if not r.ok] == []


def pytest_configure(config):
    config.addinivalue_line("markers", "no_replay: the test alters stored rows on purpose, so "
                                       "replaying its cases must not match")
