"""Working-day calendar for statutory deadlines (DOMAIN.md, "Calendar rules").

Deadlines are local calendar dates in Europe/London; only the moment a timer
fires is an instant, and instants are always handed out in UTC.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache

import holidays

from workflows.core.times import LONDON as LONDON  # re-exported: the zone of every due date

# Our nation names -> the `holidays` package's GB subdivision codes.
NATIONS = {"england": "ENG", "wales": "WLS"}

_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@lru_cache(maxsize=None)
def _bank_holidays(nation: str) -> holidays.HolidayBase:
    # One object per nation, shared by every calendar: building it is the
    # expensive part, and it fills in further years by itself the first time a
    # date in that year is looked up, so no year range needs choosing here.
    return holidays.country_holidays("GB", subdiv=NATIONS[nation])


@dataclass(frozen=True)
class WorkingCalendar:
    """The working days one deadline counts: Monday to Friday but the nation's bank holidays,
    and for a local duty the LA's closure days (`closures`) and those of the school concerned
    (`school_closures`)."""
    nation: str = "england"
    closures: frozenset[date] = frozenset()
    school: str | None = None
    school_closures: frozenset[date] = frozenset()
    closures_text: str = field(init=False, repr=False, compare=False)          # as stored
    school_closures_text: str = field(init=False, repr=False, compare=False)   # with timers

    def __post_init__(self) -> None:
        if self.nation not in NATIONS:
            raise ValueError(
                f"unknown nation {self.nation!r}; expected one of {', '.join(sorted(NATIONS))}"
            )
        # Configuration hands us lists; a frozenset keeps the calendar hashable
        # and comparable, so it can be recorded alongside each computed deadline.
        object.__setattr__(self, "closures", frozenset(self.closures))
        object.__setattr__(self, "school_closures", frozenset(self.school_closures))
        # Written with every timer started: written out once.
        object.__setattr__(self, "closures_text", _closures_json(self.closures))
        object.__setattr__(self, "school_closures_text", _closures_json(self.school_closures))

    def bank_holiday(self, d: date) -> str | None:
        # Weekend holidays are reported too (e.g. "Boxing Day" on a Saturday);
        # the substitute weekday carries its own "(observed)" entry.
        return _bank_holidays(self.nation).get(d)

    def why_not_working(self, d: date) -> str | None:
        # Weekend first: a bank holiday falling on a Saturday is moved to a
        # weekday by its "(observed)" substitute, so the Saturday itself is
        # simply a Saturday. A closure on a bank holiday is still a bank holiday.
        if d.weekday() >= 5:
            return _WEEKDAY_NAMES[d.weekday()]
        name = self.bank_holiday(d)
        if name is not None:
            return f"bank holiday: {name}"
        if d in self.closures:
            return "LA closure day"
        if d in self.school_closures:
            return f"closure day of {self.school}"
        return None

    def is_working_day(self, d: date) -> bool:
        return self.why_not_working(d) is None

    def add_working_days(self, start: date, n: int) -> date:
        # "N working days after D" counts from the day after D, whatever D is.
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        return _add_working_days(self, start, n)

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days fall after `start`, up to and including `end` (0 when `end`
        is not after `start`): how late a form dated `start` was keyed in on `end`."""
        n, d = 0, start + timedelta(days=1)
        while d <= end:
            n += self.why_not_working(d) is None
            d += timedelta(days=1)
        return n

    def skipped_between(self, start: date, end: date) -> list[tuple[date, str]]:
        # Same half-open interval as add_working_days, so explaining a deadline
        # with skipped_between(start, add_working_days(start, n)) lines up.
        skipped = []
        d = start + timedelta(days=1)
        while d <= end:
            reason = self.why_not_working(d)
            if reason is not None:
                skipped.append((d, reason))
            d += timedelta(days=1)
        return skipped

    def closures_json(self) -> str:
        """The closure days as stored with each timer (a JSON list of ISO dates, sorted)."""
        return self.closures_text

    def school_closures_json(self) -> str:
        return self.school_closures_text

    def describe(self) -> str:
        if not self.closures:
            text = f"{self.nation.capitalize()}, no LA closure days"
        else:
            days = ", ".join(d.isoformat() for d in sorted(self.closures))
            text = f"{self.nation.capitalize()}, LA closure days {days}"
        if self.school_closures:
            days = ", ".join(d.isoformat() for d in sorted(self.school_closures))
            text += f", closure days of {self.school} {days}"
        return text


@dataclass(frozen=True)
class Calendars:
    """The calendars of the parties (DOMAIN.md, "Calendar rules"): a national duty or right
    counts bank holidays only; a local one (the school's or the LA's) also skips the LA's
    closure days and those of the school concerned."""
    nation: str = "england"
    closures: frozenset[date] = frozenset()
    schools: tuple[tuple[str, frozenset[date]], ...] = ()   # school -> its closure days

    def national(self) -> WorkingCalendar:
        return WorkingCalendar(self.nation)

    def local(self, school: str | None = None) -> WorkingCalendar:
        own = dict(self.schools).get(school or "", frozenset())
        return WorkingCalendar(self.nation, self.closures, school if own else None, own)

    def of(self, party: str, school: str | None = None) -> WorkingCalendar:
        return self.national() if party == "national" else self.local(school)

    def describe(self) -> str:
        return self.local().describe()


@lru_cache(maxsize=256)
def _closures_json(closures: frozenset[date]) -> str:
    return json.dumps(sorted(d.isoformat() for d in closures))


@lru_cache(maxsize=65536)
def _add_working_days(calendar: WorkingCalendar, start: date, n: int) -> date:
    # A calendar is immutable, so the same count from the same day always lands on the same
    # date: replaying thousands of cases counts each deadline once.
    d = start
    while n:
        d += timedelta(days=1)
        if calendar.is_working_day(d):
            n -= 1
    return d


def six_weeks_after(d: date) -> date:
    return d + timedelta(days=42)


@lru_cache(maxsize=4096)
def fires_at(due: date) -> datetime:
    # Build the local midnight first and convert afterwards: a fixed UTC offset
    # would be an hour out for half the year. UK clocks change at 01:00 UTC,
    # never at local midnight, so this wall-clock time always exists once.
    midnight = datetime.combine(due + timedelta(days=1), time(0), tzinfo=LONDON)
    return midnight.astimezone(timezone.utc)


@lru_cache(maxsize=4096)
def local_date(instant: datetime) -> date:
    # A naive value could be UTC or London; guessing would shift dates by a day
    # around midnight for half the year, so refuse it.
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"local_date needs an aware datetime, got naive {instant.isoformat()}")
    return instant.astimezone(LONDON).date()
