"""`explain CASE [TIMER]`: the arithmetic behind a deadline, day by day, so that a person can
check it by hand: the date it counts from, each working day counted, each weekend, bank holiday
and LA closure day skipped by name, the due date, and the instant the timer fires."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from storage.rows import TimerRow
from workflows.core.calendar import LONDON, fires_at
from workflows.core.deadlines import recorded_calendar


@dataclass(frozen=True)
class Explanation:
    timer: str
    status: str
    rule: str
    counted_from: date
    due: date
    fires_at: datetime
    lines: list[str]
    agrees: bool            # recomputing from the stored inputs gives the stored due date


def explain_timer(row: TimerRow) -> Explanation:
    """`row` is a stored timer: its rule as data (kind, n), and the calendar it counted on
    (nation, LA and school closure days) are stored with it, whatever the calendar in force
    now."""
    start = date.fromisoformat(row.counted_from)
    due = date.fromisoformat(row.due)
    calendar = recorded_calendar(row.nation, json.loads(row.closures), row.school,
                                 json.loads(row.school_closures))
    lines = [f"counts from {start:%a %Y-%m-%d}"
             + (" (a national duty or right: bank holidays only)"
                if row.calendar == "national" and row.rule_kind != "on_the_day" else "")]
    if row.rule_kind == "working_days":
        n, counted, day = row.rule_n, 0, start
        while counted < n:
            day += timedelta(days=1)
            why = calendar.why_not_working(day)
            if why:
                lines.append(f"  skip   {day:%a %Y-%m-%d}  {why}")
            else:
                counted += 1
                lines.append(f"  {counted:>4}   {day:%a %Y-%m-%d}")
        recomputed = day
    elif row.rule_kind == "on_the_day":
        recomputed = start
        lines.append(f"  due on that day itself = {recomputed:%a %Y-%m-%d}")
    else:
        days = row.rule_n
        recomputed = start + timedelta(days=days)
        lines.append(f"  + {days} calendar days (no working-day adjustment) = "
                     f"{recomputed:%a %Y-%m-%d}")
    fires = fires_at(due)
    lines.append(f"due    {due:%a %Y-%m-%d} " + (
        "(the last day of the period: it ends the next day)" if row.rule_kind == "on_the_day"
        else "(the last day on which the duty is in time)"))
    lines.append(f"fires  {fires.astimezone(LONDON):%a %Y-%m-%d %H:%M} London "
                 f"({'BST' if fires.astimezone(LONDON).utcoffset() else 'GMT'}) = "
                 f"{fires.isoformat()}")
    return Explanation(row.name, row.status, row.rule, start, due, fires, lines,
                       recomputed == due)


def render(case_id: str, explanations: list[Explanation]) -> str:
    out = []
    for e in explanations:
        out.append(f"{e.timer} on {case_id} ({e.status}): {e.rule}")
        out.extend("  " + line for line in e.lines)
        if not e.agrees:
            out.append("  NOTE: the stored due date differs from this arithmetic "
                       "(recomputed after a calendar change: see the log)")
        out.append("")
    return "\n".join(out).rstrip()
