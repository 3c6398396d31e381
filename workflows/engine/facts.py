"""The engine's side of states.spec.Facts: what guards, recipients and deadlines read about one
transition, and how they read other cases."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Mapping, Protocol, Sequence

from storage.rows import CaseRow
from workflows.core.calendar import Calendars
from workflows.core.deadlines import compute_from


@dataclass(frozen=True)
class CaseView:
    """Another case, read-only (states.spec.CaseView)."""
    id: str
    kind: str
    state: str
    data: Mapping[str, Any]
    records: Mapping[str, Mapping[str, Any]]
    done: Mapping[str, date]

    @classmethod
    def of(cls, row: CaseRow) -> "CaseView":
        return cls(row.id, row.kind, row.state, row.data, row.trigger_data, row.done)


class CaseReader(Protocol):
    """Where a transition reads other cases: its own transaction, or (replay) the database
    being replayed."""

    def lookup(self, case_id: str) -> CaseView | None: ...
    def cases_of_kind(self, kind: str, state: str | None = None,
                      email: str | None = None) -> Sequence[CaseView]: ...
    def deadlines_of(self, case_id: str) -> Mapping[str, date]: ...


def latest_dues(timers: Sequence[Any]) -> dict[str, date]:
    """name -> the due date of the latest timer of that name (timers in the order started)."""
    return {t.name: date.fromisoformat(t.due) for t in timers}


@dataclass(slots=True)
class CaseFacts:
    case_id: str
    kind: str
    role: str
    actor_id: str
    state: str
    case: Mapping[str, Any]
    stored_records: Mapping[str, Mapping[str, Any]]   # as the case row keeps them
    effective_date: date
    contacts: Mapping[str, str]
    policy: Mapping[str, Any]
    reader: CaseReader
    nation: str = "england"
    event: Mapping[str, Any] = field(default_factory=dict)
    pending_timers: Mapping[str, date] = field(default_factory=dict)
    deadlines: Mapping[str, date] = field(default_factory=dict)
    statuses: Mapping[str, str] = field(default_factory=dict)   # name -> latest timer status
    derived: Mapping[str, Any] = field(default_factory=dict)    # what the engine derived
    calendars: Calendars | None = None   # the calendar in force, for derived facts (live)
    _records: Mapping[str, Mapping[str, Any]] | None = None
    _done: Mapping[str, date] | None = None

    @property
    def records(self) -> Mapping[str, Mapping[str, Any]]:
        """trigger -> the data it recorded (read from the stored records when first asked:
        most transitions read none)."""
        if self._records is None:
            self._records = {t: r["data"] for t, r in self.stored_records.items()}
        return self._records

    @property
    def done(self) -> Mapping[str, date]:
        if self._done is None:
            self._done = {t: date.fromisoformat(r["effective_date"])
                          for t, r in self.stored_records.items()}
        return self._done

    def recorded(self, stored_records: Mapping[str, Mapping[str, Any]]) -> None:
        """The case's records now include this transition's."""
        self.stored_records, self._records, self._done = stored_records, None, None

    def lookup(self, case_id: str) -> CaseView | None:
        return self.reader.lookup(case_id)

    def cases_of_kind(self, kind: str, state: str | None = None,
                      email: str | None = None) -> Sequence[CaseView]:
        return self.reader.cases_of_kind(kind, state, email)

    def deadlines_of(self, case_id: str) -> Mapping[str, date]:
        return self.reader.deadlines_of(case_id)

    def due_of(self, kind: str, timer: str, start: date) -> date:
        from states import PROCESSES
        rule = PROCESSES[kind].timer(timer)
        return compute_from(rule, start, self._calendars().of(rule.calendar, None),
                            self.policy).due

    def working_days_after(self, start: date, n: int) -> date:
        return self._calendars().national().add_working_days(start, n)

    def _calendars(self) -> Calendars:
        if self.calendars is None:
            raise RuntimeError("no calendar given: a derived fact is decided live, never in "
                               "replay (which reads it from the entry)")
        return self.calendars
