"""What each kind of case is: states, triggers, roles, data, guards and effects, as plain data.

`PROCESSES` is built on first use (PEP 562): a command that needs only a piece of states (the
configuration's address type) does not pay for building every process."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from states.spec import Process

    PROCESSES: dict[str, Process]


def __getattr__(name: str) -> Any:
    if name == "PROCESSES":
        from states.application import PROCESS as APPLICATION
        from states.appointment import PROCESS as APPOINTMENT
        from states.review import PROCESS as REVIEW
        processes = {p.kind: p for p in (APPLICATION, REVIEW, APPOINTMENT)}
        globals()["PROCESSES"] = processes
        return processes
    raise AttributeError(f"module 'states' has no attribute {name!r}")
