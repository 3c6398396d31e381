"""The vocabulary in which states/application.py, review.py and appointment.py are written.

A process is plain data: its states, one row per (trigger, source states) saying who may fire it,
what data it needs, which guards must hold and which effects follow. No I/O and no clock here:
guards, recipients and dates read a `Facts` object that the engine fills in.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from enum import Enum
from typing import Any, Callable, Mapping, Protocol, Sequence

from pydantic import BaseModel, ConfigDict


class InvalidDefinition(Exception):
    """A process definition that cannot be run (an unknown or unreachable state, a dead end)."""


class CaseView(Protocol):
    """Another case, read-only, as a guard sees it (a review's application, an appointment's
    certified candidate)."""

    id: str
    kind: str
    state: str
    data: Mapping[str, Any]


class Facts(Protocol):
    """Everything a guard, a recipient or a deadline may read about one transition."""

    case_id: str
    kind: str
    role: str                          # the role acting (for an operator: the role it acts for)
    actor_id: str                      # and the id of that person
    state: str                         # the state before the transition
    case: Mapping[str, Any]            # the case's data (opening data plus each trigger's record)
    event: Mapping[str, Any]           # this trigger's validated data
    effective_date: date               # the Europe/London date on which it took effect
    pending_timers: Mapping[str, date]  # name -> due date, of timers still pending
    deadlines: Mapping[str, date]      # name -> due date of every timer the case ran (latest)
    contacts: Mapping[str, str]        # configured addresses (la_coordinator, agency, ...)
    policy: Mapping[str, Any]          # local-policy numbers from configuration

    def lookup(self, case_id: str) -> CaseView | None: ...
    def funded_posts_at(self, school: str) -> int: ...


Guard = Callable[[Facts], "str | None"]        # None when it holds, else the reason it does not
Warning_ = Callable[[Facts], "str | None"]     # None, or a warning that does not refuse
Recipient = Callable[[Facts], "str | None"]    # an address, or None when there is none to send to
Roles = "tuple[str, ...] | Callable[[Facts], tuple[str, ...]]"


# -- deadline rules: how a timer's due date follows from the date it counts from ---------------

@dataclass(frozen=True)
class WorkingDays:
    """The N-th working day strictly after the start date; N fixed or a local-policy setting."""
    days: int | None = None
    policy: str | None = None

    def count(self, policy: Mapping[str, Any]) -> int:
        return self.days if self.days is not None else int(policy[self.policy])


@dataclass(frozen=True)
class CalendarDays:
    """A plain calendar offset with no working-day adjustment ("six weeks" = 42 days)."""
    days: int


@dataclass(frozen=True)
class Timer:
    """A deadline a case may run. `duty` says whose duty it guards: such a timer only reports
    `deadline_missed` when it fires; a timer without a duty moves the case (its own row with
    trigger `timer:NAME`)."""
    name: str
    rule: WorkingDays | CalendarDays
    counted_from: Callable[[Facts], date]
    starting_point: str                 # what `counted_from` is, in words, for the audit trail
    duty: str | None = None             # e.g. "the headteacher's check of the application"
    whose: str | None = None            # the role that owes the duty
    missed_to: tuple[Recipient, ...] = ()


# -- effects ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StartTimer:
    name: str


@dataclass(frozen=True)
class CancelTimers:
    names: tuple[str, ...] = ()         # empty: every pending timer of the case


@dataclass(frozen=True)
class Notify:
    template: str
    to: tuple[Recipient, ...]


@dataclass(frozen=True)
class OpenLinked:
    """Open a case of another kind in the same transaction (a review from `request_review`)."""
    kind: str
    data: Callable[[Facts], dict]


@dataclass(frozen=True)
class MoveLinked:
    """Fire a system trigger on a linked case in the same transaction (a review's decision
    moves its application)."""
    trigger: str
    case_id: Callable[[Facts], str]


class TimerFired(BaseModel):
    """The data of a `timer:NAME` entry: the due date the timer enforced."""
    model_config = ConfigDict(extra="allow", frozen=True)
    due: date


Effect = StartTimer | CancelTimers | Notify | OpenLinked | MoveLinked


@dataclass(frozen=True)
class Transition:
    trigger: str
    sources: tuple[Enum, ...]           # empty for `open`
    dest: Enum | None                   # None: the case stays in its state
    roles: Any                          # Roles: a tuple, or a function of the facts
    data: type[BaseModel] | None = None
    guards: tuple[Guard, ...] = ()
    warnings: tuple[Warning_, ...] = ()
    effects: tuple[Effect, ...] = ()
    derive: Callable[[Facts], dict] | None = None   # extra facts recorded with the event

    def roles_for(self, facts: Facts) -> tuple[str, ...]:
        return self.roles(facts) if callable(self.roles) else self.roles

    # The effects by kind, in declared order: the engine reads them on every transition.
    @cached_property
    def notices(self) -> tuple[Notify, ...]:
        return tuple(e for e in self.effects if isinstance(e, Notify))

    @cached_property
    def opens_linked(self) -> tuple[OpenLinked, ...]:
        return tuple(e for e in self.effects if isinstance(e, OpenLinked))


@dataclass(frozen=True)
class Process:
    kind: str
    states: type[Enum]
    final: frozenset[Enum]
    opening: Transition                 # trigger "open", dest = the initial state
    transitions: tuple[Transition, ...]
    timers: tuple[Timer, ...] = ()
    openable: bool = True               # False: opened only by another case (a review)
    case_prefix: str = ""
    _by_trigger: dict = field(default_factory=dict, compare=False, repr=False)
    _by_value: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        validate(self)
        for row in self.all_transitions():
            self._by_trigger.setdefault(row.trigger, []).append(row)
        self._by_value.update({s.value: s for s in self.states})

    def state(self, value: str) -> Enum:
        """The state a case row names (as `states(value)`, without the Enum's lookup cost)."""
        found = self._by_value.get(value)
        return found if found is not None else self.states(value)

    @property
    def initial(self) -> Enum:
        return self.opening.dest

    def all_transitions(self) -> list[Transition]:
        """The declared rows plus one `timer:NAME` row per timer."""
        rows = list(self.transitions)
        declared = {r.trigger for r in rows}
        for timer in self.timers:
            if timer.duty is not None and f"timer:{timer.name}" not in declared:
                # A duty timer reports in whatever state the case is in and moves nothing.
                rows.append(Transition(
                    trigger=f"timer:{timer.name}", sources=tuple(self.states), dest=None,
                    roles=("system",), data=TimerFired,
                    effects=(Notify("deadline_missed", timer.missed_to),)))
        return rows

    def triggers(self) -> list[str]:
        return list(self._by_trigger)

    def rows(self, trigger: str) -> list[Transition]:
        return self._by_trigger.get(trigger, [])

    def row_from(self, trigger: str, state: Enum) -> Transition | None:
        for row in self.rows(trigger):
            if state in row.sources:
                return row
        return None

    def timer(self, name: str) -> Timer:
        for timer in self.timers:
            if timer.name == name:
                return timer
        raise KeyError(name)

    def is_final(self, state: Enum) -> bool:
        return state in self.final


def validate(process: Process) -> None:
    """Refuse a definition that names a state outside its Enum, leaves a state unreachable,
    lets a non-final state lead nowhere, or starts or fires a timer it does not declare."""
    states = set(process.states)
    where = f"{process.kind} process"
    rows = list(process.transitions)

    def known(state, role):
        if state not in states:
            raise InvalidDefinition(f"{where}: {role} names unknown state {state!r}")

    known(process.opening.dest, "open")
    for final in process.final:
        known(final, "final")
    seen = set()
    for row in rows:
        for source in row.sources:
            known(source, f"trigger {row.trigger!r}")
            if (row.trigger, source) in seen:
                raise InvalidDefinition(
                    f"{where}: trigger {row.trigger!r} is declared twice from {source.name!r}")
            seen.add((row.trigger, source))
        if row.dest is not None:
            known(row.dest, f"trigger {row.trigger!r}")

    timer_names = {t.name for t in process.timers}
    for row in [process.opening, *rows]:
        for effect in row.effects:
            if isinstance(effect, (StartTimer, CancelTimers)):
                for name in ([effect.name] if isinstance(effect, StartTimer) else effect.names):
                    if name not in timer_names:
                        raise InvalidDefinition(
                            f"{where}: trigger {row.trigger!r} uses undeclared timer {name!r}")

    reachable = {process.opening.dest}
    grew = True
    while grew:
        grew = False
        for row in rows:
            if row.dest is not None and row.dest not in reachable and reachable & set(row.sources):
                reachable.add(row.dest)
                grew = True
    unreachable = sorted(s.name for s in states - reachable)
    if unreachable:
        raise InvalidDefinition(f"{where}: unreachable state(s): {', '.join(unreachable)}")

    leads_on = {s for row in rows if row.dest is not None for s in row.sources if s != row.dest}
    dead_ends = sorted(s.name for s in states - set(process.final) - leads_on)
    if dead_ends:
        raise InvalidDefinition(
            f"{where}: non-final state(s) with no way out: {', '.join(dead_ends)}")


def every_state_but(states: type[Enum], *excluded: Enum) -> tuple[Enum, ...]:
    return tuple(s for s in states if s not in excluded)


def first_failure(checks: Sequence[Guard], facts: Facts) -> str | None:
    for check in checks:
        reason = check(facts)
        if reason:
            return reason
    return None
