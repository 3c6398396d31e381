"""The unit of work's store (storage/protocol.py) kept in memory, for replay: the rows it holds
are exactly the rows the database would hold, so a replayed case can be compared with the stored
one column for column, but nothing is locked or committed, and case data is kept as the dict
the database would give back (jsontext.as_read_back), not written out and parsed again.

It has no rollback: replay stops a case at the first entry that cannot be re-applied, and that
case's rows are then reported, not trusted."""
from __future__ import annotations

from typing import Sequence

from storage.hashchain import GENESIS
from storage.jsontext import as_read_back
from storage.protocol import Claim
from storage.rows import (CaseChange, CaseRow, ChainHead, Erasure, LogEntry, NewTimer,
                          NoticeRow, TimerRow)


class MemoryCaseStore:
    def __init__(self) -> None:
        self.cases: dict[str, CaseRow] = {}
        self.log: dict[str, list[LogEntry]] = {}
        self.timers: dict[str, list[TimerRow]] = {}
        self.notices: dict[str, list[NoticeRow]] = {}
        self.head = ChainHead(0, GENESIS)
        self._timer_by_id: dict[int, TimerRow] = {}
        self._timer_ids = 0

    # The unit of work's transaction: this store is its own, with nothing to commit or roll
    # back (a plain context manager: replay opens one per entry).
    def transaction(self) -> "MemoryCaseStore":
        return self

    def __enter__(self) -> "MemoryCaseStore":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def forget(self, case_id: str) -> None:
        """Drop a case once it has been compared: replaying every case keeps only one."""
        for timer in self.timers.get(case_id, ()):
            del self._timer_by_id[timer.id]
        for table in (self.cases, self.log, self.timers, self.notices):
            table.pop(case_id, None)

    # -- the global chain head ---------------------------------------------------------------------

    def chain_head(self) -> ChainHead:
        return self.head

    def set_chain_head(self, head: ChainHead) -> None:
        self.head = head

    # -- reading -----------------------------------------------------------------------------------

    def case(self, case_id: str) -> CaseRow | None:
        return self.cases.get(case_id)

    def cases_of_kind(self, kind: str, state: str | None = None,
                      email: str | None = None) -> list[CaseRow]:
        return [c for c in self.cases.values() if c.kind == kind
                and (state is None or c.state == state)
                and (email is None or c.candidate_email == email.lower())]

    def log_of(self, case_id: str) -> list[LogEntry]:
        return list(self.log.get(case_id, ()))

    def timers_of(self, case_id: str) -> list[TimerRow]:
        return list(self.timers.get(case_id, ()))

    def notices_of(self, case_id: str) -> list[NoticeRow]:
        return list(self.notices.get(case_id, ()))

    def pending_timer(self, timer_id: int, claim: Claim = "") -> TimerRow | None:
        timer = self._timer_by_id.get(timer_id)
        return timer if timer is not None and timer.status == "pending" else None

    def pending_timer_named(self, case_id: str, name: str) -> TimerRow | None:
        return next((t for t in self.timers.get(case_id, ())
                     if t.name == name and t.status == "pending"), None)

    # -- writing -----------------------------------------------------------------------------------

    def insert_case(self, row: CaseRow) -> None:
        if row.id in self.cases:
            raise KeyError(f"case {row.id} is already open")
        self.cases[row.id] = CaseRow(row.id, row.kind, row.state, row.version,
                                     as_read_back(row.data), as_read_back(row.records),
                                     row.opened_at, row.last_effective_at, row.last_hash,
                                     row.updated_at, row.erased_at)
        self.log[row.id], self.timers[row.id], self.notices[row.id] = [], [], []

    def update_case(self, change: CaseChange) -> int:
        case = self.cases.get(change.id)
        if case is None or case.version != change.expected_version:
            return 0
        case.state, case.version = change.state, change.version
        case.updated_at, case.last_effective_at = change.updated_at, change.last_effective_at
        case.last_hash = change.last_hash
        if change.data is not case.data:
            case.data = as_read_back(change.data, previous=case.data)
        if change.records is not case.records:
            case.records = as_read_back(change.records, previous=case.records)
        return 1

    def append_log(self, entry: LogEntry) -> None:
        self.log[entry.case_id].append(entry)

    def start_timers(self, rows: Sequence[NewTimer]) -> None:
        for row in rows:
            self._timer_ids += 1
            timer = TimerRow(self._timer_ids, row.case_id, row.name, row.due, row.fires_at,
                             "pending", row.rule, row.rule_kind, row.rule_n, row.calendar,
                             row.counted_from, row.nation, row.closures, row.school,
                             row.school_closures, row.started_seq, None)
            self.timers[row.case_id].append(timer)
            self._timer_by_id[timer.id] = timer

    def end_timer(self, timer_id: int, status: str, ended_seq: int) -> int:
        timer = self.pending_timer(timer_id)
        if timer is None:
            return 0
        timer.status, timer.ended_seq = status, ended_seq
        return 1

    def supersede_timer(self, timer_id: int) -> int:
        timer = self._timer_by_id.get(timer_id)
        if timer is None or timer.status != "fired":
            return 0
        timer.status = "superseded"
        return 1

    def store_notices(self, rows: Sequence[NoticeRow]) -> None:
        for row in rows:
            self.notices[row.case_id].append(row)

    def erase(self, erasure: Erasure) -> None:
        case = self.cases[erasure.case_id]
        case.data, case.records, case.erased_at = (erasure.case_data, erasure.records,
                                                   erasure.erased_at)
        for entry in self.log.get(erasure.case_id, ()):
            if entry.seq in erasure.log_data:
                entry.data, entry.data_salt, entry.erased = erasure.log_data[entry.seq], None, True
        for notice in self.notices.get(erasure.case_id, ()):
            notice.recipients, notice.subject, notice.body = ("erased",), "erased", "erased"
            notice.salt, notice.erased = None, True
