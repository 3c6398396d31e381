"""The transition log as `audit export` gives it to auditors, filtered by case, by the London days
it took effect on and by who acted: shared by the command line and the web console."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Iterator

from storage import queries
from storage.db import Database
from storage.rows import LogEntry
from workflows import lateness
from workflows.calendar import LONDON, WorkingCalendar
from workflows.times import TimeFormatError, parse_date, utc_iso

COLUMNS = ["case", "seq", "trigger", "source", "dest", "actor", "for", "effective_at",
           "recorded_at", "data", "engine", "erased", "hash", "keyed_late_working_days",
           "superseded_by"]


def _day_start(text: str, days: int = 0) -> str:
    return utc_iso(datetime.combine(parse_date(text) + timedelta(days=days), time(0), LONDON))


@dataclass(frozen=True)
class ExportFilter:
    """`--case`, `--since DAY`, `--until DAY` (both London days, inclusive) and `--actor
    ROLE[:ID]` (entries by, or keyed in for, that person or role). Bad days raise
    TimeFormatError when the filter is made."""
    case: str | None = None
    since: str | None = None
    until: str | None = None
    actor: str | None = None

    def __post_init__(self):
        for option, day, after in (("--since", self.since, 0), ("--until", self.until, 1)):
            try:
                start = _day_start(day, after) if day else None
            except TimeFormatError as err:
                raise TimeFormatError(f"{option}: {err}") from None
            object.__setattr__(self, "_to" if after else "_from", start)

    def admits(self, entry: LogEntry) -> bool:
        if self.case and entry.case_id != self.case:
            return False
        if self._from and entry.effective_at < self._from:   # type: ignore[attr-defined]
            return False
        if self._to and entry.effective_at >= self._to:       # type: ignore[attr-defined]
            return False
        return not self.actor or any(
            who and (who == self.actor or who.split(":")[0] == self.actor)
            for who in (entry.actor, entry.on_behalf_of))


def entries(db: Database, chosen: ExportFilter) -> Iterator[LogEntry]:
    """The log entries the filter admits, in log order, read in batches."""
    return (e for e in queries.log_in_order(db) if chosen.admits(e))


class Rows:
    """Exported entries: the keys of a `show` log entry plus `case`, with how late each was
    keyed in and, for a timer entry, which entry superseded it (workflows/lateness.py)."""

    def __init__(self, db: Database, calendar: WorkingCalendar):
        self.calendar = calendar
        self.superseding = queries.superseding(db)

    def row(self, entry: LogEntry) -> dict:
        out = {"case": entry.case_id, **queries.log_json(entry)}
        out["keyed_late_working_days"] = lateness.keyed_late(out, self.calendar)
        out["superseded_by"] = self.superseding.get((entry.case_id, entry.seq))
        return out
