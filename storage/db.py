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
import threading
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator
from urllib.parse import quote, unquote

from storage.errors import (AppendOnlyError, DatabaseUnavailableError, SchemaError,
                            StorageError, one_line, safe_url)

BUSY_TIMEOUT_SECONDS = 30
CONNECT_TIMEOUT_SECONDS = 10   # PostgreSQL: a server that does not answer is unavailable


if TYPE_CHECKING:   # SQLAlchemy is imported when a write or PostgreSQL needs it (0.2-0.4 s)
    from sqlalchemy.engine import Connection, Engine


class DatabaseUrlError(ValueError):
    """`--db` or AST_ENGINE_DB does not name a database this engine can use."""


def default_url(cwd: Path | None = None) -> str:
    return f"sqlite:///{(cwd or Path.cwd()) / 'ast_engine.db'}"


class Database:
    def __init__(self, url: str, create: bool = True, light_reads: bool = False):
        """`create`: a SQLite file that does not exist yet is made (0600); else its absence is
        refused with a message saying to run `init` (the command line creates one only for
        `init`). `light_reads`: on a SQLite file, read transactions run on plain sqlite3
        connections, so that a command that only reads never loads SQLAlchemy (the command
        line's one-shot commands), and so that each of the console's reads around an API call
        costs about 6 microseconds of CPU, not the 43 of a pooled SQLAlchemy connection's
        check-out, begin, rollback and check-in; else they are SQLAlchemy connections like the
        writes."""
        self.url = url
        self.light_reads = light_reads
        sqlite_file = _plain_sqlite_path(url)
        if sqlite_file is not None:
            # The usual case, read without SQLAlchemy: a command that only reads never imports it.
            self.dialect, self.is_sqlite = "sqlite", True
            database: str | None = sqlite_file
        else:
            from sqlalchemy.engine import make_url
            from sqlalchemy.exc import ArgumentError
            try:
                parsed = make_url(url)
            except ArgumentError:
                raise DatabaseUrlError(f"database URL {safe_url(url)!r}: not a URL; write "
                                       "sqlite:///FILE or postgresql+psycopg://USER@HOST/DB"
                                       ) from None
            if parsed.get_backend_name() not in ("sqlite", "postgresql"):
                raise DatabaseUrlError(f"database URL {safe_url(url)!r}: the engine runs on "
                                       "SQLite (sqlite:///FILE) or PostgreSQL "
                                       "(postgresql+psycopg://...)")
            self.dialect = parsed.get_backend_name()
            self.is_sqlite = self.dialect == "sqlite"
            database = parsed.database if self.is_sqlite else None
        self.path: Path | None = None
        self._file: tuple[int, int] | None = None   # the SQLite file's (device, inode)
        self._engine: Engine | None = None
        self._readers: list[sqlite3.Connection] = []   # idle, for read() on a SQLite file
        self._readers_lock = threading.Lock()
        if self.is_sqlite and database and database != ":memory:":
            self.path = Path(database).absolute()
            _prepare_sqlite_file(self.path, create)
        if not self.is_sqlite or self.path is None:
            self._engine = self._create()   # a bad PostgreSQL URL is refused here, at once

    @property
    def engine(self) -> Engine:
        """SQLAlchemy's engine, made on first use: it owns every write transaction."""
        if self._engine is None:
            self._engine = self._create()
        return self._engine

    def _create(self) -> Engine:
        from sqlalchemy.exc import SQLAlchemyError
        try:
            return _create(self.url, self.path)
        except (SQLAlchemyError, ImportError) as err:
            raise DatabaseUrlError(f"database URL {safe_url(self.url)!r}: {one_line(str(err))}"
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
    def read(self) -> Iterator[Any]:
        """One read transaction. With `light_reads` on a SQLite file, on a plain sqlite3
        connection of its own (what it yields has the `connection` that storage/statements.py
        reads through, and `exec_driver_sql`); else a SQLAlchemy connection."""
        self._check_file()
        if self.path is None or not self.light_reads:
            with translated(self.url):
                with self.engine.connect() as conn:
                    with conn.begin():
                        yield conn
            return
        with translated(self.url):
            reader = self._take_reader()
            try:
                reader.execute("BEGIN")
                try:
                    yield _Reading(reader)
                finally:
                    reader.execute("ROLLBACK")   # it wrote nothing: ending it is all to do
            except BaseException:
                reader.close()   # in an unknown state: not given to the next read
                raise
            self._give_back(reader)

    def _take_reader(self) -> sqlite3.Connection:
        """An idle reading connection, or a new one: each read has its own (threads of the
        console and the daemon read at once, and a read may run inside another)."""
        with self._readers_lock:
            if self._readers:
                return self._readers.pop()
        assert self.path is not None
        reader = _sqlite_connect(self.path)
        reader.isolation_level = None   # transactions begun and ended by read() itself
        reader.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
        return reader

    def _give_back(self, reader: sqlite3.Connection) -> None:
        with self._readers_lock:
            if len(self._readers) < 4:
                self._readers.append(reader)
                return
        reader.close()

    def ping(self) -> None:
        """Whether the database answers now: DatabaseUnavailableError when it does not."""
        with self.read() as conn:
            conn.exec_driver_sql("SELECT 1")

    def dispose(self) -> None:
        """Close every pooled connection (after an outage they are all dead ones)."""
        with self._readers_lock:
            idle, self._readers = self._readers, []
        for reader in idle:
            reader.close()
        if self._engine is not None:
            self._engine.dispose()

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
            self.dispose()   # connections to the file that was replaced
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


class _Reading:
    """A read transaction on the light SQLite path, shaped as Statements uses SQLAlchemy's."""

    def __init__(self, connection: sqlite3.Connection):
        self.connection = connection

    def exec_driver_sql(self, sql: str) -> sqlite3.Cursor:
        return self.connection.execute(sql)


def _plain_sqlite_path(url: str) -> str | None:
    """The file (or ":memory:") of a plain `sqlite:///FILE` URL, read as SQLAlchemy reads it
    (`sqlite:///rel.db` relative, `sqlite:////abs.db` absolute); None for any other URL, which
    SQLAlchemy parses."""
    if not url.startswith("sqlite:///") or "?" in url:
        return None
    return unquote(url[len("sqlite:///"):]) or None


def _sqlite_connect(path: Path) -> sqlite3.Connection:
    # mode=rw: a file that has vanished is an error, never silently made anew empty.
    return sqlite3.connect(f"file:{quote(str(path))}?mode=rw", uri=True,
                           timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False)


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
    except sqlite3.Error as err:
        raise translate(err, url) from err
    except Exception as err:
        if _is_driver_error(err):
            raise translate(err, url) from err
        raise


def _is_driver_error(err: Exception) -> bool:
    """psycopg's errors, and SQLAlchemy's wrapping of a driver's (SQLAlchemy is imported only
    when the error came from it)."""
    package = type(err).__module__.split(".")[0]
    if package == "sqlalchemy":
        from sqlalchemy.exc import DBAPIError
        return isinstance(err, DBAPIError)
    return package == "psycopg"


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
    from sqlalchemy import create_engine, event
    from sqlalchemy.engine import make_url
    if url.startswith("sqlite"):
        options: dict[str, Any] = {"connect_args": {"timeout": BUSY_TIMEOUT_SECONDS,
                                          "check_same_thread": False}}
        if path is not None:
            # mode=rw: a file that has vanished is an error, never silently made anew empty.
            options = {"creator": lambda: _sqlite_connect(path)}
        engine = create_engine(url, **options)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
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
        def _on_begin(conn: Any) -> None:
            write = conn.get_execution_options().get("ast_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    # A URL's own connect_timeout wins over the default.
    timeout = {} if "connect_timeout" in make_url(url).query else {
        "connect_timeout": CONNECT_TIMEOUT_SECONDS}
    return create_engine(url, pool_pre_ping=False, connect_args=timeout)
