"""Decide: whether a trigger may leave a case's state and where it leads, by the `transitions`
machine built from states/ (one per kind of case, built once at import).

The machine is the one place that decides. Every row of a process becomes a transition with, as
its conditions: the row's route (for a trigger that leads to one of several states, such as
`submit_ast2`, which leads to `filled` or `ast2_submitted` by the post's funding), then its guards,
then a last condition that records which row was taken. `open` is a transition too, from a
pseudo-state `new` to the initial state, with the opening guards. `get_triggers` says what a
state allows; `Event.trigger` runs the conditions in order and moves the model, so the state the
model ends in is the destination. Guards return the reason they fail (states/spec.py); the
condition keeps it on the model, since transitions itself only reports False.

Replay re-applies entries whose guards were decided when they were recorded, on the same
machine with the guards switched off. Where the machine has one transition for the trigger from
the state, its table is read once (`_one_way`: running the machine's conditions for every
replayed entry cost 21% more instructions, bench/count_replay.py) and its destination checked
against the logged one; where routes would choose, the row that leads where the entry led is
taken, as it was when recorded (a route may read the configuration, or a rule changed since:
states/editions.py); otherwise the machine runs.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, cast

from transitions import EventData, Machine

from states import PROCESSES
from states.spec import Guard, Process, Transition
from workflows.engine.facts import CaseFacts

NEW = "new"   # the pseudo-state a case is in before it is opened


@dataclass(frozen=True, slots=True)
class Decision:
    """Where a trigger leads (a state by name, as the case row stores it) and by which row;
    or no row and the first failing guard's reason."""
    state: str
    row: Transition | None = None
    refusal: str | None = None


@dataclass(slots=True)
class _Moving:
    """The model the machine moves (transitions sets its `state`), and what the conditions
    found on the way: made for one decision, then read into a frozen Decision."""
    state: str
    row: Transition | None = None
    refusal: str | None = None


Condition = Callable[..., bool]


def _decision(event: EventData) -> _Moving:
    return cast(_Moving, event.model)


def _guard(guard: Guard) -> Condition:
    def holds(event: EventData) -> bool:
        reason = guard(event.kwargs["facts"])
        if reason:
            decision = _decision(event)
            decision.refusal = decision.refusal or reason
            return False
        return True
    holds.__name__ = getattr(guard, "__name__", "guard")
    return holds


def _route(row: Transition) -> Condition:
    assert row.route is not None
    route = row.route
    return lambda event: route(event.kwargs["facts"])


def _taken(row: Transition) -> Condition:
    def taken(event: EventData) -> bool:
        _decision(event).row = row
        return True
    return taken


def _conditions(row: Transition, guards: bool) -> list[str | Callable[..., bool | None]]:
    route: list[str | Callable[..., bool | None]] = [_route(row)] if row.route else []
    return route + ([_guard(g) for g in row.guards] if guards else []) + [_taken(row)]


def build(process: Process, guards: bool = True) -> Machine:
    """The kind's machine; without `guards`, the one replay runs (routes decided again, guards
    as they were decided when the entry was recorded, and retired rows kept, which only old
    entries can take). States are known by their values, as the case row stores them."""
    machine = Machine(model=None, states=[NEW, *(s.value for s in process.states)], initial=NEW,
                      auto_transitions=False, send_event=True, model_attribute="state")
    machine.add_transition("open", NEW, process.initial.value,
                           conditions=_conditions(process.opening, guards))
    for row in process.all_transitions():
        if row.retired and guards:
            continue
        for source in row.sources:
            # dest None: an internal transition (the case stays in its state).
            machine.add_transition(row.trigger, source.value,
                                   row.dest.value if row.dest is not None else None,
                                   conditions=_conditions(row, guards))
    return machine


MACHINES: dict[str, Machine] = {kind: build(process) for kind, process in PROCESSES.items()}
REPLAY_MACHINES: dict[str, Machine] = {kind: build(process, guards=False)
                                       for kind, process in PROCESSES.items()}


@lru_cache(maxsize=None)
def triggers_from(kind: str, state: str, replaying: bool = False) -> frozenset[str]:
    """The triggers the machine (replay's, with `replaying`) allows from `state` (asked once per
    state: the machine does not change once built)."""
    machine = REPLAY_MACHINES[kind] if replaying else MACHINES[kind]
    return frozenset(machine.get_triggers(state))


def sources_of(kind: str, trigger: str) -> list[str]:
    """The states `trigger` may leave, by name."""
    event = MACHINES[kind].events.get(trigger)
    return sorted(event.transitions) if event else []


def decide(kind: str, state: str, trigger: str, facts: CaseFacts, guards: bool = True,
           dest: str | None = None) -> Decision:
    """Run `trigger` from `state` (a state's name, as the case row keeps it) on the kind's
    machine (with `guards` False, replay's). The returned decision has the row taken and the
    destination, or no row and the first failing guard's reason. `dest` (replay): where the
    logged entry led; where routes would choose, the row that leads there is taken, as it was
    when recorded (a route's rule may have changed since: states/editions.py)."""
    if not guards:
        one_way = _one_way(kind, trigger, state)
        if one_way is not None:
            if dest is not None and one_way.state != dest:
                # The machine has one way for it, and the log says it went another: a log
                # edited after the fact, which `replay --verify` reports at this entry.
                return Decision(state, None, f"the log says it led to {dest}, but the only "
                                             f"transition from {state} leads to "
                                             f"{one_way.state}")
            return one_way
        if dest is not None:
            leading = [r for r in PROCESSES[kind].rows_leaving(trigger, state)
                       if (r.dest.value if r.dest is not None else state) == dest]
            if len(leading) == 1:
                return Decision(dest, leading[0])
    moving = _Moving(state)
    machine = MACHINES[kind] if guards else REPLAY_MACHINES[kind]
    machine.events[trigger].trigger(moving, facts=facts)
    return Decision(moving.state, moving.row, moving.refusal)


@lru_cache(maxsize=None)
def _one_way(kind: str, trigger: str, state: str) -> Decision | None:
    """Where `trigger` leads from `state`, and by which row, when the replay machine has one
    transition for it (its own table says where it leads); None when routes decide. (One
    Decision per state and trigger, shared: it is frozen.)"""
    found = REPLAY_MACHINES[kind].get_transitions(trigger=trigger, source=state)
    if len(found) != 1:
        return None
    process = PROCESSES[kind]
    row = process.opening if trigger == "open" else process.rows_leaving(trigger, state)[0]
    return Decision(found[0].dest or state, row)
