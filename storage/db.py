"""Opening the database, the two kinds of transaction the engine uses, and the translation of
every driver error into storage's own (storage/errors.py).

SQLite (the embedded default) runs in WAL mode with durable commits (synchronous FULL), foreign
keys on, a busy timeout and `secure_delete` (erased personal data is overwritten, not left in
free pages); a write transaction starts with `BEGIN IMMEDIATE` so that two writers queue at the
start instead of failing at commit. A SQLite file is created readable by its owner only (it holds
personal data), and only by a command that writes (`init`, `demo`): a command that reads never
leaves an empty database behind a mistyped path. PostgreSQL runs the same statements.
"""
from __future__ import annotations

import os
import re
import sqlite3
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from storage.errors import (AppendOnlyError, DatabaseUnavailableError, SchemaError,
                            StorageError, one_line, safe_url)

BUSY_TIMEOUT_SECONDS = 30
CONNECT_TIMEOUT_SECONDS = 10   # PostgreSQL: a server that does not answer is unavailable


class DatabaseUrlError(ValueError):
    """`--db` or AST_ENGINE_DB does not name a database this engine can use."""


def default_url(cwd: Path | None = None) -> str:
    return f"sqlite:///{(cwd or Path.cwd()) / 'ast_engine.db'}"


class Database:
    def __init__(self, url: str, create: bool = True):
        """`create`: a SQLite file that does not exist yet is made (0600); else its absence is
        refused with a message saying to run `init` (the command line creates one only for
        `init`)."""
        self.url = url
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise DatabaseUrlError(f"database URL {safe_url(url)!r}: not a URL; write "
                                   "sqlite:///FILE or postgresql+psycopg://USER@HOST/DB") from None
        if parsed.get_backend_name() not in ("sqlite", "postgresql"):
            raise DatabaseUrlError(f"database URL {safe_url(url)!r}: the engine runs on SQLite "
                                   "(sqlite:///FILE) or PostgreSQL (postgresql+psycopg://...)")
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self.dialect = parsed.get_backend_name()
        self.path: Path | None = None
        self._file: tuple[int, int] | None = None   # the SQLite file's (device, inode)
        if self.is_sqlite and parsed.database and parsed.database != ":memory:":
            self.path = Path(parsed.database).absolute()
            _prepare_sqlite_file(self.path, create)
        try:
            self.engine: Engine = _create(url, self.path)
        except (SQLAlchemyError, ImportError) as err:
            raise DatabaseUrlError(f"database URL {safe_url(url)!r}: {one_line(str(err))}"
                                   ) from None

    def sql(self, statement: str) -> str:
        """Statements are written with `:name` parameters; psycopg wants `%(name)s`."""
        return statement if self.is_sqlite else _pyformat(statement)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: committed when the block ends, rolled back on any exception."""
        self._check_file()
        with translated(self.url):
            with self.engine.connect().execution_options(ast_write=True) as conn:
                with conn.begin():
                    yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        self._check_file()
        with translated(self.url):
            with self.engine.connect() as conn:
                with conn.begin():
                    yield conn

    def ping(self) -> None:
        """Whether the database answers now: DatabaseUnavailableError when it does not."""
        with self.read() as conn:
            conn.exec_driver_sql("SELECT 1")

    def dispose(self) -> None:
        """Close every pooled connection (after an outage they are all dead ones)."""
        self.engine.dispose()

    def flush_erased(self) -> None:
        """After an erasure: on SQLite, copy the write-ahead log into the file and empty it, so
        the pages holding the erased text before (kept in the log until a checkpoint) are gone
        too (`secure_delete` zeroes what the erasure freed in the file itself). PostgreSQL
        keeps old row versions until VACUUM reclaims them (autovacuum, or `VACUUM` by hand)."""
        if self.is_sqlite:
            with translated(self.url):
                with self.engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    def _check_file(self) -> None:
        """A SQLite file that vanished (moved, deleted, its disk unmounted) is unavailable, not
        an empty new database: pooled connections would go on writing to the unlinked file,
        and a new one would make an empty file (connections open it with mode=rw, so it
        cannot). A file put back in its place (restored) is opened afresh."""
        if self.path is None:
            return
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            raise DatabaseUnavailableError(f"database {self.path}: the file is gone (moved or "
                                           "deleted)") from None
        except OSError as err:
            raise DatabaseUnavailableError(f"database {self.path}: {err.strerror}") from None
        found = (stat.st_dev, stat.st_ino)
        if self._file is not None and found != self._file:
            self.engine.dispose()   # connections to the file that was replaced
        self._file = found


def _prepare_sqlite_file(path: Path, create: bool) -> None:
    if path.exists():
        if path.is_dir():
            raise DatabaseUrlError(f"database {path} is a folder, not a SQLite file")
        return
    if not create:
        raise SchemaError(f"no database at {path}: run `init` first to create it there "
                          "(or give --db the database you meant)")
    if not path.parent.is_dir():
        raise DatabaseUrlError(f"database {path}: the folder {path.parent} does not exist")
    # Made here, empty, readable and writable by its owner only: SQLite then opens it, and
    # gives its -wal and -shm files the same permissions.
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    os.chmod(path, 0o600)


@lru_cache(maxsize=512)
def _pyformat(statement: str) -> str:
    return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", statement)


@contextmanager
def translated(url: str) -> Iterator[None]:
    """Driver errors become storage's own: a person sees which database failed and why, in one
    line, and no caller needs to know which driver raised it."""
    try:
        yield
    except StorageError:
        raise
    except (DBAPIError, sqlite3.Error) as err:
        raise translate(err, url) from err
    except Exception as err:
        if type(err).__module__.split(".")[0] == "psycopg":
            raise translate(err, url) from err
        raise


def translate(err: BaseException, url: str) -> StorageError:
    """The storage error a driver's error stands for."""
    original = getattr(err, "orig", None) or err
    text = one_line(str(original))
    where = f"database {safe_url(url)}"
    name = type(original).__name__
    if "append-only" in text:
        return AppendOnlyError(f"{where}: {text}")
    if "no such table" in text or ("relation" in text and "does not exist" in text):
        return SchemaError(f"{where}: {text}: run `ast-engine init` to create or migrate it")
    if _unavailable(original, text):
        return DatabaseUnavailableError(f"{where}: {text}")
    return StorageError(f"{where}: {name}: {text}")


def _unavailable(original: BaseException, text: str) -> bool:
    """Whether the database is away or busy (worth waiting for), not refusing a statement."""
    if type(original).__module__.split(".")[0] == "psycopg":
        import psycopg   # only here when PostgreSQL is in use
        return isinstance(original, (psycopg.OperationalError, psycopg.InterfaceError))
    lowered = text.lower()
    return any(sign in lowered for sign in ("locked", "busy", "unable to open", "disk i/o",
                                            "database or disk is full"))


def _create(url: str, path: Path | None) -> Engine:
    if url.startswith("sqlite"):
        options: dict = {"connect_args": {"timeout": BUSY_TIMEOUT_SECONDS,
                                          "check_same_thread": False}}
        if path is not None:
            # mode=rw: a file that has vanished is an error, never silently made anew empty.
            uri = f"file:{quote(str(path))}?mode=rw"
            options = {"creator": lambda: sqlite3.connect(
                uri, uri=True, timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False)}
        engine = create_engine(url, **options)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record):
            # Let SQLAlchemy's "begin" event, not the driver, decide how a transaction starts.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            write = conn.get_execution_options().get("ast_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    # A URL's own connect_timeout wins over the default.
    timeout = {} if "connect_timeout" in make_url(url).query else {
        "connect_timeout": CONNECT_TIMEOUT_SECONDS}
    return create_engine(url, pool_pre_ping=False, connect_args=timeout)
