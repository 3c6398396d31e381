"""What the console's pages show, computed from the rows the read queries return: pure functions,
data in and data out, so that each rule (when a deadline counts as met or missed, which log entry
ended which timer, what the export's met/missed column says) is tested without a server."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache

from states import PROCESSES
from storage import queries
from storage.rows import LogEntry, TimerRow
from workflows.calendar import LONDON
from workflows.present import day, london

# Triggers that end a case's timers because the duty is no longer owed, not because it was done.
NO_LONGER_OWED = {"withdraw", "cancel", "vacate", "give_notice", "erase_personal_data"}


@lru_cache(maxsize=1)
def duty_timers() -> tuple[str, ...]:
    """The timers that guard someone's duty: when they fire, a deadline was missed."""
    return tuple(sorted({t.name for p in PROCESSES.values() for t in p.timers if t.duty}))


def duties() -> dict[str, str]:
    return {t.name: t.duty for p in PROCESSES.values() for t in p.timers if t.duty}


@dataclass(frozen=True)
class Outcome:
    word: str        # running, overdue, met, missed, passed, superseded, failed, ended, recomputed
    text: str        # the sentence a person reads


def deadline_outcome(timer: dict, entries: dict[int, dict], now: str) -> Outcome:
    """Whether a deadline (a timer as `show` gives it) was met, missed or is still running.
    `entries`: the case's log entries by seq; `now`: the business clock, UTC ISO."""
    status, due = timer["status"], timer["due"]
    ended_seq = timer.get("ended_seq")
    ended = entries.get(ended_seq) if ended_seq else None
    if status == "pending":
        if timer["fires_at"] <= now:
            return Outcome("overdue", f"due {day(due)}: passed, and the timer has not fired yet "
                                      "(is the daemon running?)")
        return Outcome("running", f"due {day(due)}: running")
    if status == "failed":
        return Outcome("failed", f"due {day(due)}: FAILED to fire after "
                                 f"{timer.get('attempts', 0)} attempts: "
                                 f"{timer.get('last_error') or 'see the daemon log'}")
    if status == "superseded":
        return Outcome("superseded", f"due {day(due)}: superseded, a late-keyed event "
                                     "overtook its firing")
    if status == "fired":
        if timer["name"] in duty_timers():
            return Outcome("missed", f"due {day(due)}: MISSED, reported on "
                                     f"{london(timer['fires_at'])} London")
        if timer["name"] == "post_ends":
            return Outcome("passed", f"due {day(due)}: passed (the post was vacated)")
        return Outcome("passed", f"due {day(due)}: passed (the window closed)")
    if ended is None:
        return Outcome("ended", f"due {day(due)}: cancelled")
    when = _london_day(ended["effective_at"])
    if ended["trigger"] == "deadline_recomputed":
        return Outcome("recomputed", f"due {day(due)}: recomputed on {day(when)} "
                                     "(see the next row of this deadline)")
    if ended["trigger"] in NO_LONGER_OWED:
        return Outcome("ended", f"due {day(due)}: no longer owed ({ended['trigger']} on "
                                f"{day(when)})")
    if when <= due:
        return Outcome("met", f"due {day(due)}: met by {ended['trigger']} on {day(when)}")
    return Outcome("missed", f"due {day(due)}: done late, by {ended['trigger']} on {day(when)}")


def _london_day(instant: str) -> str:
    return datetime.fromisoformat(instant).astimezone(LONDON).date().isoformat()


def _pretty(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


@dataclass
class TimelineEntry:
    seq: int
    trigger: str
    source: str | None
    dest: str
    actor: str
    for_: str | None
    effective: str             # London
    keyed: str                 # London
    keyed_late: bool           # keyed in on another day than it took effect
    data: str                  # pretty JSON, or "" when empty
    warnings: list[str]
    deadlines: list[tuple[str, str]] = field(default_factory=list)   # (word, text)
    notices: list[dict] = field(default_factory=list)
    superseded_by: int | None = None   # the timer_superseded entry that overtook this one
    supersedes: int | None = None      # for a timer_superseded entry: the entry it overtook
    erased: bool = False


def timeline(detail: dict, now: str) -> list[TimelineEntry]:
    """The case's log with, on each entry, the deadlines it ended and how, and its notices."""
    entries = {e["seq"]: e for e in detail["log"]}
    ended: dict[int, list[tuple[str, str]]] = {}
    for t in detail["timers"]:
        if t.get("ended_seq") and t["status"] != "pending":
            outcome = deadline_outcome(t, entries, now)
            ended.setdefault(t["ended_seq"], []).append((outcome.word,
                                                         f"{t['name']} {outcome.text}"))
    notices: dict[int, list[dict]] = {}
    for n in detail["notices"]:
        notices.setdefault(n["seq"], []).append(n)
    superseded: dict[int, int] = {}
    for e in detail["log"]:
        if e["trigger"] == "timer_superseded" and isinstance(e["data"], dict) \
                and isinstance(e["data"].get("seq"), int):
            superseded[e["data"]["seq"]] = e["seq"]
    out = []
    for e in detail["log"]:
        engine = e.get("engine") or {}
        out.append(TimelineEntry(
            seq=e["seq"], trigger=e["trigger"], source=e["source"], dest=e["dest"],
            actor=e["actor"], for_=e["for"], effective=london(e["effective_at"]),
            keyed=london(e["recorded_at"]),
            keyed_late=_london_day(e["recorded_at"]) != _london_day(e["effective_at"]),
            data=_pretty(e["data"]) if e["data"] else "",
            warnings=[str(w) for w in engine.get("warnings", [])],
            deadlines=ended.get(e["seq"], []), notices=notices.get(e["seq"], []),
            superseded_by=superseded.get(e["seq"]),
            supersedes=superseded_key(e), erased=bool(e.get("erased"))))
    return out


def superseded_key(entry: dict) -> int | None:
    if entry["trigger"] == "timer_superseded" and isinstance(entry["data"], dict):
        seq = entry["data"].get("seq")
        return seq if isinstance(seq, int) else None
    return None


@dataclass
class Deadline:
    name: str
    duty: str | None
    due: str
    fires_at: str              # London
    rule: str
    outcome: Outcome
    steps: list[str]           # explain's arithmetic, day by day
    agrees: bool


def deadlines(detail: dict, rows: list[TimerRow], now: str) -> list[Deadline]:
    from workflows.explain import explain_timer
    entries = {e["seq"]: e for e in detail["log"]}
    out = []
    names = duties()
    for row, timer in zip(rows, detail["timers"]):   # both in the order the timers started
        explained = explain_timer(row)
        out.append(Deadline(row.name, names.get(row.name), row.due, london(row.fires_at),
                            row.rule, deadline_outcome(timer, entries, now), explained.lines,
                            explained.agrees))
    return out


# -- the state diagram's data ---------------------------------------------------------------------

def process_states(kind: str) -> list[str]:
    process = PROCESSES.get(kind)
    return [s.name for s in process.states] if process else []


def all_states() -> list[str]:
    seen: list[str] = []
    for process in PROCESSES.values():
        seen += [s.name for s in process.states if s.name not in seen]
    return seen


# -- the export ---------------------------------------------------------------------------------

def deadline_column(entry: LogEntry, timers: list[TimerRow], now: str) -> str:
    """What the entry did to the case's deadlines: `headteacher_deadline missed (due ...)`,
    `decision_letter met (due ...)`; empty when it ended none."""
    notes = []
    this = {entry.seq: queries.log_json(entry)}
    for t in timers:
        if t.ended_seq == entry.seq and t.status != "pending":
            outcome = deadline_outcome(queries.timer_json(t), this, now)
            notes.append(f"{t.name} {outcome.word} (due {t.due})")
    return "; ".join(notes)


def today_london(now: str) -> date:
    return datetime.fromisoformat(now).astimezone(LONDON).date()
