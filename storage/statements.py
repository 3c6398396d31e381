"""The statements of the engine's write path, sent through the transaction's connection as plain
SQL with `:name` parameters (shared/DESIGN.md "Performance": an ORM session per transition costs
a quarter of the raw rate, a few driver-level statements about half). The SQLModel tables in
storage/tables.py remain the schema these statements write."""
from __future__ import annotations

from collections import namedtuple
from functools import lru_cache, partial
from typing import Any, Iterable, Mapping

from sqlalchemy.engine import Connection

from storage.db import Database

CASE = ("SELECT id, kind, state, version, data, last_effective_at, last_hash "
        "FROM cases WHERE id = :id")
CASE_TIMERS = "SELECT id, name, due, status FROM timers WHERE case_id = :case_id ORDER BY id"
CHAIN_HEAD = "SELECT global_seq, hash FROM chain_head WHERE id = 1"
SET_CHAIN_HEAD = "UPDATE chain_head SET global_seq = :global_seq, hash = :hash WHERE id = 1"
INSERT_CASE = (
    "INSERT INTO cases (id, kind, state, version, data, opened_at, last_effective_at, last_hash,"
    " updated_at) VALUES (:id, :kind, :state, :version, :data, :opened_at, :last_effective_at,"
    " :last_hash, :updated_at)")
UPDATE_CASE = (
    "UPDATE cases SET state = :state, version = :version, data = :data, "
    "last_effective_at = :last_effective_at, last_hash = :last_hash, updated_at = :updated_at "
    "WHERE id = :id AND version = :expected_version")
INSERT_LOG = (
    "INSERT INTO transition_log (global_seq, case_id, seq, trigger, source, dest, actor,"
    " on_behalf_of, effective_at, recorded_at, data, engine, prev_hash, global_prev_hash, hash)"
    " VALUES (:global_seq, :case_id, :seq, :trigger, :source, :dest, :actor, :on_behalf_of,"
    " :effective_at, :recorded_at, :data, :engine, :prev_hash, :global_prev_hash, :hash)")
INSERT_TIMER = (
    "INSERT INTO timers (case_id, name, due, fires_at, status, rule, counted_from, nation,"
    " closures, started_seq) VALUES (:case_id, :name, :due, :fires_at, 'pending', :rule,"
    " :counted_from, :nation, :closures, :started_seq)")
END_TIMER = ("UPDATE timers SET status = :status, ended_seq = :ended_seq "
             "WHERE id = :id AND status = 'pending'")
INSERT_NOTICE = (
    "INSERT INTO notices (id, case_id, log_seq, template, template_sha256, recipients, subject,"
    " body, body_sha256, status, attempts, created_at) VALUES (:id, :case_id, :log_seq,"
    " :template, :template_sha256, :recipients, :subject, :body, :body_sha256, 'pending', 0,"
    " :created_at)")
DUE_TIMERS = ("SELECT id, case_id, name, due, fires_at FROM timers WHERE status = 'pending' "
              "AND fires_at <= :now ORDER BY fires_at, id")
PENDING_TIMER_FULL = ("SELECT id, case_id, name, due, fires_at, counted_from FROM timers "
                      "WHERE id = :id AND status = 'pending'")
PENDING_TIMER_NAMED_FULL = ("SELECT id, case_id, name, due, fires_at, counted_from FROM timers "
                            "WHERE case_id = :case_id AND name = :name AND status = 'pending' "
                            "ORDER BY id")
ALL_PENDING_TIMERS = ("SELECT t.id, t.case_id, t.name, t.due, t.counted_from, c.kind FROM timers t "
                      "JOIN cases c ON c.id = t.case_id WHERE t.status = 'pending' "
                      "ORDER BY t.fires_at, t.id")
NEXT_FIRES_AT = "SELECT MIN(fires_at) FROM timers WHERE status = 'pending'"
CASES_OF_KIND_IN = "SELECT id, kind, state, data FROM cases WHERE kind = :kind"


class Statements:
    """Runs the statements above on the transaction's own DBAPI cursor, in the database's
    parameter style. SQLAlchemy still owns the connection and the transaction (BEGIN IMMEDIATE,
    commit, rollback); going under its per-statement layer (result objects, events) for these
    few statements saves a large part of the engine's CPU per transition."""

    def __init__(self, db: Database, conn: Connection):
        self.db = db
        if db.is_sqlite:
            self.cursor = conn.connection.cursor()
            self._rows = self._named   # sqlite3 hands out tuples: named once per statement
        else:
            from psycopg.rows import namedtuple_row
            self.cursor = conn.connection.driver_connection.cursor(row_factory=namedtuple_row)
            self._rows = lambda rows: rows

    def one(self, sql: str, params: Mapping[str, Any]) -> Any:
        self.cursor.execute(self.db.sql(sql), params)
        row = self.cursor.fetchone()
        return None if row is None else self._rows([row])[0]

    def all(self, sql: str, params: Mapping[str, Any]) -> list:
        self.cursor.execute(self.db.sql(sql), params)
        return self._rows(self.cursor.fetchall())

    def _named(self, rows: list) -> list:
        if not rows:
            return rows
        row_class = _row_class(tuple(d[0] for d in self.cursor.description))
        # The cursor's rows have exactly these columns: no need for namedtuple's own _make,
        # which checks the length again in Python for every row.
        return list(map(partial(tuple.__new__, row_class), rows))

    def run(self, sql: str, params: Mapping[str, Any]) -> int:
        self.cursor.execute(self.db.sql(sql), params)
        return self.cursor.rowcount

    def many(self, sql: str, rows: Iterable[Mapping[str, Any]]) -> None:
        rows = list(rows)
        if rows:
            self.cursor.executemany(self.db.sql(sql), rows)


@lru_cache(maxsize=256)
def _row_class(columns: tuple[str, ...]):
    return namedtuple("Row", columns, rename=True)
