"""Fixtures: every engine test runs on SQLite and on PostgreSQL (one fresh schema per test on
the local server; `.ci/run` makes sure it is up). Time is a FixedClock the test moves."""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text

from storage.db import Database
from storage.migrations import migrate
from tests.builders import Driver
from workflows.clock import FixedClock
from workflows.config import Config
from workflows.engine import Engine
from workflows.times import parse_instant

PG_URL = os.environ.get("AST_ENGINE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh schema on the local server for one test, dropped afterwards; the URL selects it."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def pg_url():
    with postgres_schema() as url:
        yield url


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cases.db'}"
    else:
        with postgres_schema() as url:
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
        from workflows.replay import case_ids, replay_many
        results = replay_many(engine.db, engine.config, case_ids(engine.db), verify=True)
        assert [r.as_json() for r in results if not r.ok] == []


def pytest_configure(config):
    config.addinivalue_line("markers", "no_replay: the test alters stored rows on purpose, so "
                                       "replaying its cases must not match")
