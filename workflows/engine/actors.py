"""Who acts: `ROLE:ID` on the command line, `system` for the engine itself."""
from __future__ import annotations

import unicodedata
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


MAX_ID = 100   # characters of an actor's id: a login name or a staff number, never a document


def refuse_unreadable_id(actor: Actor) -> None:
    """An id a person acting now may give: at most MAX_ID characters, and no character that
    changes how the audit trail reads rather than what it says (a right-to-left override,
    U+202E, made `headteacher:h.brown` display as someone else: issue 26). Checked at the
    door only, so entries logged before the rule still replay."""
    if len(actor.id) > MAX_ID:
        raise RefusedError(f"actor {actor.role}:{actor.id[:20]}...: an id of {len(actor.id):,} "
                           f"characters; at most {MAX_ID}")
    for char in actor.id:
        if unicodedata.category(char) == "Cf":
            raise RefusedError(f"actor {actor.role}:{actor.id!r}: contains a formatting "
                               f"character (U+{ord(char):04X}, {unicodedata.name(char, '?')}), "
                               "which changes how the log reads")
