"""The unit of work's store (storage/protocol.py) kept in memory, for replay: the rows it holds
are exactly the rows the database would hold, so a replayed case can be compared with the stored
one column for column, but nothing is locked or committed, and case data is kept as the dict the
database would give back (jsontext.as_read_back), not written out and parsed again.

A write replaces a row rather than changing it, so a row handed out earlier keeps what it was
read with, as a row read from the database does (tests/engine/test_store_contract.py). Case data that
a transition did not touch is shared between the case's versions, not copied: it is read back
as values nothing can change (jsontext.ReadBackDict), so no row can change another's.

It has no rollback: replay stops a case at the first entry that cannot be re-applied, and that
case's rows are then reported, not trusted."""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from storage.errors import StorageError
from storage.hashchain import GENESIS
from storage.jsontext import as_read_back
from storage.protocol import Claim
from storage.rows import (ERASED, CaseChange, CaseRow, ChainHead, Erasure, IdempotentRequest,
                          LogEntry, NewTimer, NoticeRow, TimerRow)


class MemoryCaseStore:
    def __init__(self) -> None:
        self.cases: dict[str, CaseRow] = {}
        self.log: dict[str, list[LogEntry]] = {}
        self.timers: dict[str, list[TimerRow]] = {}
        self.notices: dict[str, list[NoticeRow]] = {}
        self.head = ChainHead(global_seq=0, hash=GENESIS)
        self._timer_by_id: dict[int, TimerRow] = {}
        self._timer_ids = 0
        self.requests: dict[tuple[str, str], IdempotentRequest] = {}

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
        # in the database's order: by entry, then by id as text (CASE.SEQ.10 before CASE.SEQ.2)
        return sorted(self.notices.get(case_id, ()), key=_entry_and_id)

    def pending_timer(self, timer_id: int, claim: Claim = "") -> TimerRow | None:
        timer = self._timer_by_id.get(timer_id)
        return timer if timer is not None and timer.status == "pending" else None

    def pending_timer_named(self, case_id: str, name: str) -> TimerRow | None:
        return next((t for t in self.timers.get(case_id, ())
                     if t.name == name and t.status == "pending"), None)

    # -- writing -----------------------------------------------------------------------------------

    def insert_case(self, row: CaseRow) -> None:
        if row.id in self.cases:
            # (as the database refuses a second row of the same id)
            raise StorageError(f"case {row.id} is already open")
        # Built by name as update_case builds it (dataclasses.replace walks the class's field
        # list for every case opened).
        self.cases[row.id] = CaseRow(
            id=row.id, kind=row.kind, state=row.state, version=row.version,
            data=as_read_back(row.data), records=as_read_back(row.records),
            opened_at=row.opened_at, last_effective_at=row.last_effective_at,
            last_hash=row.last_hash, updated_at=row.updated_at, erased_at=row.erased_at)
        self.log[row.id], self.timers[row.id], self.notices[row.id] = [], [], []

    def update_case(self, change: CaseChange) -> int:
        case = self.cases.get(change.id)
        if case is None or case.version != change.expected_version:
            return 0
        self.cases[change.id] = CaseRow(
            id=case.id, kind=case.kind, state=change.state, version=change.version,
            data=as_read_back(change.data, previous=case.data),
            records=as_read_back(change.records, previous=case.records),
            opened_at=case.opened_at, last_effective_at=change.last_effective_at,
            last_hash=change.last_hash, updated_at=change.updated_at, erased_at=case.erased_at)
        return 1

    def append_log(self, entry: LogEntry) -> None:
        self.log[entry.case_id].append(entry)

    def start_timers(self, rows: Sequence[NewTimer]) -> None:
        for row in rows:
            self._timer_ids += 1
            timer = TimerRow(
                id=self._timer_ids, case_id=row.case_id, name=row.name, due=row.due,
                fires_at=row.fires_at, status="pending", rule=row.rule, rule_kind=row.rule_kind,
                rule_n=row.rule_n, calendar=row.calendar, counted_from=row.counted_from,
                nation=row.nation, closures=row.closures, school=row.school,
                school_closures=row.school_closures, started_seq=row.started_seq,
                ended_seq=None)
            self.timers[row.case_id].append(timer)
            self._timer_by_id[timer.id] = timer

    def end_timer(self, timer_id: int, status: str, ended_seq: int) -> int:
        timer = self.pending_timer(timer_id)
        if timer is None:
            return 0
        self._replace_timer(timer, _with_status(timer, status, ended_seq))
        return 1

    def supersede_timer(self, timer_id: int) -> int:
        timer = self._timer_by_id.get(timer_id)
        if timer is None or timer.status != "fired":
            return 0
        self._replace_timer(timer, _with_status(timer, "superseded", timer.ended_seq))
        return 1

    def _replace_timer(self, old: TimerRow, new: TimerRow) -> None:
        # (a plain loop: a generator given to next() is left suspended and closed later, which
        # cost more than the search, once for every timer that ends)
        timers = self.timers[old.case_id]
        for n, timer in enumerate(timers):
            if timer is old:
                timers[n] = new
                break
        else:
            raise StorageError(f"timer {old.id} is not among case {old.case_id}'s timers")
        self._timer_by_id[new.id] = new

    def store_notices(self, rows: Sequence[NoticeRow]) -> None:
        for row in rows:
            self.notices[row.case_id].append(row)

    def erase(self, erasure: Erasure) -> None:
        case_id = erasure.case_id
        self.cases[case_id] = replace(self.cases[case_id], data=as_read_back(erasure.case_data),
                                      records=as_read_back(erasure.records),
                                      erased_at=erasure.erased_at)
        self.log[case_id] = [
            replace(e, data=erasure.log_data[e.seq], data_salt=None, erased=True)
            if e.seq in erasure.log_data else e for e in self.log.get(case_id, ())]
        self.notices[case_id] = [
            replace(n, recipients=(ERASED,), subject=ERASED, body=ERASED, salt=None, erased=True)
            for n in self.notices.get(case_id, ())]

    def idempotent_request(self, principal: str, key: str) -> IdempotentRequest | None:
        return self.requests.get((principal, key))

    def remember_request(self, row: IdempotentRequest) -> None:
        self.requests[(row.principal, row.key)] = row   # frozen: safe to hand out again


def _entry_and_id(notice: NoticeRow) -> tuple[int, str]:
    return notice.log_seq, notice.id


def _with_status(timer: TimerRow, status: str, ended_seq: int | None) -> TimerRow:
    """`timer` as a new row with another status (the one handed out keeps its own)."""
    return TimerRow(
        id=timer.id, case_id=timer.case_id, name=timer.name, due=timer.due,
        fires_at=timer.fires_at, status=status, rule=timer.rule, rule_kind=timer.rule_kind,
        rule_n=timer.rule_n, calendar=timer.calendar, counted_from=timer.counted_from,
        nation=timer.nation, closures=timer.closures, school=timer.school,
        school_closures=timer.school_closures, started_seq=timer.started_seq,
        ended_seq=ended_seq, attempts=timer.attempts, last_error=timer.last_error)
