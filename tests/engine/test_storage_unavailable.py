"""What the daemon waits out must arrive as DatabaseUnavailableError, on both backends: a SQLite
file locked past the busy timeout, a SQLite file that vanished (never silently made anew,
empty), a PostgreSQL server that refuses connections."""
from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import OperationalError

from storage import db as storage_db
from storage.db import Database
from storage.errors import DatabaseUnavailableError
from storage.migrations import migrate
from tests.mailserver import free_port


@pytest.fixture
def sqlite_db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'cases.db'}")
    migrate(database, "2026-11-01T00:00:00+00:00")
    yield database
    database.dispose()


def test_a_sqlite_file_locked_past_the_busy_timeout_is_unavailable(tmp_path, monkeypatch):
    monkeypatch.setattr(storage_db, "BUSY_TIMEOUT_SECONDS", 0.2)
    database = Database(f"sqlite:///{tmp_path / 'cases.db'}")
    migrate(database, "2026-11-01T00:00:00+00:00")
    holder = sqlite3.connect(tmp_path / "cases.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")   # another process holding the write lock
    try:
        with pytest.raises(DatabaseUnavailableError, match="database is locked"):
            with database.write() as conn:
                conn.exec_driver_sql("DELETE FROM daemons")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with database.write() as conn:   # free again: the same Database goes on
        conn.exec_driver_sql("DELETE FROM daemons")
    database.dispose()


def test_a_vanished_sqlite_file_is_unavailable_and_never_made_anew(sqlite_db, tmp_path):
    sqlite_db.ping()
    (tmp_path / "cases.db").rename(tmp_path / "moved.db")
    with pytest.raises(DatabaseUnavailableError, match="the file is gone"):
        sqlite_db.ping()
    sqlite_db.dispose()
    with pytest.raises(DatabaseUnavailableError):
        sqlite_db.ping()
    assert not (tmp_path / "cases.db").exists()
    (tmp_path / "moved.db").rename(tmp_path / "cases.db")
    sqlite_db.ping()


def test_a_new_sqlite_connection_never_creates_a_missing_file(sqlite_db, tmp_path):
    """Even past the Database's own check (a file removed between the check and the connect),
    a connection opens the file read-write only."""
    (tmp_path / "cases.db").unlink()
    sqlite_db.dispose()
    with pytest.raises((sqlite3.OperationalError, OperationalError), match="unable to open"):
        sqlite_db.engine.raw_connection()
    assert not (tmp_path / "cases.db").exists()


def test_a_postgresql_server_that_refuses_connections_is_unavailable():
    database = Database(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test")
    with pytest.raises(DatabaseUnavailableError, match="(?i)connection refused"):
        database.ping()
    database.dispose()
