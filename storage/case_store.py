"""What one unit of work reads and writes, on one database transaction. The engine
(workflows/engine.py) speaks only to this interface; replay (workflows/replay.py) gives it the
same operations in memory (storage/memory_store.py), so a replayed entry runs the very code that
recorded it, without the cost of a database.

Rows come back with attribute access (`row.state`). A case's `data` goes in and comes back as
a dict, stored as canonical JSON text (storage/jsontext.py); the dicts handed out are the
caller's to read, not to change (the memory store shares them)."""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from storage import jsontext, statements as sql
from storage.db import Database
from storage.statements import Statements


class SqlCaseStore:
    def __init__(self, db: Database, conn):
        self.q = Statements(db, conn)
        self.locks = not db.is_sqlite   # SQLite's BEGIN IMMEDIATE already serialises writers

    # -- the global chain head: every write takes it first ---------------------------------------

    def chain_head(self) -> tuple[int, str]:
        # On PostgreSQL the row lock orders every write, taken before anything is read so that
        # guards reading other cases (Annex E's count, an appointee's certificate) see every
        # earlier commit.
        row = self.q.one(sql.CHAIN_HEAD + (" FOR UPDATE" if self.locks else ""), {})
        return row.global_seq, row.hash

    def set_chain_head(self, global_seq: int, hash_: str) -> None:
        self.q.run(sql.SET_CHAIN_HEAD, {"global_seq": global_seq, "hash": hash_})

    # -- reading ---------------------------------------------------------------------------------

    def case(self, case_id: str) -> Any:
        row = self.q.one(sql.CASE, {"id": case_id})
        return row._replace(data=jsontext.loads(row.data)) if row else None

    def cases_of_kind(self, kind: str) -> list:
        return [r._replace(data=jsontext.loads(r.data))
                for r in self.q.all(sql.CASES_OF_KIND_IN, {"kind": kind})]

    def timers_of(self, case_id: str) -> list:
        return self.q.all(sql.CASE_TIMERS, {"case_id": case_id})

    def pending_timer(self, timer_id: int, claim: str = "") -> Any:
        """`claim`: "skip" takes the row lock or passes over a timer another daemon holds;
        "wait" waits for the lock (PostgreSQL; SQLite has one writer at a time anyway)."""
        lock = {"": "", "skip": " FOR UPDATE SKIP LOCKED", "wait": " FOR UPDATE"}[claim]
        return self.q.one(sql.PENDING_TIMER_FULL + (lock if self.locks else ""), {"id": timer_id})

    def pending_timer_named(self, case_id: str, name: str) -> Any:
        return self.q.one(sql.PENDING_TIMER_NAMED_FULL, {"case_id": case_id, "name": name})

    # -- writing ---------------------------------------------------------------------------------

    def insert_case(self, row: Mapping) -> None:
        self.q.run(sql.INSERT_CASE, {**row, "data": jsontext.dumps(row["data"])})

    def update_case(self, row: Mapping) -> int:
        """The number of rows changed: 0 when `expected_version` is no longer the case's."""
        return self.q.run(sql.UPDATE_CASE, {**row, "data": jsontext.dumps(row["data"])})

    def append_log(self, entry: Mapping) -> None:
        self.q.run(sql.INSERT_LOG, entry)

    def start_timers(self, rows: Iterable[Mapping]) -> None:
        self.q.many(sql.INSERT_TIMER, rows)

    def end_timer(self, timer_id: int, status: str, ended_seq: int) -> int:
        return self.q.run(sql.END_TIMER, {"status": status, "ended_seq": ended_seq,
                                          "id": timer_id})

    def store_notices(self, rows: Iterable[Mapping]) -> None:
        self.q.many(sql.INSERT_NOTICE, rows)
