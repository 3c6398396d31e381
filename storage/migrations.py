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


# The sha256 of each notice template's source as the engine landed before migration 4 (commit
# 6b9ae19): the version that rendered every notice stored before the notices recorded it.
LANDED_TEMPLATE_VERSIONS = {
    "application_forwarded": "bfcc27a493bec94d5aadb24823146594db60f7d111effe1b0331e4f4e92331f9",
    "application_received": "16cb96185b37e7511d0097bfa6431d9e6f678908a39333e2b54a061da4591ac6",
    "application_with_agency": "6ebfdacc6f272440ff3b11f1bcf3411c6568014e25436b1ae523f272f38b4887",
    "appointment_confirmed": "1d6ff6a0fa9cc8dac46915a9f781ad5345af40cd6f8d0d55dd87a3faf9c27583",
    "assessment_arranged": "7397caadb506d607df04477a5387416ce113818d5f41b960119a7197c830a4e9",
    "assessor_comment_invited": "389483335e7b6bc336dc9b131d7b20fb4a267c55d17bc85563389a3d1a7fe712",
    "ast2_form": "187fa6c63d399ab5a4ddd0b85e34246db919aac69128cd1a8584fe79ed7e31c9",
    "deadline_missed": "ec9d446da7314d0e6aa276998d5b166a56112bedfd84ade249c54eb43387ef26",
    "decision_letter": "b8bd93f4d2851a53595fc8a8e02a1750ed7d9dc29d523dd3d308a390f1c72fcf",
    "headteacher_feedback": "c489964a74b588b600ef467148904e594036726bab5a5d329e7f8b01398cf53f",
    "headteacher_rejection": "8e1cfb3efb32eee079a974ebe01f25c67bdcf0ec4a27e20d098008bf226885d4",
    "not_shortlisted": "75bc9517c9cd4b618fb22c32283522f173c7b9d5029b9f5f1cfbcd94b46ff329",
    "review_acknowledged": "7ae6d70bd814a0f1606b2fe2f93f249dc9e1d38061cb5b2cb72f4f3bef9a2c11",
    "review_assigned": "b8e2f60db640e28cdfcb7a7358842111f45c7cf59a804531af68c7b556284313",
    "review_decision": "89433383e0d3f04f9caf1fbf6f8bc3ac2a0c1022f60a8fa9fe43b3fe25fc268f",
    "review_refused": "a1ea2706039e879b43cfecb720c6a25e80dd6b8b33b25ff5102106c900f2357c",
    "withdrawal_confirmed": "df7fdf68798407f5197e7eac5663741613d8db3dfd926a70aace07cad0fe47cf",
    "written_feedback": "fcd93c9840ed8221064e0c12962609629f7b39b5e6809d0b329432a94dc9c3e6",
}


def _engine_record_apart(db: Database, conn: Connection) -> None:
    """What the engine records about a log entry gets a column of its own, and each notice
    the version of the template that rendered it (see tables.py)."""
    columns = {c["name"] for c in inspect(conn).get_columns("transition_log")}
    if "engine" not in columns:
        conn.exec_driver_sql("ALTER TABLE transition_log ADD COLUMN engine TEXT")
    if "template_sha256" not in {c["name"] for c in inspect(conn).get_columns("notices")}:
        conn.exec_driver_sql("ALTER TABLE notices ADD COLUMN template_sha256 VARCHAR")
    for template, sha in LANDED_TEMPLATE_VERSIONS.items():
        conn.exec_driver_sql(db.sql("UPDATE notices SET template_sha256 = :sha WHERE template = "
                                    ":template AND template_sha256 IS NULL"),
                             {"sha": sha, "template": template})


MIGRATIONS: list[tuple[int, str, Callable[[Database, Connection], None]]] = [
    (1, "cases, transition log, chain head, timers and notices", _create_tables),
    (2, "the transition log refuses UPDATE and DELETE", _append_only_log),
    (3, "delivery back-off, the delivery queue's index and daemon heartbeats",
     _delivery_and_heartbeat),
    (4, "the engine's own record of a log entry apart from the submitted data; the template "
        "version of each notice",
     _engine_record_apart),
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
