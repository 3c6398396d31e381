"""Versioned schema migrations: `init` applies the ones a database has not had yet, each once,
recorded in `schema_migrations`. Nothing is ever dropped and recreated. A new migration is a new
entry at the end of MIGRATIONS; an applied one is never edited."""
from __future__ import annotations

import json
import re
import secrets
from typing import TYPE_CHECKING, Any, Callable

from storage import hashchain, jsontext
from storage.db import Database
from storage.errors import SchemaError, safe_url

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def inspect(conn: Connection) -> Any:
    """SQLAlchemy's inspector, imported when a migration runs (a read never needs it)."""
    from sqlalchemy import inspect as inspector
    return inspector(conn)

# sqlmodel and the table classes are imported only where tables are created: importing them
# costs about half a second, which every other command would pay for nothing.


def _create_tables(db: Database, conn: Connection) -> None:
    from sqlmodel import SQLModel
    from storage import tables  # noqa: F401  (registers the tables with SQLModel.metadata)
    SQLModel.metadata.create_all(conn, tables=[
        SQLModel.metadata.tables["cases"], SQLModel.metadata.tables["transition_log"], SQLModel.metadata.tables["chain_head"],
        SQLModel.metadata.tables["timers"], SQLModel.metadata.tables["notices"]])
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
    from storage import tables  # noqa: F401  (registers the tables with SQLModel.metadata)
    SQLModel.metadata.create_all(conn, tables=[SQLModel.metadata.tables["daemons"]])


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


# The columns migration 5 adds to a database made before it: table -> (column, its SQL type and
# default). Migration 1 already creates them on a new database (storage/tables.py).
_V5_COLUMNS = {
    "cases": [("records", "TEXT NOT NULL DEFAULT '{}'"), ("erased_at", "VARCHAR")],
    "transition_log": [("data_salt", "VARCHAR"), ("data_sha256", "VARCHAR"),
                       ("notices_sha256", "VARCHAR"),
                       ("hash_version", "INTEGER NOT NULL DEFAULT 1"),
                       ("erased", "INTEGER NOT NULL DEFAULT 0")],
    "timers": [("rule_kind", "VARCHAR NOT NULL DEFAULT 'working_days'"),
               ("rule_n", "INTEGER NOT NULL DEFAULT 0"),
               ("calendar", "VARCHAR NOT NULL DEFAULT 'local'"), ("school", "VARCHAR"),
               ("school_closures", "VARCHAR NOT NULL DEFAULT '[]'"),
               ("attempts", "INTEGER NOT NULL DEFAULT 0"), ("last_error", "VARCHAR")],
    "notices": [("salt", "VARCHAR"), ("content_sha256", "VARCHAR"), ("hash", "VARCHAR"),
                ("lease_until", "VARCHAR"), ("lease_owner", "VARCHAR"),
                ("erased", "INTEGER NOT NULL DEFAULT 0")],
}

# What a trigger's record held before migration 5 that the engine, not the person, put there.
_LEGACY_ENGINE_KEYS = {"request_review": ("opened", ("review",)),
                       "confirm_funding": ("derived", ("funding_stream",))}

_LOG_FIXED = ("global_seq", "case_id", "seq", "trigger", "source", "dest", "actor",
              "on_behalf_of", "effective_at", "recorded_at", "engine", "data_sha256",
              "notices_sha256", "hash_version", "prev_hash", "global_prev_hash", "hash")
_APPEND_ONLY = ("transition_log is append-only: only the erasure of the personal data of an "
                "entry may change it")


def _erasable_and_sealed(db: Database, conn: Connection) -> None:
    """Personal data that can be erased, and notices that cannot be edited unseen:
    - new columns (see _V5_COLUMNS); each case's trigger records apart from its opening data;
    - each timer's rule as data; every notice sealed by a salted hash of its content;
    - the log refuses every change but the erasure of an entry's personal data, and (on
      PostgreSQL) TRUNCATE; the notices refuse DELETE and TRUNCATE."""
    for table, columns in _V5_COLUMNS.items():
        present = {c["name"] for c in inspect(conn).get_columns(table)}
        for name, sql_type in columns:
            if name not in present:
                conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {name} {sql_type}")
    if "ix_transition_log_trigger" not in {i["name"] for i in
                                           inspect(conn).get_indexes("transition_log")}:
        conn.exec_driver_sql("CREATE INDEX ix_transition_log_trigger ON transition_log (trigger)")
    _split_case_records(db, conn)
    _timer_rules_as_data(db, conn)
    _seal_notices(db, conn)
    _guard_log_and_notices(db, conn)


def _split_case_records(db: Database, conn: Connection) -> None:
    """Before, a case's data held each trigger's record under the trigger's name, beside the
    opening data: an opening key could stand for a trigger. Each record (a mapping with an
    `effective_date`, under the name of a trigger of that kind) moves to `records`."""
    from states import PROCESSES
    rows = conn.exec_driver_sql("SELECT id, kind, data FROM cases WHERE records = '{}'").all()
    for case_id, kind, text in rows:
        data = json.loads(text)
        triggers = set(PROCESSES[kind].triggers()) if kind in PROCESSES else set()
        records = {}
        for key in sorted(data):
            value = data[key]
            if key in triggers and isinstance(value, dict) and "effective_date" in value:
                value = dict(data.pop(key))
                record = {"effective_date": value.pop("effective_date")}
                part, keys = _LEGACY_ENGINE_KEYS.get(key, ("", ()))
                moved = {k: value.pop(k) for k in keys if k in value}
                record["data"] = value
                if moved:
                    record["engine"] = {part: moved}
                records[key] = record
        if records:
            conn.exec_driver_sql(db.sql("UPDATE cases SET data = :data, records = :records "
                                        "WHERE id = :id"),
                                 {"id": case_id, "data": jsontext.dumps(data),
                                  "records": jsontext.dumps(records)})


def _timer_rules_as_data(db: Database, conn: Connection) -> None:
    """A timer stored before kept its rule in words only: read once here, into data. Every
    timer then counted on the LA's calendar (`local`)."""
    rows = conn.exec_driver_sql("SELECT id, rule FROM timers WHERE rule_n = 0").all()
    for timer_id, rule in rows:
        working = re.match(r"(\d+) working days", rule)
        calendar_days = re.search(r"(\d+) calendar days", rule)
        kind, n = (("working_days", int(working.group(1))) if working else
                   ("calendar_days", int(calendar_days.group(1))) if calendar_days else
                   ("working_days", 0))
        conn.exec_driver_sql(db.sql("UPDATE timers SET rule_kind = :kind, rule_n = :n, "
                                    "calendar = 'local' WHERE id = :id"),
                             {"id": timer_id, "kind": kind, "n": n})


def _seal_notices(db: Database, conn: Connection) -> None:
    """Notices stored before had only the hash of their body: each is sealed now as it stands
    (what was edited before this migration cannot be told apart)."""
    rows = conn.exec_driver_sql(
        "SELECT id, case_id, log_seq, template, template_sha256, recipients, subject, body "
        "FROM notices WHERE hash IS NULL").all()
    for notice_id, case_id, log_seq, template, version, recipients, subject, body in rows:
        salt = secrets.token_hex(16)
        content = hashchain.notice_content_sha256(salt, json.loads(recipients), subject, body)
        conn.exec_driver_sql(
            db.sql("UPDATE notices SET salt = :salt, content_sha256 = :content, hash = :hash "
                   "WHERE id = :id"),
            {"id": notice_id, "salt": salt, "content": content,
             "hash": hashchain.notice_hash(notice_id, case_id, log_seq, template, version,
                                           content)})


def _guard_log_and_notices(db: Database, conn: Connection) -> None:
    unchanged = " AND ".join(f"NEW.{c} IS NOT DISTINCT FROM OLD.{c}" if not db.is_sqlite
                             else f"NEW.{c} IS OLD.{c}" for c in _LOG_FIXED)
    erasure = f"OLD.erased = 0 AND NEW.erased = 1 AND NEW.data_salt IS NULL AND {unchanged}"
    if db.is_sqlite:
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS transition_log_no_update")
        conn.exec_driver_sql(
            f"CREATE TRIGGER transition_log_no_update BEFORE UPDATE ON transition_log "
            f"WHEN NOT ({erasure}) BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END")
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS notices_no_delete")
        conn.exec_driver_sql(
            "CREATE TRIGGER notices_no_delete BEFORE DELETE ON notices BEGIN "
            "SELECT RAISE(ABORT, 'notices are kept: a stored notice is never deleted'); END")
        return
    conn.exec_driver_sql(
        "CREATE OR REPLACE FUNCTION transition_log_append_only() RETURNS trigger AS $$ BEGIN "
        f"IF TG_OP = 'UPDATE' AND {erasure} THEN RETURN NEW; END IF; "
        f"RAISE EXCEPTION '{_APPEND_ONLY}'; END $$ LANGUAGE plpgsql")
    conn.exec_driver_sql(
        "CREATE OR REPLACE FUNCTION notices_kept() RETURNS trigger AS $$ BEGIN "
        "RAISE EXCEPTION 'notices are kept: a stored notice is never deleted'; END $$ "
        "LANGUAGE plpgsql")
    for statement in (
            "DROP TRIGGER IF EXISTS transition_log_no_truncate ON transition_log",
            "CREATE TRIGGER transition_log_no_truncate BEFORE TRUNCATE ON transition_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION transition_log_append_only()",
            "DROP TRIGGER IF EXISTS notices_no_delete ON notices",
            "CREATE TRIGGER notices_no_delete BEFORE DELETE ON notices "
            "FOR EACH ROW EXECUTE FUNCTION notices_kept()",
            "DROP TRIGGER IF EXISTS notices_no_truncate ON notices",
            "CREATE TRIGGER notices_no_truncate BEFORE TRUNCATE ON notices "
            "FOR EACH STATEMENT EXECUTE FUNCTION notices_kept()"):
        conn.exec_driver_sql(statement)


def _web_console(db: Database, conn: Connection) -> None:
    """The web console's own tables (storage/tables.py): its accounts and signed-in sessions, and
    an index for its incident list; `case_search`, the narrow copy of each case's searchable names that the console refreshes
    from the log (storage/console.py). A case's personal data must not outlive its erasure in
    that copy: erasing a case (the only statement that sets `erased_at`) deletes its search row
    in the same transaction, through a trigger that costs nothing on any other write."""
    from sqlmodel import SQLModel
    from storage import tables
    SQLModel.metadata.create_all(conn, tables=[
        SQLModel.metadata.tables["users"], SQLModel.metadata.tables["console_sessions"],
        SQLModel.metadata.tables["case_search"], SQLModel.metadata.tables["case_search_head"]])
    conn.exec_driver_sql("INSERT INTO case_search_head (id, global_seq) VALUES (1, 0)")
    # The incident list counts and orders timers and notices from these indexes alone: a
    # missed deadline is a fired timer of certain names, newest first; a notice that waits to
    # retry is a pending one with attempts (without them, 500 ms to 1.5 s at 100,000 cases).
    conn.exec_driver_sql("CREATE INDEX ix_timers_incidents ON timers (status, fires_at, name, id)")
    conn.exec_driver_sql("CREATE INDEX ix_notices_incidents ON notices "
                         "(status, attempts, created_at, id)")
    if db.is_sqlite:
        conn.exec_driver_sql(
            "CREATE TRIGGER case_search_forget_erased AFTER UPDATE OF erased_at ON cases "
            "WHEN NEW.erased_at IS NOT NULL BEGIN "
            "DELETE FROM case_search WHERE case_id = NEW.id; END")
        return
    conn.exec_driver_sql(
        "CREATE OR REPLACE FUNCTION case_search_forget_erased() RETURNS trigger AS $$ BEGIN "
        "DELETE FROM case_search WHERE case_id = NEW.id; RETURN NULL; END $$ LANGUAGE plpgsql")
    conn.exec_driver_sql(
        "CREATE TRIGGER case_search_forget_erased AFTER UPDATE OF erased_at ON cases "
        "FOR EACH ROW WHEN (NEW.erased_at IS NOT NULL) "
        "EXECUTE FUNCTION case_search_forget_erased()")


def _rule_edition_2(db: Database, conn: Connection) -> None:
    """Every entry logged so far was decided under the first edition of the rules; the second
    (states/editions.py) applies from the next one."""
    from sqlmodel import SQLModel
    from storage import tables  # noqa: F401
    SQLModel.metadata.create_all(conn, tables=[SQLModel.metadata.tables["rule_editions"]])
    head = conn.exec_driver_sql("SELECT global_seq FROM chain_head WHERE id = 1").scalar() or 0
    insert = db.sql("INSERT INTO rule_editions (edition, from_global_seq, description) "
                    "VALUES (:e, :g, :d)")
    conn.exec_driver_sql(insert, {"e": 1, "g": 1, "d": "the rules as first built"})
    conn.exec_driver_sql(insert, {"e": 2, "g": int(head) + 1, "d": (
        "2026-11-30: late-keyed events, calendars by party, assessment_outcome, send_to_la, "
        "vacate, no refusal of a review")})


def _rule_edition_3(db: Database, conn: Connection) -> None:
    """The third edition of the rules (states/editions.py) applies from the next log entry."""
    head = conn.exec_driver_sql("SELECT global_seq FROM chain_head WHERE id = 1").scalar() or 0
    conn.exec_driver_sql(
        db.sql("INSERT INTO rule_editions (edition, from_global_seq, description) "
               "VALUES (:e, :g, :d)"),
        {"e": 3, "g": int(head) + 1, "d": (
            "2026-12-06: parties bound to their cases, everyone concerned told, review_outcome, "
            "a withdrawn review reopens its window, give_notice and post_ends")})


def _candidate_email_index(db: Database, conn: Connection) -> None:
    """Opening an application asks whether its candidate already holds a certificate (DOMAIN.md,
    `already_certified`). Without this index that question reads every certified case, so the
    cost of `open` grows with the database; with it, a lookup. The expression is the one the
    query uses (storage/sql_store.py), which is what lets each database's planner use it."""
    from storage.sql_store import CANDIDATE_EMAIL
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_cases_candidate_email ON cases "
                         f"(({CANDIDATE_EMAIL[db.dialect]}))")


def _front_door(db: Database, conn: Connection) -> None:
    """Accounts of every role that acts, and ones disabled; the API's tokens and idempotency
    keys; the parties each case binds, in the search table, which is then built again (a
    database made since migration 6 has these columns already: tables.py creates them)."""
    from sqlmodel import SQLModel
    from storage import tables  # noqa: F401
    if "disabled_at" not in {c["name"] for c in inspect(conn).get_columns("users")}:
        conn.exec_driver_sql("ALTER TABLE users ADD COLUMN disabled_at VARCHAR")
    if "parties" not in {c["name"] for c in inspect(conn).get_columns("case_search")}:
        conn.exec_driver_sql("ALTER TABLE case_search ADD COLUMN parties TEXT NOT NULL "
                             "DEFAULT ''")
    conn.exec_driver_sql("UPDATE case_search_head SET global_seq = 0 WHERE id = 1")
    SQLModel.metadata.create_all(conn, tables=[SQLModel.metadata.tables["api_tokens"],
                                               SQLModel.metadata.tables["idempotency_keys"]])


MIGRATIONS: list[tuple[int, str, Callable[[Database, Connection], None]]] = [
    (1, "cases, transition log, chain head, timers and notices", _create_tables),
    (2, "the transition log refuses UPDATE and DELETE", _append_only_log),
    (3, "delivery back-off, the delivery queue's index and daemon heartbeats",
     _delivery_and_heartbeat),
    (4, "the engine's own record of a log entry apart from the submitted data; the template "
        "version of each notice",
     _engine_record_apart),
    (5, "erasable personal data, sealed notices, trigger records apart from the opening data, "
        "timer rules as data", _erasable_and_sealed),
    (6, "the web console: accounts, sessions and the search table", _web_console),
    (7, "editions of the rules: from which log entry each applies", _rule_edition_2),
    (8, "an index of the cases by their candidate's address", _candidate_email_index),
    (9, "the third edition of the rules: from which log entry it applies", _rule_edition_3),
    (10, "the front door: accounts of every role, API tokens, idempotency keys, and the "
         "parties of each case in the search table", _front_door),
]
LATEST = MIGRATIONS[-1][0]


def applied_versions(db: Database, conn: Connection | Any) -> set[int]:
    """The migrations recorded in the database (none: no schema of ours yet). `conn`: a read or
    write transaction of `db` (storage/db.py); asked in SQL, so a read needs no SQLAlchemy."""
    table = conn.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        if db.is_sqlite else "SELECT to_regclass('schema_migrations')").fetchone()
    if not table or table[0] is None:
        return set()
    return {row[0] for row in conn.exec_driver_sql("SELECT version FROM schema_migrations")}


def migrate(db: Database, now_text: str) -> list[tuple[int, str]]:
    """Apply every pending migration, each in the one transaction with its record. Returns what
    was applied (empty when the schema was already current)."""
    from sqlmodel import SQLModel
    from storage import tables  # noqa: F401  (registers the tables with SQLModel.metadata)
    with db.write() as conn:
        _refuse_foreign_or_newer(db, conn)
        SQLModel.metadata.create_all(conn, tables=[SQLModel.metadata.tables["schema_migrations"]])
    applied = []
    for version, description, step in MIGRATIONS:
        with db.write() as conn:
            if version in applied_versions(db, conn):
                continue
            step(db, conn)
            conn.exec_driver_sql(
                db.sql("INSERT INTO schema_migrations (version, description, applied_at) "
                       "VALUES (:v, :d, :t)"), {"v": version, "d": description, "t": now_text})
            applied.append((version, description))
    return applied


def _refuse_foreign_or_newer(db: Database, conn: Connection) -> None:
    """`init` works on an empty database or one of this engine's, and never downgrades."""
    names = set(inspect(conn).get_table_names())
    ours = "schema_migrations" in names and ("transition_log" in names
                                             or not applied_versions(db, conn))
    if names and not ours:
        raise SchemaError(
            f"{safe_url(db.url)} holds tables of another program ({', '.join(sorted(names)[:5])}"
            f"{', ...' if len(names) > 5 else ''}): init creates the AST engine's schema only in "
            "an empty database or migrates one of its own; give --db another database")
    newer = [v for v in applied_versions(db, conn) if v > LATEST]
    if newer:
        raise SchemaError(_newer_message(db, max(newer)))


def _newer_message(db: Database, version: int) -> str:
    return (f"the schema of {safe_url(db.url)} is at version {version}, newer than this "
            f"engine knows (it knows up to {LATEST}): upgrade the engine to use it")


def require_current(db: Database) -> None:
    with db.read() as conn:
        versions = applied_versions(db, conn)
    if not versions:
        raise SchemaError(f"no AST engine schema in {safe_url(db.url)}: run `init` first")
    if max(versions) > LATEST:
        raise SchemaError(_newer_message(db, max(versions)))
    missing = [v for v, _, _ in MIGRATIONS if v not in versions]
    if missing:
        raise SchemaError(f"the schema of {safe_url(db.url)} is behind (missing migration(s) "
                          f"{', '.join(map(str, missing))}): run `init` to migrate it")
