"""What a step is asked to do, and what it works with.

A `Request` is one trigger as its caller gives it: the case, the trigger, who acts and for
whom, the data, when it takes effect and the version the caller saw. A `Step` is what every
step of one unit of work shares: the transaction, the mode (live or replaying), the setting
(configuration, calendars, renderer) and the business clock's "now". Both are named tuples:
immutable, and made for every entry replay re-applies at the cost of a tuple."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Mapping, NamedTuple

from workflows.engine.actors import Actor

if TYPE_CHECKING:
    from workflows.engine.apply import Setting
    from workflows.engine.modes import Mode
    from workflows.engine.unit_of_work import UnitOfWork


class Request(NamedTuple):
    case: str                          # for `open`: the id the new case takes
    trigger: str
    actor: Actor
    on_behalf_of: Actor | None = None  # an operator keys in a form for this person
    data: Mapping[str, Any] = {}
    effective_at: datetime | None = None   # None: now
    expected_version: int | None = None    # refused if the case is at another version

    @property
    def acting(self) -> Actor:
        """The person whose act it is: the one an operator keys it in for, else the actor."""
        return self.on_behalf_of if self.on_behalf_of is not None else self.actor

    def but(self, **changes: Any) -> Request:
        return self._replace(**changes)


class Step(NamedTuple):
    work: UnitOfWork
    mode: Mode
    setting: Setting
    now: datetime                      # the business clock when the unit of work began
