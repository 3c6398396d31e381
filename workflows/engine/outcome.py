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
        """The JSON shape of `open` and `fire` (shared/CLI.md)."""
        return {"case": self.case, "kind": self.kind, "state": self.state,
                "version": self.version, "warnings": self.warnings}
