"""One `transitions` machine per kind of case, built once at import from states/. A case is
driven through the shared machine with `machine.events[trigger].trigger(model)`: building a
Machine per case costs 170-565 us, a shared one about 7 us, and `add_model` fails on SQLModel
rows anyway. The machine decides whether the trigger may leave the state and whether its guards
hold; the engine (workflows/engine.py) applies the effects."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

from transitions import Machine

from states import PROCESSES
from states.spec import Facts, Guard, Process, Transition


@dataclass
class CaseModel:
    """What the machine moves: a state, and the reason the first failing guard gave."""
    state: Enum
    refusal: str | None = None


def _condition(guard: Guard):
    def check(event) -> bool:
        reason = guard(event.kwargs["facts"])
        if reason:
            event.model.refusal = reason
            return False
        return True
    check.__name__ = getattr(guard, "__name__", "guard")
    return check


def build(process: Process) -> Machine:
    transitions = []
    for row in process.all_transitions():
        for source in row.sources:
            transitions.append({
                "trigger": row.trigger, "source": source,
                "dest": row.dest if row.dest is not None else None,   # None: internal transition
                "conditions": [_condition(g) for g in row.guards],
            })
    return Machine(model=None, states=process.states, transitions=transitions,
                   initial=process.initial, auto_transitions=False, send_event=True,
                   model_attribute="state")


MACHINES: dict[str, Machine] = {kind: build(process) for kind, process in PROCESSES.items()}


def run(kind: str, state: Enum, row: Transition, facts: Facts) -> tuple[Enum, str | None]:
    """Fire `row.trigger` from `state` on the kind's machine. Returns the new state, or the old
    one and the first failing guard's reason (transitions itself only says False)."""
    model = CaseModel(state)
    moved = MACHINES[kind].events[row.trigger].trigger(model, facts=facts)
    return model.state, (None if moved else model.refusal or "a guard did not hold")


@lru_cache(maxsize=None)
def destination(kind: str, trigger: str, state: str) -> Enum:
    """Where `trigger` leads from the state named `state` when no guard is decided again (a
    replay): the machine's own table, one transition per trigger and source state
    (states/spec.py checks that). Keyed by names, which hash without a call."""
    source = PROCESSES[kind].state(state)
    dest = MACHINES[kind].events[trigger].transitions[source.name][0].dest
    return type(source)[dest] if dest is not None else source
