"""THE rule for how a deadline turned out, used by `show`, `explain`, the console and the CSV
export alike, so that no two of them can disagree again (they did: `show` once called every
fired duty MISSED while the console and the export said more).

A deadline is a timer as `show --json` gives it. Its outcome is one word and a sentence:

    running      pending, and its firing instant is still ahead
    overdue      pending, its firing instant passed, and it has not fired (no daemon running?)
    failed       it could not be fired, after every attempt
    superseded   a late-keyed event overtook its firing (DOMAIN.md, "Late-keyed events")
    missed       a duty's timer fired: the duty was not done in time
    passed       a timer that guards no duty fired: a window closed, a post ended
    met          the duty was done on or before its due date
    met late     the duty was done after its due date, before the timer fired
    ended        no longer owed (withdrawn, cancelled, vacated, erased), or cancelled unlogged
    recomputed   moved to a new due date by `recalendar` (the next row of that deadline)
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping, Sequence

from states import PROCESSES
from workflows.core.times import day, london, london_day

# Triggers that end a case's timers because the duty is no longer owed, not because it was done.
NO_LONGER_OWED = frozenset({"withdraw", "cancel", "vacate", "give_notice", "erase_personal_data"})

WORDS = ("running", "overdue", "failed", "superseded", "missed", "passed", "met", "met late",
         "ended", "recomputed")


@lru_cache(maxsize=1)
def duty_timers() -> tuple[str, ...]:
    """The timers that guard someone's duty: when they fire, a deadline was missed."""
    return tuple(sorted({t.name for p in PROCESSES.values() for t in p.timers if t.duty}))


def duties() -> dict[str, str]:
    """Each duty timer's duty, in words (states/)."""
    return {t.name: t.duty for p in PROCESSES.values() for t in p.timers if t.duty}


@dataclass(frozen=True)
class Outcome:
    word: str        # one of WORDS
    detail: str      # what happened, in a sentence that follows the due date
    due: str         # the due date, ISO

    @property
    def text(self) -> str:
        """The sentence a person reads where the due date is not already shown."""
        return f"due {day(self.due)}: {self.detail}"


def deadline_outcome(timer: Mapping[str, Any], entries: Mapping[int, Mapping[str, Any]],
                     now: str) -> Outcome:
    """How a deadline turned out. `entries`: the case's log entries by seq (those it has:
    a missing entry reads as "cancelled"); `now`: the business clock, UTC ISO."""
    status, due = timer["status"], timer["due"]

    def said(word: str, detail: str) -> Outcome:
        return Outcome(word, detail, due)

    ended_seq = timer.get("ended_seq")
    ended = entries.get(ended_seq) if ended_seq else None
    if status == "pending":
        if timer["fires_at"] <= now:
            return said("overdue", "passed, and the timer has not fired yet (is the daemon "
                                   "running?)")
        return said("running", "running")
    if status == "failed":
        return said("failed", f"FAILED to fire after {timer.get('attempts', 0)} attempts: "
                              f"{timer.get('last_error') or 'see the daemon log'}")
    if status == "superseded":
        return said("superseded", _superseded(ended, entries))
    if status == "fired":
        if timer["name"] in duty_timers():
            return said("missed", f"MISSED: reported to the LA on {london(timer['fires_at'])} "
                                  "London")
        if timer["name"] == "post_ends":
            return said("passed", "passed (the post was vacated after its last day)")
        if timer["name"] == "review_window":
            return said("passed", "passed (the window closed: the judgement became final)")
        return said("passed", "passed (the window closed)")
    if ended is None:
        return said("ended", "cancelled")
    when = london_day(ended["effective_at"])
    if ended["trigger"] == "deadline_recomputed":
        return said("recomputed", f"recomputed on {day(when)} (see the next row of this "
                                  "deadline)")
    if ended["trigger"] in NO_LONGER_OWED:
        return said("ended", f"no longer owed ({ended['trigger']} on {day(when)})")
    if when <= due:
        return said("met", f"met by {ended['trigger']} on {day(when)}")
    return said("met late", f"done late, by {ended['trigger']} on {day(when)}")


def _superseded(fired: Mapping[str, Any] | None, entries: Mapping[int, Mapping[str, Any]]) -> str:
    """Which late-keyed event overtook the timer's firing, when the log at hand says."""
    by = entries.get(fired.get("superseded_by")) if fired else None   # type: ignore[arg-type]
    if fired is None or by is None:
        return "superseded, a late-keyed event overtook its firing"
    late = next((e for e in entries.values() if e["seq"] > by["seq"]
                 and e["effective_at"] == by["effective_at"]
                 and e["trigger"] != "timer_superseded"), None)
    what = f"{late['trigger']} effective {london(late['effective_at'])[:14]}" if late \
        else "a late-keyed event"
    return f"superseded by entry {by['seq']}: {what}, keyed in after it fired"


def deadline_column(entry_seq: int, entry: Mapping[str, Any], timers: Sequence[Mapping[str, Any]],
                    now: str) -> str:
    """What one log entry did to the case's deadlines, for the export's column:
    `headteacher_deadline missed (due ...)`, `decision_letter met (due ...)`; empty when it
    ended none."""
    notes = []
    for t in timers:
        if t.get("ended_seq") == entry_seq and t["status"] != "pending":
            outcome = deadline_outcome(t, {entry_seq: entry}, now)
            notes.append(f"{t['name']} {outcome.word} (due {t['due']})")
    return "; ".join(notes)
