"""What one applied trigger gives back to its caller."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class Outcome:
    case: str
    kind: str
    state: str
    version: int
    trigger: str
    effective_at: datetime
    warnings: list[str] = field(default_factory=list)
    linked: list["Outcome"] = field(default_factory=list)
    repeated: bool = False   # an idempotent retry: what the first request did, nothing written

    def as_json(self) -> dict[str, Any]:
        """The JSON shape of `open` and `fire` (shared/CLI.md), exactly its keys. `warnings`
        holds each warning by its name, as DOMAIN.md gives it (`already_certified`), so that a
        script tests for one by name; what each says is in the log entry's
        `engine.warnings` (`show --json`) and on standard error."""
        return {"case": self.case, "kind": self.kind, "state": self.state,
                "version": self.version, "warnings": [warning_name(w) for w in self.warnings]}


def warning_name(message: str) -> str:
    """`already_certified` of `already_certified: ann@... holds a certificate ...`: every
    warning the rules in states/ give begins with its name."""
    return message.split(":", 1)[0]
