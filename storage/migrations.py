"""Versioned schema migrations: `init` applies the ones a database has not had yet, each once,
recorded in `schema_migrations`. Nothing is ever dropped and recreated. A new migration is a new
entry at the end of MIGRATIONS; an applied one is never edited."""
from __future__ import annotations

from typing import Callable

from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from storage import hashchain
from storage.db import Database

# sqlmodel and the table classes are imported only where tables are created: importing them
# costs about half a second, which every other command would pay for nothing.


class SchemaError(Exception):
    """The database has no schema yet, or an older one: `init` mends it."""


def _create_tables(db: Database, conn: Connection) -> None:
    from sqlmodel import SQLModel
    from storage import tables
    SQLModel.metadata.create_all(conn, tables=[
        tables.Case.__table__, tables.TransitionLog.__table__, tables.ChainHead.__table__,
        tables.Timer.__table__, tables.Notice.__table__])
    conn.exec_driver_sql(db.sql("INSERT INTO chain_head (id, global_seq, hash) VALUES (1, 0, :h)"),
                         {"h": hashchain.GENESIS})


def _append_only_log(db: Database, conn: Connection) -> None:
    """The engine never updates or deletes a log row; the database refuses to as well, so that a
    slip in code or a hand-typed statement cannot rewrite history unnoticed."""
    if db.is_sqlite:
        for action in ("UPDATE", "DELETE"):
            conn.exec_driver_sql(
                f"CREATE TRIGGER transition_log_no_{action.lower()} BEFORE {action} "
                "ON transition_log BEGIN SELECT RAISE(ABORT, 'transition_log is append-only'); END")
    else:
        conn.exec_driver_sql(
            "CREATE OR REPLACE FUNCTION transition_log_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'transition_log is append-only'; END $$ LANGUAGE plpgsql")
        conn.exec_driver_sql(
            "CREATE TRIGGER transition_log_append_only BEFORE UPDATE OR DELETE ON transition_log "
            "FOR EACH ROW EXECUTE FUNCTION transition_log_append_only()")


def _delivery_and_heartbeat(db: Database, conn: Connection) -> None:
    """When a failed delivery may be tried again, and the daemons' heartbeats for `status`."""
    # Migration 1 builds tables from the current SQLModel classes, so on a new database the
    # column is already there; on one made before this migration it is added.
    columns = {c["name"] for c in inspect(conn).get_columns("notices")}
    if "next_attempt_at" not in columns:
        conn.exec_driver_sql("ALTER TABLE notices ADD COLUMN next_attempt_at VARCHAR")
    if "ix_notices_queue" not in {i["name"] for i in inspect(conn).get_indexes("notices")}:
        conn.exec_driver_sql("CREATE INDEX ix_notices_queue ON notices (status, created_at, id)")
    from sqlmodel import SQLModel
    from storage import tables
    SQLModel.metadata.create_all(conn, tables=[tables.Daemon.__table__])


MIGRATIONS: list[tuple[int, str, Callable[[Database, Connection], None]]] = [
    (1, "cases, transition log, chain head, timers and notices", _create_tables),
    (2, "the transition log refuses UPDATE and DELETE", _append_only_log),
    (3, "delivery back-off, the delivery queue's index and daemon heartbeats",
     _delivery_and_heartbeat),
]
LATEST = MIGRATIONS[-1][0]


def applied_versions(conn: Connection) -> set[int]:
    if not inspect(conn).has_table("schema_migrations"):
        return set()
    return {row[0] for row in conn.exec_driver_sql("SELECT version FROM schema_migrations")}


def migrate(db: Database, now_text: str) -> list[tuple[int, str]]:
    """Apply every pending migration, each in the one transaction with its record. Returns what
    was applied (empty when the schema was already current)."""
    from sqlmodel import SQLModel
    from storage import tables
    with db.write() as conn:
        SQLModel.metadata.create_all(conn, tables=[tables.SchemaMigration.__table__])
    applied = []
    for version, description, step in MIGRATIONS:
        with db.write() as conn:
            if version in applied_versions(conn):
                continue
            step(db, conn)
            conn.exec_driver_sql(
                db.sql("INSERT INTO schema_migrations (version, description, applied_at) "
                       "VALUES (:v, :d, :t)"), {"v": version, "d": description, "t": now_text})
            applied.append((version, description))
    return applied


def require_current(db: Database) -> None:
    with db.read() as conn:
        versions = applied_versions(conn)
    if not versions:
        raise SchemaError(f"no AST engine schema in {db.url}: run `init` first")
    missing = [v for v, _, _ in MIGRATIONS if v not in versions]
    if missing:
        raise SchemaError(f"the schema of {db.url} is behind (missing migration(s) "
                          f"{', '.join(map(str, missing))}): run `init` to migrate it")
