"""Acting on a case through the front door: what a form or an API request asks, turned into the
very call the CLI's `open` and `fire` make (workflows/cli/cases.py), under the account's own
party. Nothing about the case is decided here: who may act, on which case, with what data and
when, is the engine's to say, with the refusals the CLI gives (shared/CLI.md, "Acting through
the console and the HTTP API").

An account or token of role ROLE named NAME acts as `ROLE:NAME`; an operator names whom it
keys a form in for (`on_behalf_of`, as `--for`). `effective_at` is a London wall-clock time, as
`--at` takes it. Writes from this process are made one at a time: SQLite has one writer, and a
queue here answers sooner than SQLite's busy wait."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from workflows.core.errors import RefusedError
from workflows.core.times import TimeFormatError, parse_instant
from workflows.engine import Actor, Engine, Idempotency, Outcome
from workflows.read.tasks import Viewer


@dataclass(frozen=True)
class Asked:
    """One trigger (or an opening) as a form or a request body gives it."""
    data: Mapping[str, Any]
    effective_at: str | None = None       # London wall-clock, as `--at`; None: now
    on_behalf_of: str | None = None       # ROLE:ID, for an operator
    expected_version: int | None = None


def actor_of(viewer: Viewer) -> Actor:
    """The account's party; whether its role may fire the trigger (an auditor's never may) is
    the engine's to say, naming the roles that may."""
    return Actor(viewer.role, viewer.name)


def effective_time(text: str | None) -> datetime | None:
    if text is None or not text.strip():
        return None
    try:
        return parse_instant(text.strip())
    except TimeFormatError as err:
        raise RefusedError(f"effective_at: {err}") from None


def acting_for(text: str | None) -> Actor | None:
    """Whom an operator keys the form in for; whether this account may name anyone is the
    engine's to say (only an operator may)."""
    if text is None or not text.strip():
        return None
    try:
        return Actor.parse(text.strip())
    except RefusedError as err:
        raise RefusedError(f"on_behalf_of: {err}") from None


class FrontDoor:
    """The engine as the console and the API call it: one engine, one write at a time."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._writing = threading.Lock()

    def open(self, viewer: Viewer, kind: str, asked: Asked,
             idempotency: Idempotency | None = None) -> Outcome:
        actor, at, for_ = (actor_of(viewer), effective_time(asked.effective_at),
                           acting_for(asked.on_behalf_of))
        with self._writing:
            return self.engine.open(kind, actor, dict(asked.data), at, for_,
                                    idempotency=idempotency)

    def fire(self, viewer: Viewer, case_id: str, trigger: str, asked: Asked,
             idempotency: Idempotency | None = None) -> Outcome:
        actor, at, for_ = (actor_of(viewer), effective_time(asked.effective_at),
                           acting_for(asked.on_behalf_of))
        with self._writing:
            return self.engine.fire(case_id, trigger, actor, dict(asked.data), at, for_,
                                    expected_version=asked.expected_version,
                                    idempotency=idempotency)
