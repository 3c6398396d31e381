"""What one unit of work reads and writes. The engine (workflows/engine/) speaks only to this
protocol; the SQL store (storage/sql_store.py) implements it on one database transaction and the
memory store (storage/memory_store.py) in memory for replay, so that a replayed entry runs the
very code that recorded it.

A row handed out is the reader's to read: a later write does not change it (tests/
test_store_contract.py holds every store to this protocol)."""
from __future__ import annotations

from typing import Literal, Protocol, Sequence

from storage.rows import (CaseChange, CaseRow, ChainHead, Erasure, IdempotentRequest,
                          LogEntry, NewTimer, NoticeRow, TimerRow)

# How a timer is claimed: "skip" passes over one another daemon holds, "wait" waits for it
# (PostgreSQL row locks; SQLite has one writer at a time anyway), "" reads it unlocked.
Claim = Literal["", "skip", "wait"]


class CaseStore(Protocol):
    # -- the global chain head: every write takes it first --------------------------------------
    def chain_head(self) -> ChainHead: ...
    def set_chain_head(self, head: ChainHead) -> None: ...

    # -- reading ----------------------------------------------------------------------------------
    def case(self, case_id: str) -> CaseRow | None: ...
    def cases_of_kind(self, kind: str, state: str | None = None,
                      email: str | None = None) -> list[CaseRow]:
        """Cases of `kind`; only those in `state`, and whose candidate's address is `email`
        (any case of letters), when given."""
    def log_of(self, case_id: str) -> list[LogEntry]: ...
    def timers_of(self, case_id: str) -> list[TimerRow]: ...
    def notices_of(self, case_id: str) -> list[NoticeRow]: ...
    def pending_timer(self, timer_id: int, claim: Claim = "") -> TimerRow | None: ...
    def pending_timer_named(self, case_id: str, name: str) -> TimerRow | None: ...

    # -- writing ----------------------------------------------------------------------------------
    def insert_case(self, row: CaseRow) -> None: ...
    def update_case(self, change: CaseChange) -> int:
        """The number of rows changed: 0 when the case is no longer at `expected_version`."""
    def append_log(self, entry: LogEntry) -> None: ...
    def start_timers(self, rows: Sequence[NewTimer]) -> None: ...
    def end_timer(self, timer_id: int, status: str, ended_seq: int) -> int: ...
    def supersede_timer(self, timer_id: int) -> int:
        """Mark a fired timer `superseded` (a late-keyed event overtook its entry)."""
    def store_notices(self, rows: Sequence[NoticeRow]) -> None: ...
    def erase(self, erasure: Erasure) -> None:
        """Replace the personal fields of a case, its log entries and its notices."""

    # -- the API's idempotency keys ---------------------------------------------------------------
    def idempotent_request(self, principal: str, key: str) -> IdempotentRequest | None: ...
    def remember_request(self, row: IdempotentRequest) -> None: ...
