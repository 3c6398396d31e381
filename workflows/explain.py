"""`explain CASE [TIMER]`: the arithmetic behind a deadline, day by day, so that a person can
check it by hand: the date it counts from, each working day counted, each weekend, bank holiday
and LA closure day skipped by name, the due date, and the instant the timer fires."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from workflows.calendar import LONDON, WorkingCalendar, fires_at


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


def explain_timer(row) -> Explanation:
    """`row` is a stored timer (name, due, fires_at, status, rule, counted_from, nation,
    closures): everything needed is stored with it, whatever the calendar in force now."""
    start = date.fromisoformat(row["counted_from"])
    due = date.fromisoformat(row["due"])
    calendar = WorkingCalendar(row["nation"], frozenset(
        date.fromisoformat(d) for d in json.loads(row["closures"])))
    lines = [f"counts from {start:%a %Y-%m-%d}"]
    working = re.match(r"(\d+) working days", row["rule"])
    if working:
        n, counted, day = int(working.group(1)), 0, start
        while counted < n:
            day += timedelta(days=1)
            why = calendar.why_not_working(day)
            if why:
                lines.append(f"  skip   {day:%a %Y-%m-%d}  {why}")
            else:
                counted += 1
                lines.append(f"  {counted:>4}   {day:%a %Y-%m-%d}")
        recomputed = day
    else:
        days = int(re.search(r"(\d+) calendar days", row["rule"]).group(1))
        recomputed = start + timedelta(days=days)
        lines.append(f"  + {days} calendar days (no working-day adjustment) = "
                     f"{recomputed:%a %Y-%m-%d}")
    fires = fires_at(due)
    lines.append(f"due    {due:%a %Y-%m-%d} (the last day on which the duty is in time)")
    lines.append(f"fires  {fires.astimezone(LONDON):%a %Y-%m-%d %H:%M} London "
                 f"({'BST' if fires.astimezone(LONDON).utcoffset() else 'GMT'}) = "
                 f"{fires.isoformat()}")
    return Explanation(row["name"], row["status"], row["rule"], start, due, fires, lines,
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
