"""The unit of work: one transaction, as a context manager whose shape carries its guarantees.

Entering it opens the transaction and takes the head of the global hash chain (on PostgreSQL a
row lock that orders every write, taken before anything is read, so that guards reading other
cases see every earlier commit). Leaving it normally writes the new head back and commits;
leaving it by an exception rolls everything back, so a failure anywhere (a refusal, a template
error, a crash, a lost connection) leaves the database exactly as it was. No caller has a
`finish()` to remember.

    with UnitOfWork(lambda: transaction(db), recorded_at) as work:
        ...                      # work.store reads and writes; work.append(...) extends the chain
"""
from __future__ import annotations

import sys
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Callable

from storage.protocol import CaseStore
from storage.rows import ChainHead


class UnitOfWork:
    def __init__(self, transaction: Callable[[], AbstractContextManager[CaseStore]],
                 recorded_at: str | Callable[[], str]):
        """`recorded_at`: the real time every row it writes shares; a clock's reading is
        taken once the chain's head is held, so that it is later than every entry committed
        before (a live write), or the time an entry was recorded (replay)."""
        self._transaction = transaction
        self._recorded = recorded_at
        self.recorded_at = recorded_at if isinstance(recorded_at, str) else ""

    def __enter__(self) -> "UnitOfWork":
        self._open = self._transaction()
        self.store: CaseStore = self._open.__enter__()
        try:
            self.head: ChainHead = self.store.chain_head()
            if not isinstance(self._recorded, str):
                self.recorded_at = self._recorded()
        except BaseException:
            self._open.__exit__(*sys.exc_info())
            raise
        self._taken = self.head
        return self

    def next_in_chain(self) -> tuple[int, str]:
        """The global seq and previous hash of the next entry."""
        return self.head.global_seq + 1, self.head.hash

    def appended(self, global_seq: int, hash_: str) -> None:
        self.head = ChainHead(global_seq=global_seq, hash=hash_)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> bool | None:
        if kind is None and self.head is not self._taken:   # (appended makes a new head)
            try:
                self.store.set_chain_head(self.head)
            except BaseException:
                if not self._open.__exit__(*sys.exc_info()):   # rolls back
                    raise
                return None
        return self._open.__exit__(kind, error, trace)
