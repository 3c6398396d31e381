"""Fixtures: every engine test runs on SQLite and on PostgreSQL (on the server tests/pg_server.py
picks, or starts when none answers). A test that wants a migrated database gets a copy of one
migrated once per session: a copy of a migrated SQLite file, or on PostgreSQL a fresh schema
made by the statements of one migration (tests/pg_server.py says why not a database copied
from a template). A test that wants an empty one (`db_url`, `pg_url`) gets a fresh file
or a fresh schema. Time is a FixedClock the test moves.

The tests sit in layers, one folder each, and each test is marked with its folder's name
(`unit`, `engine`, `integration`, `e2e`); the two outer layers start processes (the command
line, the daemon, the web console, a browser), and their tests are also marked `process`, so
that `-m "not process"` is the quick loop."""
from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text

from storage.db import Database
from storage.migrations import migrate
from tests import browser, pg_server
from tests.builders import Driver
from workflows.core.clock import FixedClock
from workflows.core.config import Config
from workflows.engine import Engine
from workflows.core.times import parse_instant

BACKENDS = ["sqlite", "postgresql"]
MIGRATED_AT = "2026-11-01T00:00:00+00:00"   # when the test databases' schema was applied

HERE = Path(__file__).resolve().parent
# Each layer's folder, and the markers its tests get besides its name.
LAYERS: dict[str, tuple[str, ...]] = {
    "unit": (),           # pure: no database but an in-memory one, no process
    "engine": (),         # the engine and the storage on both databases, in this process
    "integration": ("process",),   # the command line, the daemon, the mail relay, outages
    "e2e": ("process",),  # the web console in headless Chromium
}


@pytest.hookimpl(tryfirst=True)   # before `-m` selects by the markers set here
def pytest_collection_modifyitems(config, items):
    for item in items:
        layer = layer_of(Path(item.path))
        item.add_marker(layer)
        for marker in LAYERS[layer]:
            item.add_marker(marker)


def layer_of(path: Path) -> str:
    """The layer a test file sits in; a file outside every layer's folder is an error, so that
    `-m "not process"` never runs a test that nobody placed."""
    try:
        parts = path.resolve().relative_to(HERE).parts
    except ValueError:
        parts = ()
    if len(parts) < 2 or parts[0] not in LAYERS:
        raise pytest.UsageError(
            f"{path}: a test file belongs in one of the layers' folders "
            f"({', '.join(f'tests/{name}/' for name in LAYERS)}); see README, "
            "\"Tests and benchmarks\"")
    return parts[0]


def say(config, line: str) -> None:
    """One progress line on the terminal, past pytest's output capture (a fixture that installs
    or starts something should say so while it happens, not in a captured log)."""
    capture = config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        config.get_terminal_writer().line(line)


@pytest.fixture(scope="session", autouse=True)
def compiled_once(tmp_path_factory) -> Iterator[None]:
    """The processes the tests start (about a thousand: the command line, the daemon, the
    console) each import the engine. Under PYTHONDONTWRITEBYTECODE, as some shells and CI
    images set it, each of them compiled every module of the engine from source again, a tenth
    of a second or more apiece; here they keep the compiled modules in a folder of this
    session's temporary directory instead (PYTHONPYCACHEPREFIX), never in the tree, which
    PYTHONDONTWRITEBYTECODE is there to keep clean. What the processes do is the same."""
    if not os.environ.get("PYTHONDONTWRITEBYTECODE") or os.environ.get("PYTHONPYCACHEPREFIX"):
        yield
        return
    saved = os.environ.pop("PYTHONDONTWRITEBYTECODE")
    os.environ["PYTHONPYCACHEPREFIX"] = str(tmp_path_factory.mktemp("pycache"))
    try:
        yield
    finally:
        os.environ["PYTHONDONTWRITEBYTECODE"] = saved
        del os.environ["PYTHONPYCACHEPREFIX"]


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


def migrate_at(url: str) -> None:
    database = Database(url)
    try:
        migrate(database, MIGRATED_AT)
    finally:
        database.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file migrated once for the session; a test that wants one gets a copy."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    migrate_at(f"sqlite:///{path}")
    # Disposed, the engine has checkpointed its write-ahead log into the file and removed it:
    # the file alone is the database, and a copy of it is one too.
    assert not path.with_name(path.name + "-wal").exists()
    return path


def migrated_sqlite(template: Path, path: Path) -> str:
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def pg_migrated(pg_server_url) -> Iterator[pg_server.MigratedSchemas]:
    """The migration run once for the session, to make a migrated schema per test from."""
    schemas = pg_server.MigratedSchemas(pg_server_url, migrate_at)
    yield schemas
    schemas.close()


@contextmanager
def postgres_schema(server_url: str) -> Iterator[str]:
    """A fresh, empty schema on the server for one test, dropped afterwards; the URL selects
    it."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield pg_server.schema_url(server_url, schema)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def pg_url(pg_server_url):
    """An empty PostgreSQL database (a schema of its own) for one test."""
    with postgres_schema(pg_server_url) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    """An empty database for one test, on each backend in turn."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cases.db'}"
    else:
        with postgres_schema(request.getfixturevalue("pg_server_url")) as url:
            yield url


@pytest.fixture(params=BACKENDS)
def migrated_url(request, tmp_path):
    """A freshly migrated database for one test, on each backend in turn: a copy of the
    session's migrated SQLite file, or a schema made by the session's migration."""
    if request.param == "sqlite":
        yield migrated_sqlite(request.getfixturevalue("sqlite_template"), tmp_path / "cases.db")
    else:
        with request.getfixturevalue("pg_migrated").fresh() as url:
            yield url


@pytest.fixture
def db(migrated_url):
    database = Database(migrated_url)
    yield database
    database.dispose()


@pytest.fixture
def cli(tmp_path, sqlite_template):
    """The command line on a fresh SQLite file in the test's own folder, migrated (a copy of
    the session's template, as `init` would leave it: `init` itself is tried in
    tests/integration/test_cli.py)."""
    from tests.cli import Cli
    migrated_sqlite(sqlite_template, tmp_path / "ast_engine.db")
    return Cli(tmp_path)


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
