"""A timer's due date and firing instant, from its rule (states/, as data) and the calendar of
the party it guards, with the arithmetic written out so that an auditor can check it years
later. The rule is stored with each timer as data (kind, n, calendar) as well as in words."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, Mapping

from states.spec import CalendarDays, Facts, OnTheDay, Timer, WorkingDays
from workflows.core.calendar import Calendars, WorkingCalendar, fires_at


@dataclass(frozen=True)
class Deadline:
    name: str
    counted_from: date
    due: date                # the last day on which the duty is in time
    fires_at: datetime       # 00:00 Europe/London the day after `due`, as UTC
    rule: str                # "20 working days after 2027-03-10 (...), England, no LA closure days"
    rule_kind: str           # working_days, calendar_days or on_the_day
    rule_n: int
    calendar: str            # local or national: whose calendar it counted on
    counted_on: WorkingCalendar

    @property
    def closures_json(self) -> str:
        return self.counted_on.closures_json()

    @property
    def school(self) -> str | None:
        return self.counted_on.school

    @property
    def school_closures_json(self) -> str:
        return self.counted_on.school_closures_json()


def calendar_for(timer: Timer, facts: Facts, calendars: Calendars) -> WorkingCalendar:
    """The calendar `timer` counts on in this case: the party's it guards."""
    school = timer.school(facts) if timer.school is not None else None
    return calendars.of(timer.calendar, school)


def calendar_in_force(timer: Timer, school: str | None, calendars: Calendars) -> WorkingCalendar:
    """The calendar a pending timer counts on under the rules and configuration in force: its
    rule's party's (a timer stored on another party's calendar by an earlier edition, such as
    `review_decision` on the LA's before edition 3, moves to it), with the school stored with
    it for a local duty."""
    return calendars.of(timer.calendar, school if timer.calendar == "local" else None)


def compute(timer: Timer, facts: Facts, calendar: WorkingCalendar,
            policy: Mapping[str, Any]) -> Deadline:
    return compute_from(timer, timer.counted_from(facts), calendar, policy)


def compute_from(timer: Timer, start: date, calendar: WorkingCalendar,
                 policy: Mapping[str, Any]) -> Deadline:
    """The deadline `timer` sets counting from `start` on `calendar` (recalendar recomputes a
    pending one)."""
    return _deadline(timer, start, calendar, timer.rule.count(policy))


@lru_cache(maxsize=65536)
def _deadline(timer: Timer, start: date, calendar: WorkingCalendar, n: int) -> Deadline:
    # Cached: timer, calendar and the day count are immutable, so a count from the same day
    # always gives the same deadline (replay counts each one once, not once per case).
    rule = timer.rule
    if isinstance(rule, WorkingDays):
        due = calendar.add_working_days(start, n)
        source = f" (local policy {rule.policy})" if rule.policy else ""
        words = (f"{n} working days{source} after {start} ({timer.starting_point}), "
                 f"{_calendar_words(timer, calendar)}")
    elif isinstance(rule, CalendarDays):
        due = start + timedelta(days=n)
        weeks = f"{n // 7} weeks" if n % 7 == 0 else ""
        words = (f"{weeks + ' = ' if weeks else ''}{n} calendar days after {start} "
                 f"({timer.starting_point}), no working-day adjustment")
    elif isinstance(rule, OnTheDay):
        due = start
        words = f"on {start} ({timer.starting_point}) itself, no working-day adjustment"
    else:
        raise TypeError(f"timer {timer.name}: unknown rule {rule!r}")
    return Deadline(timer.name, start, due, fires_at(due), words, rule.kind, n, timer.calendar,
                    calendar)


def _calendar_words(timer: Timer, calendar: WorkingCalendar) -> str:
    if timer.calendar == "national":
        return f"{calendar.nation.capitalize()} bank holidays only (a national duty or right)"
    return calendar.describe()


def recorded_calendar(nation: str, closures: list[str], school: str | None,
                      school_closures: list[str]) -> WorkingCalendar:
    """The calendar a stored timer was computed with."""
    return _recorded(nation, tuple(closures), school, tuple(school_closures))


@lru_cache(maxsize=256)
def _recorded(nation: str, closures: tuple[str, ...], school: str | None,
              school_closures: tuple[str, ...]) -> WorkingCalendar:
    return WorkingCalendar(nation, frozenset(date.fromisoformat(d) for d in closures), school,
                           frozenset(date.fromisoformat(d) for d in school_closures))
