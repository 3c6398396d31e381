"""How late an entry was keyed in, and which timer entries a late-keyed event superseded
(DOMAIN.md, "Late-keyed events"): what `show`, the audit export and the console add to each log
entry for an auditor."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Iterable, Union

from workflows.core.times import LONDON

if TYPE_CHECKING:
    from workflows.core.calendar import WorkingCalendar

# The nation's calendar, or a function that makes it: it is made only when an entry was keyed
# in on a later day than it took effect (loading the bank holidays takes a while).
Calendar = Union["WorkingCalendar", Callable[[], "WorkingCalendar"]]


def keyed_late(entry: dict[str, Any], calendar: Calendar) -> int:
    """Working days (bank holidays of the nation only: no party's closure days) from the day an
    entry took effect to the day it was keyed in; 0 when it was keyed in the same day, and for
    the engine's own entries (a timer is recorded when the daemon notices it)."""
    if entry["actor"] == "system":
        return 0
    effective = datetime.fromisoformat(entry["effective_at"]).astimezone(LONDON).date()
    recorded = datetime.fromisoformat(entry["recorded_at"]).astimezone(LONDON).date()
    if recorded <= effective:
        return 0
    counting = calendar() if callable(calendar) else calendar
    return counting.working_days_between(effective, recorded)


def superseded_seqs(log: Iterable[dict[str, Any]]) -> dict[int, int]:
    """The seq of each timer entry a `timer_superseded` entry overtook -> that entry's seq."""
    return {e["data"]["superseded_seq"]: e["seq"] for e in log
            if e["trigger"] == "timer_superseded" and isinstance(e["data"], dict)
            and isinstance(e["data"].get("superseded_seq"), int)}


def annotate(log: list[dict[str, Any]], calendar: Calendar,
             by: dict[int, int] | None = None) -> list[dict[str, Any]]:
    """Each entry with `keyed_late_working_days` and `superseded_by` (for a timer entry that a
    late-keyed event overtook, the seq of the `timer_superseded` entry; else None). `by`: superseded_seqs of the whole log,
    when `log` is only part of it."""
    by = superseded_seqs(log) if by is None else by
    for e in log:
        e["keyed_late_working_days"] = keyed_late(e, calendar)
        e["superseded_by"] = by.get(e["seq"]) if e["trigger"].startswith("timer:") else None
    return log
