"""What waits on someone: the triggers open to an account on each case it may see, with the
duty's due date and the working days left, overdue first (shared/CLI.md, "`/tasks`"). One rule
for the console's task list, its case page's buttons and the API's `/api/v1/tasks`.

A trigger is open to an account when the case's state allows it (the triggers `show` lists as
next, states/next_steps.py), the account's role may fire it (an operator keys in any role's,
an auditor none), and the case does not bind another party of that role (states/parties.py).
Its due date is that of the pending timer that guards it: one the trigger ends by name (a
judgement ends the agency's `assessment_window`, a review request the `review_window`), or one
whose duty the acting role owes (the headteacher's `headteacher_deadline`). Each is counted on
the calendar the timer was computed with: the party's own (DOMAIN.md, "Calendar rules")."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any, Callable, Mapping, Sequence

from states.next_steps import NEXT
from states.parties import BOUND, party_of
from storage import console as search_store
from storage.db import Database
from storage.rows import TimerRow
from workflows.core.deadlines import recorded_calendar
from storage import jsontext
from workflows.engine.apply import Setting
from workflows.engine.open_now import refusal_now

# Roles that act on no case: an auditor reads; the engine's own timers are not a person's task.
READS_ONLY = frozenset({"auditor", "system"})


@dataclass(frozen=True)
class Viewer:
    """An account or a token: its role and name, so its party is `ROLE:NAME`."""
    role: str
    name: str

    @property
    def party(self) -> str:
        return party_of(self.role, self.name)

    @property
    def actor(self) -> str:
        """As the log records it."""
        return f"{self.role}:{self.name}"


def _next(kind: str, state: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = NEXT.get(kind, {}).get(state, [])
    return found


def roles_open(kind: str, state: str, trigger: str) -> tuple[str, ...]:
    """The roles that may fire `trigger` in `state` (as `show` lists them)."""
    for step in _next(kind, state):
        if step["trigger"] == trigger:
            return tuple(r for r in step["roles"] if r not in READS_ONLY)
    return ()


def _acts_as(viewer: Viewer, roles: Sequence[str], role_filter: str | None) -> list[str]:
    """The roles among `roles` the viewer may act in: its own, or for an operator any (or the
    one filtered for)."""
    if viewer.role in READS_ONLY:
        return []
    if viewer.role == "operator":
        return [r for r in roles if role_filter in (None, r)]
    return [viewer.role] if viewer.role in roles and role_filter in (None, viewer.role) else []


def open_triggers(viewer: Viewer, kind: str, state: str, parties: set[str],
                  role_filter: str | None = None) -> list[tuple[str, list[str]]]:
    """(trigger, the roles the viewer may fire it in) for each trigger open to it now."""
    found = []
    bound_here = {p.split(":", 1)[0] for p in parties}
    for step in _next(kind, state):
        roles = _acts_as(viewer, [r for r in step["roles"] if r not in READS_ONLY], role_filter)
        if viewer.role in BOUND and viewer.role in bound_here and viewer.party not in parties:
            roles = []   # the case binds another party of this role
        if roles:
            found.append((step["trigger"], roles))
    return found


@cache
def _guards(kind: str, state: str, trigger: str, roles: tuple[str, ...]) -> frozenset[str]:
    """The timers that guard `trigger` from `state` for those roles (see the module's text)."""
    from states import PROCESSES
    process = PROCESSES[kind]
    names: set[str] = {t.name for t in process.timers if t.whose in roles}
    for row in process.transitions:
        if row.trigger == trigger and any(s.value == state for s in row.sources):
            names |= row.cancels or set()
    return frozenset(names)


def _pairs(viewer: Viewer, role_filter: str | None) -> list[tuple[str, str]]:
    """The (kind, state) pairs in which some trigger is open to the viewer's roles."""
    return sorted((kind, state) for kind, states in NEXT.items() for state, steps in states.items()
                  if any(_acts_as(viewer, [r for r in s["roles"] if r not in READS_ONLY],
                                  role_filter) for s in steps))


def _timer_names(pairs: Sequence[tuple[str, str]]) -> list[str]:
    """Every timer that may guard a task in those states: what the task list is ordered by."""
    from states import PROCESSES
    return sorted({t.name for kind, _ in pairs for t in PROCESSES[kind].timers})


@dataclass(frozen=True)
class Due:
    timer: str
    due: str                 # YYYY-MM-DD, the last day in time
    days_left: int           # working days after today up to the due date; < 0: overdue by
    calendar: str            # in words: whose calendar it was counted on

    @property
    def overdue(self) -> bool:
        return self.days_left < 0

    def words(self) -> str:
        if self.days_left < 0:
            n = -self.days_left
            return f"{n} working day{'s' if n != 1 else ''} overdue"
        if self.days_left == 0:
            return "due today"
        return f"{self.days_left} working day{'s' if self.days_left != 1 else ''} left"


def due_of(timer: TimerRow, today: date) -> Due:
    calendar = recorded_calendar(timer.nation, jsontext.loads(timer.closures), timer.school,
                                 jsontext.loads(timer.school_closures))
    due = date.fromisoformat(timer.due)
    left = calendar.working_days_between(today, due) if due >= today \
        else -max(1, calendar.working_days_between(due, today))
    where = f"{timer.calendar} calendar" + (f", {timer.school}" if timer.school else "")
    return Due(timer.name, timer.due, left, where)


# Why the machine refuses a trigger in a role on the case as it stands (None: it may take it):
# workflows/engine/open_now.py, bound to one case.
Refusal = Callable[[str, str], "str | None"]


def case_tasks(viewer: Viewer, kind: str, state: str, parties: set[str],
               timers: Sequence[TimerRow], today: date,
               role_filter: str | None = None,
               refused: Refusal | None = None) -> list[dict[str, Any]]:
    """The viewer's tasks on one case: each open trigger, the roles it may fire it in and the
    due date that guards it (None when no pending timer does). With `refused`, a trigger the
    case's own guards refuse today (an internal post is not forwarded) is no task."""
    pending = [t for t in timers if t.status == "pending"]
    found = []
    for trigger, roles in open_triggers(viewer, kind, state, parties, role_filter):
        if refused is not None:
            roles = [r for r in roles if refused(trigger, r) is None]
            if not roles:
                continue
        guards = _guards(kind, state, trigger, tuple(roles))
        dues = sorted((due_of(t, today) for t in pending if t.name in guards),
                      key=lambda d: d.due)
        found.append({"trigger": trigger, "label": trigger.replace("_", " "), "roles": roles,
                      "due": dues[0] if dues else None})
    return found


def judged(setting: Setting, case_id: str, kind: str, state: str, data: Mapping[str, Any],
           records: Mapping[str, Any], timers: Sequence[TimerRow], today: date) -> Refusal:
    """The engine's answer for one case, as `case_tasks` asks it."""
    return lambda trigger, role: refusal_now(setting, case_id, kind, state, data, records,
                                             timers, trigger, role, today)


@dataclass(frozen=True)
class TaskPage:
    rows: list[dict[str, Any]]
    total: int


def tasks(db: Database, viewer: Viewer, today: date, limit: int, offset: int,
          role_filter: str | None = None, setting: Setting | None = None) -> TaskPage:
    """One page of the cases with something open to the viewer, the earliest due first (so
    the overdue first), then those no timer guards, newest first; each with its tasks."""
    pairs = _pairs(viewer, role_filter)
    if not pairs:
        return TaskPage([], 0)
    party = viewer.party if viewer.role in BOUND else None
    page = search_store.task_cases(db, pairs, _timer_names(pairs), party, limit, offset)
    ids = [r["case"] for r in page.rows]
    timers = search_store.timers_of_cases(db, ids)
    held = search_store.data_of_cases(db, ids) if setting is not None else {}
    rows = []
    for row in page.rows:
        parties = search_store.split_parties(row["parties"])
        case_timers = timers.get(row["case"], [])
        refused = None
        if setting is not None and row["case"] in held:
            refused = judged(setting, row["case"], row["kind"], row["state"],
                             *held[row["case"]], case_timers, today)
        found = case_tasks(viewer, row["kind"], row["state"], parties, case_timers, today,
                           role_filter, refused)
        dues = [t["due"] for t in found if t["due"] is not None]
        # A case whose every trigger its own guards refuse today (both letters sent) stays
        # on its page with no task: left out after the query paged, it would make the total
        # and the pages wrong. (Leaving it out before would mean judging every case.)
        rows.append({**{k: v for k, v in row.items() if k != "parties"}, "tasks": found,
                     "due": min(dues, key=lambda d: d.due) if dues else None})
    return TaskPage(rows, page.total)


def as_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """A task list row as the API gives it."""
    def due(d: Due | None) -> dict[str, Any] | None:
        return None if d is None else {"timer": d.timer, "due": d.due, "days_left": d.days_left,
                                       "overdue": d.overdue, "calendar": d.calendar}
    return {"case": row["case"], "kind": row["kind"], "state": row["state"],
            "person": row["person"], "school": row["school"], "due": due(row["due"]),
            "tasks": [{"trigger": t["trigger"], "roles": t["roles"], "due": due(t["due"])}
                      for t in row["tasks"]]}
