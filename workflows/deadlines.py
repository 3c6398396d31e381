"""A timer's due date and firing instant, from its rule (states/) and the calendar in force,
with the arithmetic written out so that an auditor can check it years later."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, Mapping

from states.spec import CalendarDays, Facts, Timer, WorkingDays
from workflows.calendar import WorkingCalendar, fires_at


@dataclass(frozen=True)
class Deadline:
    name: str
    counted_from: date
    due: date                # the last day on which the duty is in time
    fires_at: datetime       # 00:00 Europe/London the day after `due`, as UTC
    rule: str                # e.g. "20 working days after 2027-03-10 (...), England, no LA closure days"


def compute(timer: Timer, facts: Facts, calendar: WorkingCalendar,
            policy: Mapping[str, Any]) -> Deadline:
    return compute_from(timer, timer.counted_from(facts), calendar, policy)


def compute_from(timer: Timer, start: date, calendar: WorkingCalendar,
                 policy: Mapping[str, Any]) -> Deadline:
    """The deadline `timer` sets counting from `start` (recalendar recomputes a pending one)."""
    days = timer.rule.count(policy) if isinstance(timer.rule, WorkingDays) else None
    return _deadline(timer, start, calendar, days)


@lru_cache(maxsize=65536)
def _deadline(timer: Timer, start: date, calendar: WorkingCalendar, n: int | None) -> Deadline:
    # Cached: timer, calendar and the day count are immutable, so a count from the same day
    # always gives the same deadline (replay counts each one once, not once per case).
    if isinstance(timer.rule, WorkingDays):
        due = calendar.add_working_days(start, n)
        source = f" (local policy {timer.rule.policy})" if timer.rule.policy else ""
        rule = (f"{n} working days{source} after {start} ({timer.starting_point}), "
                f"{calendar.describe()}")
    elif isinstance(timer.rule, CalendarDays):
        due = start + timedelta(days=timer.rule.days)
        weeks = f"{timer.rule.days // 7} weeks" if timer.rule.days % 7 == 0 else ""
        rule = (f"{weeks + ' = ' if weeks else ''}{timer.rule.days} calendar days after {start} "
                f"({timer.starting_point}), no working-day adjustment")
    else:
        raise TypeError(f"timer {timer.name}: unknown rule {timer.rule!r}")
    return Deadline(timer.name, start, due, fires_at(due), rule)
