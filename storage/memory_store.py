"""The unit of work's store (storage/case_store.py) kept in memory, for replay: the rows it
holds are exactly the rows the database would hold, so a replayed case can be compared with the
stored one column for column, but nothing is locked or committed, and case data is kept as the
dict the database would give back (jsontext.as_read_back), not written out and parsed again.

It has no rollback: replay stops a case at the first entry that cannot be re-applied, and that
case's rows are then reported, not trusted."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Iterable, Mapping

from storage.hashchain import GENESIS
from storage.jsontext import as_read_back


class MemoryCaseStore:
    def __init__(self) -> None:
        self.cases: dict[str, SimpleNamespace] = {}
        self.log: dict[str, list[SimpleNamespace]] = {}
        self.timers: dict[str, list[SimpleNamespace]] = {}
        self.notices: dict[str, list[SimpleNamespace]] = {}
        self.head = (0, GENESIS)
        self._timer_by_id: dict[int, SimpleNamespace] = {}
        # The data dict each case was last written with, as given: opening a case inserts it
        # and then updates it with the very same dict, which is already read back.
        self._given: dict[str, dict] = {}
        self._timer_ids = 0

    # The unit of work's transaction (Engine.transaction): this store is its own, with nothing
    # to commit and no rollback.
    def __enter__(self) -> "MemoryCaseStore":
        return self

    def __exit__(self, *exc) -> None:
        return None

    def forget(self, case_id: str) -> None:
        """Drop a case once it has been compared: replaying every case keeps only one."""
        for timer in self.timers.get(case_id, ()):
            del self._timer_by_id[timer.id]
        for table in (self.cases, self.log, self.timers, self.notices, self._given):
            table.pop(case_id, None)

    # -- the global chain head ---------------------------------------------------------------------

    def chain_head(self) -> tuple[int, str]:
        return self.head

    def set_chain_head(self, global_seq: int, hash_: str) -> None:
        self.head = (global_seq, hash_)

    # -- reading -----------------------------------------------------------------------------------

    def case(self, case_id: str) -> Any:
        return self.cases.get(case_id)

    def cases_of_kind(self, kind: str) -> list:
        return [c for c in self.cases.values() if c.kind == kind]

    def timers_of(self, case_id: str) -> list:
        return self.timers.get(case_id, [])

    def pending_timer(self, timer_id: int, claim: str = "") -> Any:
        timer = self._timer_by_id.get(timer_id)
        return timer if timer is not None and timer.status == "pending" else None

    def pending_timer_named(self, case_id: str, name: str) -> Any:
        return next((t for t in self.timers.get(case_id, ())
                     if t.name == name and t.status == "pending"), None)

    # -- writing -----------------------------------------------------------------------------------

    def insert_case(self, row: Mapping) -> None:
        if row["id"] in self.cases:
            raise KeyError(f"case {row['id']} is already open")
        self.cases[row["id"]] = SimpleNamespace(**{**row, "data": as_read_back(row["data"])})
        self._given[row["id"]] = row["data"]
        self.log[row["id"]], self.timers[row["id"]], self.notices[row["id"]] = [], [], []

    def update_case(self, row: Mapping) -> int:
        case = self.cases.get(row["id"])
        if case is None or case.version != row["expected_version"]:
            return 0
        vars(case).update(state=row["state"], version=row["version"], updated_at=row["updated_at"],
                          last_effective_at=row["last_effective_at"], last_hash=row["last_hash"])
        if row["data"] is not self._given.get(row["id"]):
            case.data = as_read_back(row["data"], previous=case.data)
            self._given[row["id"]] = row["data"]
        return 1

    def append_log(self, entry: Mapping) -> None:
        self.log[entry["case_id"]].append(SimpleNamespace(**entry))

    def start_timers(self, rows: Iterable[Mapping]) -> None:
        for row in rows:
            self._timer_ids += 1
            timer = SimpleNamespace(**row, id=self._timer_ids, status="pending", ended_seq=None)
            self.timers[row["case_id"]].append(timer)
            self._timer_by_id[timer.id] = timer

    def end_timer(self, timer_id: int, status: str, ended_seq: int) -> int:
        timer = self.pending_timer(timer_id)
        if timer is None:
            return 0
        timer.status, timer.ended_seq = status, ended_seq
        return 1

    def store_notices(self, rows: Iterable[Mapping]) -> None:
        for row in rows:
            self.notices[row["case_id"]].append(SimpleNamespace(**row, status="pending"))
