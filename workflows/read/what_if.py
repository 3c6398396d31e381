"""`replay CASE --config OTHER.toml`, the what-if: a case replayed under another configuration
(another nation, an extra closure day) in memory, and each of its deadlines as stored set beside
the one the other configuration gives it, each with the calendar it counted on. Writes nothing.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from storage import queries
from storage.db import Database
from workflows.core.calendar import WorkingCalendar
from workflows.core.config import Config
from workflows.core.deadlines import recorded_calendar
from workflows.engine.replay import Replayer


@dataclass(frozen=True)
class WhatIf:
    state: str | None              # where the case ends, replayed under the other configuration
    timers: list[dict[str, Any]]   # one per deadline: stored and what-if due date and calendar
    problems: list[str]            # where the replay parts from what is stored


def compare(db: Database, case_id: str, other: Config) -> WhatIf:
    """The latest timer of each name, stored and rebuilt (a recomputed deadline has two rows),
    each with the calendar it counted on: as stored with it, and as `other` gives it."""
    replayer = Replayer(db, other, recorded_calendars=False)
    result = replayer.replay(case_id, verify=False)
    _, _, rebuilt, _ = replayer.rebuilt(case_id)
    stored = {t.name: t for t in queries.case_timers(db, case_id)}
    again = {t.name: t.due for t in rebuilt}
    rows: list[dict[str, Any]] = [
        {"timer": name, "calendar": t.calendar, "stored_due": t.due,
         "stored_calendar": described(t.calendar, recorded_calendar(
             t.nation, json.loads(t.closures), t.school, json.loads(t.school_closures))),
         "what_if_due": again.get(name),
         "what_if_calendar": described(t.calendar, other.calendars().of(t.calendar, t.school)),
         "changes": again.get(name) != t.due} for name, t in stored.items()]
    return WhatIf(result.state, rows, list(result.differences))


def described(party: str, calendar: WorkingCalendar) -> str:
    """A calendar in words, as the party whose duty or right it guards counts it."""
    if party == "national":
        return f"{calendar.nation.capitalize()} bank holidays only (a national duty or right)"
    return f"local: {calendar.describe()}"
