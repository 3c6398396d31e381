"""Statements sent on a transaction's own DBAPI cursor, in the database's parameter style
(shared/DESIGN.md "Performance": an ORM session per transition costs a quarter of the raw rate,
a few driver-level statements about half). SQLAlchemy still owns the connection and the
transaction (BEGIN IMMEDIATE, commit, rollback); the SQLModel tables in storage/tables.py remain
the schema these statements write. Every SQL text of the engine lives in storage/."""
from __future__ import annotations

from collections import namedtuple
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Iterable, Mapping, NamedTuple

from storage.db import Database

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


class Statements:
    def __init__(self, db: Database, conn: Connection | Any):
        self.db = db
        dbapi: Any = conn.connection   # the pool's proxy of the driver's connection
        self.cursor: Any = (dbapi.cursor() if db.is_sqlite
                            else dbapi.driver_connection.cursor())   # psycopg's own: tuple rows

    def one(self, sql: str, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        self.cursor.execute(self.db.sql(sql), params)
        row: tuple[Any, ...] | None = self.cursor.fetchone()
        return row

    def all(self, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        self.cursor.execute(self.db.sql(sql), params)
        return list(self.cursor.fetchall())

    def named(self, sql: str, params: Mapping[str, Any]) -> list[Any]:
        """Rows with their columns as attributes (for the read queries behind the commands)."""
        rows = self.all(sql, params)
        if not rows:
            return rows
        row_class = _row_class(tuple(d[0] for d in self.cursor.description))
        return [row_class._make(r) for r in rows]

    def named_one(self, sql: str, params: Mapping[str, Any]) -> Any:
        found = self.named(sql, params)
        return found[0] if found else None

    def run(self, sql: str, params: Mapping[str, Any]) -> int:
        self.cursor.execute(self.db.sql(sql), params)
        changed: int = self.cursor.rowcount
        return changed

    def many(self, sql: str, rows: Iterable[Mapping[str, Any]]) -> None:
        rows = list(rows)
        if rows:
            self.cursor.executemany(self.db.sql(sql), rows)


@lru_cache(maxsize=256)
def _row_class(columns: tuple[str, ...]) -> type[NamedTuple]:
    return namedtuple("Row", columns, rename=True)  # type: ignore[return-value]
