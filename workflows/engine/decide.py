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

Replay re-applies entries whose guards were decided when they were recorded: it runs the same
machine with the guards switched off, so routes are decided again and lead where they led.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, cast

from transitions import EventData, Machine

from states import PROCESSES
from states.spec import Guard, Process, Transition
from workflows.engine.facts import CaseFacts

NEW = "new"   # the pseudo-state a case is in before it is opened


@dataclass
class Decision:
    """What the machine moves: a state; and what it found on the way."""
    state: Enum | str
    row: Transition | None = None
    refusal: str | None = None
    refusals: list[str] = field(default_factory=list)


Condition = Callable[..., bool]


def _decision(event: EventData) -> Decision:
    return cast(Decision, event.model)


def _guard(guard: Guard) -> Condition:
    def holds(event: EventData) -> bool:
        if not event.kwargs["guards"]:
            return True
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


def _conditions(row: Transition) -> list[str | Callable[..., bool | None]]:
    route: list[str | Callable[..., bool | None]] = [_route(row)] if row.route else []
    return route + [_guard(g) for g in row.guards] + [_taken(row)]


def build(process: Process) -> Machine:
    machine = Machine(model=None, states=[NEW, *process.states], initial=NEW,
                      auto_transitions=False, send_event=True, model_attribute="state")
    machine.add_transition("open", NEW, process.initial,
                           conditions=_conditions(process.opening))
    for row in process.all_transitions():
        for source in row.sources:
            # dest None: an internal transition (the case stays in its state).
            machine.add_transition(row.trigger, source, row.dest,
                                   conditions=_conditions(row))
    return machine


MACHINES: dict[str, Machine] = {kind: build(process) for kind, process in PROCESSES.items()}


def triggers_from(kind: str, state: Enum | str) -> list[str]:
    """The triggers the machine allows from `state`."""
    return MACHINES[kind].get_triggers(state)


def sources_of(kind: str, trigger: str) -> list[str]:
    """The states `trigger` may leave, by name."""
    event = MACHINES[kind].events.get(trigger)
    return sorted(event.transitions) if event else []


def decide(kind: str, state: Enum | str, trigger: str, facts: CaseFacts, guards: bool = True
           ) -> Decision:
    """Run `trigger` from `state` on the kind's machine. The returned decision has the row
    taken and the destination (`state`), or no row and the first failing guard's reason."""
    decision = Decision(state)
    MACHINES[kind].events[trigger].trigger(decision, facts=facts, guards=guards)
    return decision


def rows_from(process: Process, trigger: str, state: Enum) -> list[Transition]:
    """The rows of `trigger` that leave `state` (one per route): who may fire it and with what
    data, which all routes share (states/spec.py checks that)."""
    return [r for r in process.rows(trigger) if state in r.sources]


def as_state(process: Process, value: Any) -> Enum:
    return value if isinstance(value, Enum) else process.state(value)
