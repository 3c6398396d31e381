"""How a unit of work runs: live (a person or a timer acts now) or replaying a logged entry.
The steps are the same; what differs is passed in as one of these strategies, never as a flag
tested along the way."""
from __future__ import annotations

import secrets
from datetime import date
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Protocol, Sequence

from states import editions
from states.spec import Transition
from storage import queries
from storage.db import Database
from storage.protocol import CaseStore
from workflows.core.calendar import WorkingCalendar
from workflows.engine.facts import CaseFacts, CaseReader, CaseView, latest_dues


class Mode(Protocol):
    @property
    def decides_guards(self) -> bool:
        """Guards and warnings are decided now (live), or were when the entry was recorded."""
    @property
    def follows_links(self) -> bool:
        """Effects on linked cases are applied (live), or left to those cases' own logs."""
    @property
    def seals(self) -> bool:
        """Salts and hashes are made (live); replay compares content and leaves them empty,
        since a case replayed on its own is outside the global chain its hashes link into."""

    @property
    def edition(self) -> int:
        """The edition of the rules the entry is decided under (states/editions.py)."""
    @property
    def logged_dest(self) -> str | None:
        """Where the logged entry led (replay follows it where routes would choose); None live."""

    def warnings(self, row: Transition, facts: CaseFacts) -> list[str]: ...
    def derived(self, row: Transition, facts: CaseFacts) -> dict[str, Any]:
        """The facts the engine derives and records with the entry (decided live, read back
        from the entry in replay)."""
    def opened_id(self, kind: str, prefix: str) -> str: ...
    def template_version(self, notice_id: str) -> str | None: ...
    def reader(self, store: CaseStore) -> CaseReader: ...
    def salt(self) -> str: ...
    def recorded_calendar(self, timer: str) -> WorkingCalendar | None:
        """The calendar a timer this entry started was computed with, when it is to be used
        again (replay); None: the calendar in force."""


@dataclass(frozen=True)
class StoreReader:
    """Other cases as this transaction sees them."""
    store: CaseStore

    def lookup(self, case_id: str) -> CaseView | None:
        row = self.store.case(case_id)
        return CaseView.of(row) if row else None

    def cases_of_kind(self, kind: str, state: str | None = None,
                      email: str | None = None) -> Sequence[CaseView]:
        return [CaseView.of(r) for r in self.store.cases_of_kind(kind, state, email)]

    def deadlines_of(self, case_id: str) -> Mapping[str, date]:
        return latest_dues(self.store.timers_of(case_id))


@dataclass(frozen=True)
class DatabaseReader:
    """Other cases as the database being replayed holds them."""
    db: Database

    def lookup(self, case_id: str) -> CaseView | None:
        row = queries.case_row(self.db, case_id)
        return CaseView.of(row) if row else None

    def cases_of_kind(self, kind: str, state: str | None = None,
                      email: str | None = None) -> Sequence[CaseView]:
        return [CaseView.of(r) for r in queries.case_rows_of_kind(self.db, kind, state, email)]

    def deadlines_of(self, case_id: str) -> Mapping[str, date]:
        return latest_dues(queries.case_timers(self.db, case_id))


def new_case_id(prefix: str) -> str:
    # 50 random bits in base 32: short enough to key in from a paper form, and a collision
    # stays unlikely at a national scale of cases.
    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    return f"{prefix}-" + "".join(secrets.choice(alphabet) for _ in range(10))


@dataclass(frozen=True)
class Live:
    new_id: Callable[[str], str] = new_case_id
    decides_guards: bool = True
    follows_links: bool = True
    seals: bool = True
    edition: int = editions.CURRENT
    logged_dest: str | None = None

    def warnings(self, row: Transition, facts: CaseFacts) -> list[str]:
        return [w for w in (check(facts) for check in row.warnings) if w]

    def derived(self, row: Transition, facts: CaseFacts) -> dict[str, Any]:
        return row.derive(facts) if row.derive else {}

    def opened_id(self, kind: str, prefix: str) -> str:
        return self.new_id(prefix)

    def template_version(self, notice_id: str) -> str | None:
        return None   # the current version of each template

    def reader(self, store: CaseStore) -> CaseReader:
        return StoreReader(store)

    def salt(self) -> str:
        return secrets.token_hex(16)

    def recorded_calendar(self, timer: str) -> WorkingCalendar | None:
        return None


@dataclass(slots=True)
class Replay:
    """Re-applying one logged entry: with what the engine recorded of it then (`recorded`:
    warnings, the cases it opened), the template versions its notices were rendered with, and
    other cases read from the database being replayed. (Made for every entry replayed: a
    plain, not a frozen, dataclass, which costs a call per field to build.)"""
    source: DatabaseReader
    recorded: Mapping[str, Any]
    template_versions: Mapping[str, str | None]
    calendars: Mapping[str, WorkingCalendar]   # timer -> as stored with it
    edition: int = editions.CURRENT
    logged_dest: str | None = None
    decides_guards: bool = False
    follows_links: bool = False
    seals: bool = False

    def warnings(self, row: Transition, facts: CaseFacts) -> list[str]:
        return list(self.recorded.get("warnings", ()))

    def derived(self, row: Transition, facts: CaseFacts) -> dict[str, Any]:
        return dict(self.recorded.get("derived", {}))

    def opened_id(self, kind: str, prefix: str) -> str:
        return str(self.recorded.get("opened", {}).get(kind, ""))

    def template_version(self, notice_id: str) -> str | None:
        return self.template_versions.get(notice_id)

    def reader(self, store: CaseStore) -> CaseReader:
        return self.source

    def salt(self) -> str:
        return ""

    def recorded_calendar(self, timer: str) -> WorkingCalendar | None:
        return self.calendars.get(timer)
