"""One case as `show --json` gives it, for every adapter alike: the CLI's `show`, the console's
case page and the API's `GET /api/v1/cases/CASE` and the answer to its POSTs (shared/CLI.md).
Each entry says how late it was keyed in (workflows/read/lateness.py); the case as it stands
now also lists the triggers a person may fire next."""
from __future__ import annotations

from functools import cache
from typing import Any

from states.next_steps import NEXT
from storage import queries
from storage.db import Database
from workflows.core.config import Config
from workflows.read import lateness


def detail(db: Database, config: Config, case_id: str, as_of: str | None = None,
           version: int | None = None) -> dict[str, Any] | None:
    """The case; with `as_of` as it stood then, with `version` just after that entry."""
    found = queries.case_detail(db, case_id, as_of, version)
    if found is None:
        return None
    lateness.annotate(found["log"], cache(lambda: config.calendars().national()))
    if not as_of:
        found["next"] = NEXT.get(found["kind"], {}).get(found["state"], [])
    return found
