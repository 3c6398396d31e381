"""Opening the database, and the two kinds of transaction the engine uses.

SQLite (the embedded default) runs in WAL mode with durable commits (synchronous FULL), foreign
keys on and a busy timeout; a write transaction starts with `BEGIN IMMEDIATE` so that two writers
queue at the start instead of failing at commit. PostgreSQL runs the same statements.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

BUSY_TIMEOUT_SECONDS = 30


class StorageError(Exception):
    """A database failure the engine did not cause by its own rules (exit code 1)."""


class DatabaseUnavailableError(StorageError):
    pass


def default_url(cwd: Path | None = None) -> str:
    return f"sqlite:///{(cwd or Path.cwd()) / 'ast_engine.db'}"


class Database:
    def __init__(self, url: str):
        self.url = url
        self.engine: Engine = _create(url)
        self.dialect = self.engine.dialect.name
        self.is_sqlite = self.dialect == "sqlite"

    def sql(self, statement: str) -> str:
        """Statements are written with `:name` parameters; psycopg wants `%(name)s`."""
        return statement if self.is_sqlite else _pyformat(statement)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: committed when the block ends, rolled back on any exception."""
        with translated(self.url):
            with self.engine.connect().execution_options(ast_write=True) as conn:
                with conn.begin():
                    yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with translated(self.url):
            with self.engine.connect() as conn:
                with conn.begin():
                    yield conn

    def dispose(self) -> None:
        self.engine.dispose()


@lru_cache(maxsize=512)
def _pyformat(statement: str) -> str:
    return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", statement)


@contextmanager
def translated(url: str):
    """Driver errors become the engine's own: a person sees which database failed and why."""
    try:
        yield
    except OperationalError as err:
        raise DatabaseUnavailableError(f"database {_safe(url)}: {err.orig}") from err
    except DBAPIError as err:
        raise StorageError(f"database {_safe(url)}: {err.orig}") from err


def _safe(url: str) -> str:
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def _create(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS,
                                                  "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record):
            # Let SQLAlchemy's "begin" event, not the driver, decide how a transaction starts.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            write = conn.get_execution_options().get("ast_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=False)
