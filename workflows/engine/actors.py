"""Who acts: `ROLE:ID` on the command line, `system` for the engine itself."""
from __future__ import annotations

from dataclasses import dataclass, field

from states.roles import ROLES
from workflows.core import text
from workflows.core.errors import RefusedError


@dataclass(frozen=True)
class Actor:
    role: str
    id: str
    # Whether this is SYSTEM (the engine itself) and the actor as the log writes it: every
    # transition asks for both.
    is_system: bool = field(init=False, repr=False, compare=False)
    text: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for part in (self.role, self.id):
            why = text.problem(part, name=True) if isinstance(part, str) else "not text"
            if why:
                raise RefusedError(f"actor {self.role!r}:{self.id!r}: {why}")
        object.__setattr__(self, "is_system", self.role == "system" and self.id == "")
        object.__setattr__(self, "text",
                           self.role if self.role == "system" else f"{self.role}:{self.id}")

    @classmethod
    def parse(cls, written: str) -> "Actor":
        role, sep, ident = (written or "").partition(":")
        if not sep or not role or not ident:
            raise RefusedError(f"actor {written!r}: write ROLE:ID, e.g. headteacher:h.smith")
        if role not in ROLES:
            raise RefusedError(f"actor {written!r}: unknown role {role!r}; roles: "
                               f"{', '.join(ROLES)}")
        return cls(role, ident)

    def __str__(self) -> str:
        return self.text


SYSTEM = Actor("system", "")   # timers and linked cases; written as plain `system` in the log


# Roles in which no person fires a trigger: the engine's own (timers, linked cases) and the
# auditor's, who only reads (states/roles.py).
NEVER_FIRE = ("system", "auditor")


def refuse_roles_that_never_fire(actor: Actor) -> None:
    """A person at the command line names who acts (`--actor ROLE:ID`): never the engine
    itself, nor an auditor. Refused before anything is read, with the actor as written."""
    if actor.role in NEVER_FIRE:
        raise RefusedError(f"--actor {actor.role}:{actor.id}: the {actor.role} role cannot fire "
                           "triggers from the command line")
