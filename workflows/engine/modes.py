"""How a unit of work runs: live (a person or a timer acts now) or replaying a logged entry.
The steps are the same; what differs is passed in as one of these strategies, each
difference a method, never a flag tested along the way."""
from __future__ import annotations

import secrets
from types import MappingProxyType
from datetime import date
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol, Sequence

from datetime import datetime

from states import editions
from states.spec import MoveLinked, OpenLinked, Party, Process, Transition
from storage import hashchain, queries
from storage.db import Database
from storage.protocol import CaseStore
from storage.rows import CaseRow, LogEntry, NoticeRow, TimerRow
from workflows.core.calendar import WorkingCalendar, local_date
from workflows.engine import admit
from workflows.engine.actors import Actor
from workflows.engine.admit import Overtaken
from workflows.engine.authorise import authorise, refuse_a_role_that_never_fires
from workflows.engine.decide import Decision, decide, triggers_from
from workflows.engine.facts import CaseFacts, CaseReader, CaseView, latest_dues
from workflows.engine.validate import effective_time


class Mode(Protocol):
    """What differs between deciding a trigger now and re-applying a logged one. Each
    difference is one method here, so that no step asks which mode it is in."""

    @property
    def edition(self) -> int:
        """The edition of the rules the entry is decided under (states/editions.py)."""
    @property
    def validation(self) -> Mapping[str, Any] | None:
        """The context the data's models validate in: at the door (live), the rules a person's
        data meets now; none for an entry replayed as logged."""
    @property
    def seal(self) -> Seal:
        """How the rows written are sealed: salted and hashed (live), or left unsealed
        (replay)."""

    def check_known(self, process: Process, stored: CaseRow, trigger: str) -> None:
        """Refuse a trigger the kind does not know or has retired (live; replay re-applies a
        logged one, and its machine refuses one it does not know)."""
    def refuse_a_role_that_never_fires(self, process: Process, stored: CaseRow, trigger: str,
                                       actor: Actor, on_behalf_of: Actor | None) -> None:
        """Refuse a person whose role fires `trigger` from no state (live; replay does not
        authorise again)."""
    def effective_time(self, at: datetime, now: datetime, *, person: bool,
                       opened_at: str | None, case_id: str | None, trigger: str) -> datetime:
        """When the event takes effect: a person's may not be in the future or before the
        case opened (live); a logged one takes effect when it was logged to."""
    def overtaken(self, store: CaseStore, stored: CaseRow, timers: list[TimerRow], at: str,
                  trigger: str, person: bool) -> Overtaken | None:
        """For a person's event keyed in late (live): the state the case was in then and
        the entries it passes over; replay re-applies entries in their logged order."""
    def check_allowed(self, store: CaseStore, process: Process, stored: CaseRow,
                      trigger: str, then: str, at: str, late: bool) -> None:
        """Refuse a trigger the state `then` does not allow (replay: by its own machine,
        which keeps retired rows)."""
    def sign(self, row: Transition, data: Mapping[str, Any], acting: Actor,
             role: str) -> Mapping[str, Any]:
        """The opening data with the opener's id recorded (live); as logged in replay."""
    def authorise(self, row: Transition, actor: Actor, on_behalf_of: Actor | None,
                  facts: CaseFacts, parties: tuple[Party, ...] = ()) -> str:
        """The role checked (live); replay does not authorise again: the entry was authorised
        under the rules it was recorded with (states/editions.py)."""
    def decide(self, kind: str, state: str, trigger: str, facts: CaseFacts,
               judged: bool = False) -> Decision:
        """Run the machine: with its guards (live; a late-keyed event `judged` already had
        them as of its effective time); replay without them, following the logged entry
        where routes would choose."""
    def linked(self, row: Transition) -> Sequence[OpenLinked | MoveLinked]:
        """The effects on linked cases to apply (live); replay leaves them to those cases'
        own logs."""
    def warnings(self, row: Transition, facts: CaseFacts) -> list[str]: ...
    def derived(self, row: Transition, facts: CaseFacts) -> dict[str, Any]:
        """The facts the engine derives and records with the entry (decided live, read back
        from the entry in replay)."""
    def opened_id(self, kind: str, prefix: str) -> str: ...
    def template_version(self, notice_id: str) -> str | None: ...
    def read_on(self, now: datetime | None) -> date | None:
        """The day a notice is read by the business clock (live: the clock's day; replay: the
        day recorded with the entry, when one was)."""
    def reader(self, store: CaseStore) -> CaseReader: ...
    def recorded_calendar(self, timer: str) -> WorkingCalendar | None:
        """The calendar a timer this entry started was computed with, when it is to be used
        again (replay); None: the calendar in force."""


class Seal(Protocol):
    """The salts and hashes of the rows a transition writes (storage/hashchain.py)."""
    def salt(self) -> str: ...
    def data(self, salt: str, text: str) -> str | None: ...
    def notices(self, stored: Sequence[NoticeRow]) -> str | None: ...
    def entry(self, entry: LogEntry) -> str: ...
    def notice_content(self, salt: str, to: Sequence[str], subject: str,
                       body: str) -> str | None: ...
    def notice(self, notice_id: str, case_id: str, seq: int, template: str,
               version: str | None, content: str | None) -> str | None: ...


class Sealed:
    """Live: every row salted and hashed, the entry chained."""
    def salt(self) -> str:
        return secrets.token_hex(16)

    def data(self, salt: str, text: str) -> str | None:
        return hashchain.data_sha256(salt, text)

    def notices(self, stored: Sequence[NoticeRow]) -> str | None:
        return hashchain.notices_sha256([n.hash or "" for n in stored])

    def entry(self, entry: LogEntry) -> str:
        return hashchain.entry_hash(entry)

    def notice_content(self, salt: str, to: Sequence[str], subject: str,
                       body: str) -> str | None:
        return hashchain.notice_content_sha256(salt, to, subject, body)

    def notice(self, notice_id: str, case_id: str, seq: int, template: str,
               version: str | None, content: str | None) -> str | None:
        return hashchain.notice_hash(notice_id, case_id, seq, template, version, content)


class Unsealed:
    """Replay: a case rebuilt on its own is outside the global chain its hashes link into, so
    they are left empty (`audit verify` checks the stored ones; replay compares content)."""
    def salt(self) -> str:
        return ""

    def data(self, salt: str, text: str) -> str | None:
        return None

    def notices(self, stored: Sequence[NoticeRow]) -> str | None:
        return None

    def entry(self, entry: LogEntry) -> str:
        return ""

    def notice_content(self, salt: str, to: Sequence[str], subject: str,
                       body: str) -> str | None:
        return None

    def notice(self, notice_id: str, case_id: str, seq: int, template: str,
               version: str | None, content: str | None) -> str | None:
        return None


SEALED, UNSEALED = Sealed(), Unsealed()
AT_THE_DOOR: Mapping[str, Any] = MappingProxyType({"at_the_door": True})


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
    """A person or a timer acts now: every rule is decided, every effect applied, sealed."""
    new_id: Callable[[str], str] = new_case_id
    edition: int = editions.CURRENT
    seal: Seal = SEALED
    validation: Mapping[str, Any] | None = field(default_factory=lambda: AT_THE_DOOR)

    def check_known(self, process: Process, stored: CaseRow, trigger: str) -> None:
        if not admit.known(process, trigger):
            admit.refuse_trigger(process, stored, trigger)

    def refuse_a_role_that_never_fires(self, process: Process, stored: CaseRow, trigger: str,
                                       actor: Actor, on_behalf_of: Actor | None) -> None:
        refuse_a_role_that_never_fires(process, trigger, actor, on_behalf_of, stored.id,
                                       stored.state)

    def effective_time(self, at: datetime, now: datetime, *, person: bool,
                       opened_at: str | None, case_id: str | None, trigger: str) -> datetime:
        return effective_time(at, now, by_a_person=person, opened_at=opened_at,
                              case_id=case_id, trigger=trigger)

    def overtaken(self, store: CaseStore, stored: CaseRow, timers: list[TimerRow], at: str,
                  trigger: str, person: bool) -> Overtaken | None:
        if not person or at >= stored.last_effective_at:
            return None
        found = admit.passed_over(store, stored, timers, at)
        if found:
            admit.refuse_passing_a_person(stored, trigger, at, found[1])
        return found

    def check_allowed(self, store: CaseStore, process: Process, stored: CaseRow,
                      trigger: str, then: str, at: str, late: bool) -> None:
        if trigger not in triggers_from(process.kind, then):
            admit.refuse_trigger(process, stored, trigger, then if late else None, at,
                                 "" if late else admit.closed_by_a_timer(store, stored))

    def sign(self, row: Transition, data: Mapping[str, Any], acting: Actor,
             role: str) -> Mapping[str, Any]:
        if row.signed_by is not None and role == row.signed_by[0]:
            return admit.signed(row.signed_by[1], data, acting)
        return data

    def authorise(self, row: Transition, actor: Actor, on_behalf_of: Actor | None,
                  facts: CaseFacts, parties: tuple[Party, ...] = ()) -> str:
        return authorise(row, actor, on_behalf_of, facts, parties)

    def decide(self, kind: str, state: str, trigger: str, facts: CaseFacts,
               judged: bool = False) -> Decision:
        return decide(kind, state, trigger, facts, guards=not judged)

    def linked(self, row: Transition) -> Sequence[OpenLinked | MoveLinked]:
        return row.links

    def warnings(self, row: Transition, facts: CaseFacts) -> list[str]:
        return [w for w in (check(facts) for check in row.warnings) if w]

    def derived(self, row: Transition, facts: CaseFacts) -> dict[str, Any]:
        return row.derive(facts) if row.derive else {}

    def opened_id(self, kind: str, prefix: str) -> str:
        return self.new_id(prefix)

    def template_version(self, notice_id: str) -> str | None:
        return None   # the current version of each template

    def read_on(self, now: datetime | None) -> date | None:
        return local_date(now) if now is not None else None

    def reader(self, store: CaseStore) -> CaseReader:
        return StoreReader(store)

    def recorded_calendar(self, timer: str) -> WorkingCalendar | None:
        return None


@dataclass(slots=True)
class Replay:
    """Re-applying one logged entry: with what the engine recorded of it then (`recorded`:
    warnings, the cases it opened), the template versions its notices were rendered with,
    the calendars its timers were computed with, where it led (`logged_dest`), and other
    cases read from the database being replayed. (Made for every entry replayed: a plain,
    not a frozen, dataclass, which costs a call per field to build.)"""
    source: DatabaseReader
    recorded: Mapping[str, Any]
    template_versions: Mapping[str, str | None]
    calendars: Mapping[str, WorkingCalendar]   # timer -> as stored with it
    edition: int = editions.CURRENT
    logged_dest: str | None = None
    seal: Seal = UNSEALED
    validation: Mapping[str, Any] | None = None

    def check_known(self, process: Process, stored: CaseRow, trigger: str) -> None:
        return None

    def refuse_a_role_that_never_fires(self, process: Process, stored: CaseRow, trigger: str,
                                       actor: Actor, on_behalf_of: Actor | None) -> None:
        return None

    def effective_time(self, at: datetime, now: datetime, *, person: bool,
                       opened_at: str | None, case_id: str | None, trigger: str) -> datetime:
        return effective_time(at, now, by_a_person=False, opened_at=opened_at,
                              case_id=case_id, trigger=trigger)

    def overtaken(self, store: CaseStore, stored: CaseRow, timers: list[TimerRow], at: str,
                  trigger: str, person: bool) -> Overtaken | None:
        return None

    def check_allowed(self, store: CaseStore, process: Process, stored: CaseRow,
                      trigger: str, then: str, at: str, late: bool) -> None:
        if trigger not in triggers_from(process.kind, then, True):
            admit.refuse_trigger(process, stored, trigger)

    def sign(self, row: Transition, data: Mapping[str, Any], acting: Actor,
             role: str) -> Mapping[str, Any]:
        return data

    def authorise(self, row: Transition, actor: Actor, on_behalf_of: Actor | None,
                  facts: CaseFacts, parties: tuple[Party, ...] = ()) -> str:
        return (on_behalf_of if on_behalf_of is not None else actor).role

    def decide(self, kind: str, state: str, trigger: str, facts: CaseFacts,
               judged: bool = False) -> Decision:
        return decide(kind, state, trigger, facts, guards=False, dest=self.logged_dest)

    def linked(self, row: Transition) -> Sequence[OpenLinked | MoveLinked]:
        return ()

    def warnings(self, row: Transition, facts: CaseFacts) -> list[str]:
        return list(self.recorded.get("warnings", ()))

    def derived(self, row: Transition, facts: CaseFacts) -> dict[str, Any]:
        return dict(self.recorded.get("derived", {}))

    def opened_id(self, kind: str, prefix: str) -> str:
        return str(self.recorded.get("opened", {}).get(kind, ""))

    def template_version(self, notice_id: str) -> str | None:
        return self.template_versions.get(notice_id)

    def read_on(self, now: datetime | None) -> date | None:
        recorded = self.recorded.get("read_on")
        return date.fromisoformat(recorded) if recorded else None

    def reader(self, store: CaseStore) -> CaseReader:
        return self.source

    def recorded_calendar(self, timer: str) -> WorkingCalendar | None:
        return self.calendars.get(timer)
