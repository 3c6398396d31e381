"""The vocabulary in which states/application.py, review.py and appointment.py are written.

A process is plain data: its states, one row per (trigger, source states) saying who may fire it,
what data it needs, which guards must hold, where it leads and which effects follow. No I/O and
no clock here: guards, recipients and dates read a `Facts` object that the engine fills in.
`validate` refuses a definition that cannot run, naming what is wrong, when the module loads.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Callable, Literal, Mapping, Protocol, Sequence

from pydantic import BaseModel, ConfigDict, Field

from states.roles import ROLES


class InvalidDefinition(Exception):
    """A process definition that cannot be run (an unknown or unreachable state, a dead end)."""


class CaseView(Protocol):
    """Another case, read-only, as a guard sees it (a review's application, an appointee's
    certified application)."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def data(self) -> Mapping[str, Any]: ...              # the data it was opened with
    @property
    def records(self) -> Mapping[str, Mapping[str, Any]]: ...   # trigger -> its data
    @property
    def done(self) -> Mapping[str, date]: ...             # trigger -> the day it took effect


class Facts(Protocol):
    """Everything a guard, a recipient or a deadline may read about one transition."""

    @property
    def case_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def role(self) -> str: ...          # the role acting (for an operator: the role it acts for)
    @property
    def actor_id(self) -> str: ...      # and the id of that person
    @property
    def state(self) -> str: ...         # the state before the transition
    @property
    def case(self) -> Mapping[str, Any]: ...   # the data the case was opened with
    @property
    def records(self) -> Mapping[str, Mapping[str, Any]]: ...   # trigger -> the data it recorded
    @property
    def done(self) -> Mapping[str, date]: ...   # trigger -> the day it took effect
    @property
    def event(self) -> Mapping[str, Any]: ...   # this trigger's validated data
    @property
    def effective_date(self) -> date: ...       # the Europe/London day it takes effect
    @property
    def pending_timers(self) -> Mapping[str, date]: ...   # name -> due date, still pending
    @property
    def deadlines(self) -> Mapping[str, date]: ...   # name -> due date of every timer run
    @property
    def contacts(self) -> Mapping[str, str]: ...     # configured addresses
    @property
    def policy(self) -> Mapping[str, Any]: ...       # local-policy settings
    @property
    def nation(self) -> str: ...                     # england or wales

    @property
    def derived(self) -> Mapping[str, Any]: ...      # what the engine derived with the event

    def lookup(self, case_id: str) -> CaseView | None: ...
    def cases_of_kind(self, kind: str, state: str | None = None,
                      email: str | None = None) -> Sequence[CaseView]: ...
    # only those in `state`, and whose candidate's address is `email` (any case), when given
    def deadlines_of(self, case_id: str) -> Mapping[str, date]: ...
    # another case's deadlines: name -> the due date of its latest timer of that name
    def due_of(self, kind: str, timer: str, start: date) -> date: ...
    # the due date `timer` of `kind` would have, counted from `start` on the calendar in force
    # (for a derived fact only: the engine records it, and replay reads it back)
    def working_days_after(self, start: date, n: int) -> date: ...
    # the n-th working day after `start` on the national calendar (bank holidays only)


Guard = Callable[[Facts], "str | None"]        # None when it holds, else the reason it does not
Warning_ = Callable[[Facts], "str | None"]     # None, or a warning that does not refuse
Recipient = Callable[[Facts], "str | None"]    # an address, or None when there is none to send to
Route = Callable[[Facts], bool]                # whether a row's destination is the one taken
RolesOf = Callable[[Facts], tuple[str, ...]]


# -- deadline rules, as data: how a timer's due date follows from the date it counts from ------

@dataclass(frozen=True)
class WorkingDays:
    """The N-th working day strictly after the start date; N fixed or a local-policy setting."""
    n: int | None = None
    policy: str | None = None
    kind: Literal["working_days"] = "working_days"

    def count(self, policy: Mapping[str, Any]) -> int:
        return self.n if self.n is not None else int(policy[str(self.policy)])


@dataclass(frozen=True)
class CalendarDays:
    """A plain calendar offset with no working-day adjustment ("six weeks" = 42 days)."""
    n: int
    kind: Literal["calendar_days"] = "calendar_days"

    def count(self, policy: Mapping[str, Any]) -> int:
        return self.n


@dataclass(frozen=True)
class OnTheDay:
    """Due on the day it counts from itself (a post's last day: `post_ends`), firing at the
    start of the next."""
    kind: Literal["on_the_day"] = "on_the_day"

    def count(self, policy: Mapping[str, Any]) -> int:
        return 0


Rule = WorkingDays | CalendarDays | OnTheDay


@dataclass(frozen=True)
class Timer:
    """A deadline a case may run. `duty` says whose duty it guards: such a timer only reports
    `deadline_missed` when it fires; a timer without a duty moves the case (its own row with
    trigger `timer:NAME`). `calendar` is the party whose calendar it counts on: `local` (the
    school's and the LA's duties: their closure days are not working days) or `national`
    (bank holidays only); `school` names the school whose own closure days a local duty skips."""
    name: str
    rule: Rule
    counted_from: Callable[[Facts], date]
    starting_point: str                 # what `counted_from` is, in words, for the audit trail
    calendar: Literal["local", "national"] = "national"
    school: Callable[[Facts], "str | None"] | None = None
    duty: str | None = None             # e.g. "the headteacher's decision on the application"
    whose: str | None = None            # the role that owes the duty
    missed_to: tuple[Recipient, ...] = ()
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Hashed for every deadline computed (workflows/core/deadlines.py caches by timer): hashed
        # once, not field by field (its rule and recipients are dataclasses, hashed in Python).
        object.__setattr__(self, "_hash", hash((self.name, self.rule, self.counted_from,
                                                self.starting_point, self.calendar, self.school,
                                                self.duty, self.whose, self.missed_to)))

    def __hash__(self) -> int:
        return self._hash


# -- effects ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StartTimer:
    name: str
    # The due date to keep, when it is not counted again (a review window started again after a
    # withdrawn review ends when it ended before): read from the facts.
    keep_due: Callable[[Facts], date] | None = None


@dataclass(frozen=True)
class CancelTimers:
    names: tuple[str, ...] = ()         # empty: every pending timer of the case


@dataclass(frozen=True)
class Notify:
    template: str
    to: tuple[Recipient, ...]
    # The edition of the rules (states/editions.py) that added it: an entry decided under an
    # earlier edition did not send it, and replay does not either.
    since: int = 1
    # The last edition that sent it (None: still sent): an entry decided under an earlier
    # edition is replayed with the notice it sent then.
    until: int | None = None
    # A copy to others than the addressee: rendered with `copy` true, so that its wording can
    # say so (the facts are the same).
    copy: bool = False

    def sent_in(self, edition: int) -> bool:
        return self.since <= edition and (self.until is None or edition <= self.until)


ItemRecipient = Callable[[Mapping[str, Any]], "str | None"]


@dataclass(frozen=True)
class NotifyEach(Notify):
    """One notice for each item of a list the engine derived with the event (`derived[each]`,
    recorded in the entry so that replay addresses them alike): a cancelled post tells every
    live application that names it, each in its own letter. The template reads the item as
    `about`; `to` reads addresses from the item."""
    each: str = ""
    to_each: tuple[ItemRecipient, ...] = ()


@dataclass(frozen=True)
class Party:
    """Which person of a role the case expects (DOMAIN.md, "Parties bound to a case"): a role
    says what kind of person may act; the case says which one. `expected` reads the party the
    case records (a mapping with its `id` and `name`), or None while it records none."""
    role: str
    expected: Callable[[Facts], "Mapping[str, Any] | None"]
    who: str                            # in words: "the assessor of the current schedule"


@dataclass(frozen=True)
class OpenLinked:
    """Open a case of another kind in the same transaction (a review from `request_review`)."""
    kind: str
    data: Callable[[Facts], dict[str, Any]]


@dataclass(frozen=True)
class MoveLinked:
    """Fire a system trigger on a linked case in the same transaction (a review's decision
    moves its application), with `data` as that entry's data."""
    trigger: str
    case_id: Callable[[Facts], str]
    data: Callable[[Facts], dict[str, Any]]


@dataclass(frozen=True)
class SupersedeTimer:
    """Mark the fired timer a late-keyed event overtook as `superseded` (DOMAIN.md, "Late-keyed
    events"): the event's data names it (`timer`, `superseded_seq`)."""


@dataclass(frozen=True)
class ErasePersonalData:
    """Erase every personal field of the case, its log entries and its notices (DOMAIN.md,
    "Personal data"): their hashes stay, so both chains still verify."""


Effect = (StartTimer | CancelTimers | Notify | OpenLinked | MoveLinked | SupersedeTimer
          | ErasePersonalData)


class Data(BaseModel):
    """Trigger data: unknown keys are kept (DOMAIN.md welcomes more); the known ones have the
    strict types of states/common.py (no number read from text, no true read as 1)."""
    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)


class TimerFired(Data):
    """The data of a `timer:NAME` entry: the due date the timer enforced."""
    due: date = Field(description="The due date the timer enforced (the last day in time)")


@dataclass(frozen=True)
class Transition:
    trigger: str
    sources: tuple[Enum, ...]           # empty for `open`
    dest: Enum | None                   # None: the case stays in its state
    roles: tuple[str, ...] | RolesOf    # a tuple, or a function of the facts
    data: type[BaseModel] | None = None
    guards: tuple[Guard, ...] = ()
    warnings: tuple[Warning_, ...] = ()
    effects: tuple[Effect, ...] = ()
    derive: Callable[[Facts], dict[str, Any]] | None = None   # facts recorded with the event
    # A trigger that leads to one of several states has one row per destination, each with the
    # condition under which it is the one taken (`submit_ast2`: by the post's funding).
    route: Route | None = None
    # Written by the engine itself (recalendar, a late-keyed event), never fired by a person.
    internal: bool = False
    # No longer part of the process: kept so that entries logged before can be replayed.
    retired: bool = False
    # Opening only: the key of the data under which the opening party's id is recorded as
    # `KEY.id` (the headteacher who opened an application is the one bound to it).
    signed_by: tuple[str, str] | None = None   # (role, key)

    def roles_for(self, facts: Facts | None) -> tuple[str, ...]:
        if callable(self.roles):
            if facts is None:
                raise TypeError(f"{self.trigger}: its roles depend on the case")
            return self.roles(facts)
        return self.roles

    @cached_property
    def notices(self) -> tuple[Notify, ...]:
        return tuple(e for e in self.effects if isinstance(e, Notify))

    @cached_property
    def opens_linked(self) -> tuple[OpenLinked, ...]:
        return tuple(e for e in self.effects if isinstance(e, OpenLinked))

    @cached_property
    def cancels(self) -> frozenset[str] | None:
        """The timer names this row cancels (empty: none); None: every pending timer."""
        names: set[str] = set()
        for effect in self.effects:
            if isinstance(effect, CancelTimers):
                if not effect.names:
                    return None
                names.update(effect.names)
        return frozenset(names)

    @cached_property
    def starts(self) -> tuple[str, ...]:
        """The timers this row starts."""
        return tuple(e.name for e in self.starting)

    @cached_property
    def starting(self) -> tuple[StartTimer, ...]:
        return tuple(e for e in self.effects if isinstance(e, StartTimer))

    @cached_property
    def supersedes(self) -> bool:
        return any(isinstance(e, SupersedeTimer) for e in self.effects)

    @cached_property
    def erases(self) -> bool:
        return any(isinstance(e, ErasePersonalData) for e in self.effects)

    @cached_property
    def links(self) -> tuple[OpenLinked | MoveLinked, ...]:
        """The effects on linked cases, in declared order."""
        return tuple(e for e in self.effects if isinstance(e, (OpenLinked, MoveLinked)))


class Reason(Data):
    reason: str = Field(description="Why the personal data is erased (e.g. the retention "
                                    "period ended, or the person's request)")


class TimerSuperseded(Data):
    """The data of a `timer_superseded` entry: the timer entry a late-keyed event overtook, and
    the event."""
    superseded_seq: int = Field(description="Position in the case's log (seq) of the timer "
                                            "entry superseded")
    timer: str = Field(description="Name of the timer superseded")
    due: date = Field(description="Due date of the timer superseded")
    late_trigger: str = Field(description="Trigger of the late-keyed event")
    late_effective_at: str = Field(description="When the late-keyed event took effect (UTC)")
    late_recorded_at: str = Field(description="When the late-keyed event was recorded (UTC)")


class TimerChange(Data):
    """The data of a `deadline_recomputed` entry (recalendar --apply)."""
    timer: str = Field(description="Name of the timer whose due date was recomputed")
    old_due: str = Field(description="Its due date before")
    new_due: str = Field(description="Its due date now")
    rule: str = Field(description="The rule the due date was counted by")


@dataclass(frozen=True)
class Process:
    kind: str
    states: type[Enum]
    final: frozenset[Enum]
    opening: Transition                 # trigger "open", dest = the initial state
    transitions: tuple[Transition, ...]
    timers: tuple[Timer, ...] = ()
    # None: opened with `open`; else how it is opened instead (the refusal says so).
    opened_by: str | None = None
    case_prefix: str = ""
    # States that are not final but where a case may rest for good (a filled post).
    resting: frozenset[Enum] = frozenset()
    # The persons of a role that this kind of case binds (DOMAIN.md, "Parties bound to a
    # case"): a person of that role may act only as the one the case expects.
    parties: tuple[Party, ...] = ()
    _by_trigger: dict[str, list[Transition]] = field(default_factory=dict, compare=False,
                                                     repr=False)
    _by_value: dict[str, Enum] = field(default_factory=dict, compare=False, repr=False)
    _leaving: dict[tuple[str, str], list[Transition]] = field(default_factory=dict,
                                                             compare=False, repr=False)
    _timers: dict[str, Timer] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        validate(self)
        for row in self.all_transitions():
            self._by_trigger.setdefault(row.trigger, []).append(row)
            for source in row.sources:
                self._leaving.setdefault((row.trigger, source.value), []).append(row)
        self._by_value.update({s.value: s for s in self.states})
        self._timers.update((t.name, t) for t in self.timers)

    def state(self, value: str) -> Enum:
        found = self._by_value.get(value)
        if found is None:
            raise KeyError(f"{self.kind} has no state {value!r}")
        return found

    @property
    def initial(self) -> Enum:
        assert self.opening.dest is not None
        return self.opening.dest

    @property
    def openable(self) -> bool:
        return self.opened_by is None

    def all_transitions(self) -> list[Transition]:
        """The declared rows, one `timer:NAME` row per duty timer, and the triggers every kind of
        case shares: erasing personal data (final states) and a recomputed deadline."""
        rows = list(self.transitions)
        declared = {r.trigger for r in rows}
        for timer in self.timers:
            if timer.duty is not None and f"timer:{timer.name}" not in declared:
                # A duty timer reports in whatever state the case is in and moves nothing.
                rows.append(Transition(
                    trigger=f"timer:{timer.name}", sources=tuple(self.states), dest=None,
                    roles=("system",), data=TimerFired,
                    effects=(Notify("deadline_missed", timer.missed_to),)))
        rows.extend(self._supersede_rows(rows))
        rows.append(Transition(
            "erase_personal_data", tuple(sorted(self.final, key=lambda s: s.value)), None,
            ("la_coordinator",), Reason, effects=(ErasePersonalData(),)))
        rows.append(Transition("deadline_recomputed", tuple(self.states), None, ("operator",),
                               TimerChange, internal=True))
        return rows

    def _supersede_rows(self, rows: list[Transition]) -> list[Transition]:
        """`timer_superseded`: written by the engine before a late-keyed event that overtook a
        timer entry. Superseding a duty timer withdraws its `deadline_missed` (to the same
        recipients); superseding a timer that moved the case moves it back. The route says
        which timer the entry supersedes."""
        persons = tuple(r for r in ROLES if r not in ("system", "auditor"))
        out = []
        for timer in self.timers:
            if timer.duty is not None:
                out.append(Transition(
                    "timer_superseded", tuple(self.states), None, persons, TimerSuperseded,
                    effects=(SupersedeTimer(), Notify("deadline_missed_withdrawn",
                                                      timer.missed_to)),
                    route=_superseding(timer.name), internal=True))
        for row in rows:
            if row.trigger.startswith("timer:") and row.dest is not None:
                for source in row.sources:
                    out.append(Transition(
                        "timer_superseded", (row.dest,), source, persons, TimerSuperseded,
                        effects=(SupersedeTimer(),),
                        route=_superseding(row.trigger.removeprefix("timer:")),
                        internal=True))
        return out

    @cached_property
    def retired_states(self) -> frozenset[Enum]:
        """States only a retired transition leads to: readable, never entered again."""
        live = {self.initial} | {r.dest for r in self.all_transitions()
                                 if r.dest is not None and not r.retired}
        return frozenset(r.dest for r in self.all_transitions()
                         if r.retired and r.dest is not None and r.dest not in live)

    def triggers(self) -> list[str]:
        return list(self._by_trigger)

    def rows(self, trigger: str) -> list[Transition]:
        return self._by_trigger.get(trigger, [])

    def rows_leaving(self, trigger: str, state: str) -> list[Transition]:
        """The rows of `trigger` that leave `state` (by name, as a case row keeps it; one row
        per route), in declared order: who may fire it and with what data, which all routes
        share (validate checks that)."""
        return self._leaving.get((trigger, state), [])

    def timer(self, name: str) -> Timer:
        return self._timers[name]


def validate(process: Process) -> None:
    """Refuse a definition that names a state outside its Enum, leaves a state unreachable,
    lets a non-final state lead nowhere, starts or fires a timer it does not declare, declares a
    timer that nothing could fire, names an unknown role, or gives one trigger two rows from a
    state without saying by which route each is taken."""
    states = set(process.states)
    where = f"{process.kind} process"
    rows = list(process.transitions)

    def known(state: Enum | None, role: str) -> None:
        if state not in states:
            raise InvalidDefinition(f"{where}: {role} names unknown state {state!r}")

    known(process.opening.dest, "open")
    for final in process.final:
        known(final, "final")
    by_source: dict[tuple[str, Enum], list[Transition]] = {}
    for row in [process.opening, *rows]:
        for source in row.sources:
            known(source, f"trigger {row.trigger!r}")
            by_source.setdefault((row.trigger, source), []).append(row)
        if row.dest is not None:
            known(row.dest, f"trigger {row.trigger!r}")
        if not callable(row.roles):
            unknown = [r for r in row.roles if r not in ROLES]
            if unknown:
                raise InvalidDefinition(f"{where}: trigger {row.trigger!r} names unknown "
                                        f"role(s) {', '.join(unknown)}")
    for (trigger, source), same in by_source.items():
        if len(same) > 1 and any(r.route is None for r in same):
            raise InvalidDefinition(
                f"{where}: trigger {trigger!r} is declared twice from {source.name!r} without "
                "a route saying when each is taken")
        if len({(r.roles if callable(r.roles) else tuple(r.roles), r.data) for r in same}) > 1:
            raise InvalidDefinition(
                f"{where}: the routes of trigger {trigger!r} from {source.name!r} must share "
                "their roles and data")

    timer_names = {t.name for t in process.timers}
    for row in [process.opening, *rows]:
        for effect in row.effects:
            if isinstance(effect, (StartTimer, CancelTimers)):
                for name in ([effect.name] if isinstance(effect, StartTimer) else effect.names):
                    if name not in timer_names:
                        raise InvalidDefinition(
                            f"{where}: trigger {row.trigger!r} uses undeclared timer {name!r}")
    declared = {r.trigger for r in rows}
    for timer in process.timers:
        if timer.duty is None and f"timer:{timer.name}" not in declared:
            raise InvalidDefinition(
                f"{where}: timer {timer.name!r} guards no duty and no row says what its "
                f"firing does (declare a 'timer:{timer.name}' row or give it a duty)")
        if timer.calendar == "national" and timer.school is not None:
            raise InvalidDefinition(f"{where}: timer {timer.name!r} counts on the national "
                                    "calendar, which no school's closure days move")

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

    # Every state leads, by some path, to a final or resting state (python-statemachine's
    # check of reachable final states): a loop such as b <-> c that never ends is refused.
    live = [r for r in rows if not r.retired]
    ends = set(process.final) | set(process.resting)
    grew = True
    while grew:
        grew = False
        for row in live:
            if row.dest in ends:
                for source in row.sources:
                    if source not in ends:
                        ends.add(source)
                        grew = True
    endless = sorted(s.name for s in states - ends - process.retired_states)
    if endless:
        raise InvalidDefinition(
            f"{where}: no final or resting state can be reached from state(s): "
            f"{', '.join(endless)}")

    started = {name for row in [process.opening, *rows] for name in row.starts}
    unstarted = sorted(t.name for t in process.timers if t.name not in started)
    if unstarted:
        raise InvalidDefinition(f"{where}: no row starts timer(s) {', '.join(unstarted)}")

    known_templates = notice_templates()
    for row in [process.opening, *rows]:
        if row.retired:
            continue   # a retired notice keeps only its earlier versions
        for notice in row.notices:
            if notice.template not in known_templates:
                raise InvalidDefinition(
                    f"{where}: trigger {row.trigger!r} sends notice {notice.template!r}, which "
                    f"has no template (notifications/templates/{notice.template}.txt.j2)")
        if row.signed_by is not None and row.trigger != "open":
            raise InvalidDefinition(f"{where}: trigger {row.trigger!r}: only the opening "
                                    "records who signed it")
    for party in process.parties:
        if party.role not in ROLES:
            raise InvalidDefinition(f"{where}: binds unknown role {party.role!r}")


TEMPLATES = Path(__file__).resolve().parent.parent / "notifications" / "templates"


@lru_cache(maxsize=1)
def notice_templates() -> frozenset[str]:
    """The names of the notice templates there are (`notifications/templates/NAME.txt.j2`):
    a process that sends a notice without one is refused when it loads, not when a case
    first reaches that row."""
    return frozenset(p.name.removesuffix(".txt.j2") for p in TEMPLATES.glob("*.txt.j2"))


def _superseding(timer: str) -> Route:
    def route(f: Facts) -> bool:
        return f.event.get("timer") == timer
    route.__name__ = f"superseding_{timer}"
    return route


def every_state_but(states: type[Enum], *excluded: Enum) -> tuple[Enum, ...]:
    return tuple(s for s in states if s not in excluded)
