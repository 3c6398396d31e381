"""What the console's pages show, computed from the rows the read queries return: pure functions,
data in and data out, tested without a server. How a deadline turned out is not decided here
but by the one rule every adapter uses (workflows/read/deadline_outcome.py)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime

from states import PROCESSES
from storage.rows import TimerRow
from workflows.core.calendar import LONDON
from workflows.core.times import london, london_day
from workflows.read.deadline_outcome import Outcome, deadline_outcome, duties, duty_timers

__all__ = ["Outcome", "deadline_outcome", "duties", "duty_timers", "timeline", "deadlines"]

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
            keyed_late=london_day(e["recorded_at"]) != london_day(e["effective_at"]),
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
    from workflows.read.explain import explain_timer
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


def today_london(now: str) -> date:
    return datetime.fromisoformat(now).astimezone(LONDON).date()
