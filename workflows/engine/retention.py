"""Retention (DOMAIN.md, "Personal data"): which cases have kept personal data longer than local
policy allows, and their erasure.

A case may be erased once it is closed (in a final state of its process) and untouched for
[policy] retention_years; 0, the default, keeps personal data and lets no case be erased. Each
erasure is one logged `erase_personal_data` entry, as `fire CASE erase_personal_data` makes it:
names, addresses, reasons and notice texts read `erased`; hashes, states and times stay.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from states import PROCESSES
from storage import queries
from storage.db import Database
from workflows.core.errors import RefusedError
from workflows.core.times import utc_iso
from workflows.engine.actors import Actor

if TYPE_CHECKING:   # the engine's package imports what this module imports
    from workflows.engine import Engine


@dataclass(frozen=True)
class Expired:
    """A closed case whose retention period has run out."""
    case: str
    kind: str
    state: str
    last_event: str   # its latest event's effective time, UTC ISO


@dataclass(frozen=True)
class Erasure:
    case: Expired
    refused: str | None   # why the engine refused to erase it (a notice still waiting); None: erased


@dataclass(frozen=True)
class Retention:
    years: int        # [policy] retention_years
    now: datetime     # the business clock

    @property
    def keeps_everything(self) -> bool:
        """0 years: personal data is kept, and no case is ever listed or erased."""
        return self.years == 0

    @property
    def cutoff(self) -> datetime:
        """`years` before now: a closed case untouched since before it has run out. From 29
        February it counts back from the 28th, which every year has."""
        now = self.now - timedelta(days=1) if (self.now.month, self.now.day) == (2, 29) \
            else self.now
        return now.replace(year=now.year - self.years)

    def expired(self, db: Database) -> list[Expired]:
        """The cases that may be erased now, oldest event first: closed, untouched since
        before the cut-off, and not erased yet."""
        if self.keeps_everything:
            return []
        finals = {kind: sorted(s.value for s in p.final) for kind, p in PROCESSES.items()}
        return [Expired(c.id, c.kind, c.state, c.last_effective_at)
                for c in queries.closed_before(db, finals, utc_iso(self.cutoff))]

    def reason(self, case: Expired) -> str:
        """The `reason` its erase_personal_data entry records."""
        return (f"retention period of {self.years} year(s) ended (closed "
                f"{case.last_event[:10]})")

    def erase(self, engine: Engine, cases: list[Expired], actor: Actor,
              on_behalf_of: Actor | None = None) -> list[Erasure]:
        """Erase each case's personal data, each in its own transaction: one the engine
        refuses (a notice still waiting to go) is said and the others go on."""
        done = []
        for case in cases:
            try:
                engine.fire(case.case, "erase_personal_data", actor,
                            {"reason": self.reason(case)}, on_behalf_of=on_behalf_of)
                done.append(Erasure(case, None))
            except RefusedError as err:
                done.append(Erasure(case, str(err)))
        return done
