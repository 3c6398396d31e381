"""A request the API may send twice: the same `Idempotency-Key` from the same sender answers
what the first did and writes nothing more (shared/CLI.md, "HTTP API").

The key is looked up and stored inside the unit of work of the entry it makes, after the global
chain head is taken: two retries at once are ordered by that lock (PostgreSQL's row lock,
SQLite's one writer), so the second sees the first's key or neither commits. A key never
outlives a rolled-back entry, and an entry never lacks the key that made it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.rows import IdempotentRequest
from workflows.core.errors import IdempotencyKeyReusedError
from workflows.core.times import utc_iso
from workflows.engine.outcome import Outcome
from workflows.engine.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Idempotency:
    principal: str     # ROLE:NAME of the sender: keys are the sender's own
    key: str
    fingerprint: str   # sha256 of what was asked (method, path, body)


def earlier(work: UnitOfWork, asked: Idempotency) -> Outcome | None:
    """What the first request under this key did, or None if there was none; a refusal if the
    key came with another request."""
    row = work.store.idempotent_request(asked.principal, asked.key)
    if row is None:
        return None
    if row.fingerprint != asked.fingerprint:
        raise IdempotencyKeyReusedError(
            f"Idempotency-Key {asked.key!r} was sent before with another request (it made "
            f"version {row.version} of case {row.case_id}): send a new key for a new request",
            case=row.case_id, trigger=row.trigger)
    return Outcome(case=row.case_id, kind=row.kind, state=row.state, version=row.version,
                   trigger=row.trigger, effective_at=datetime.fromisoformat(row.effective_at),
                   repeated=True)


def remember(work: UnitOfWork, asked: Idempotency, outcome: Outcome) -> None:
    work.store.remember_request(IdempotentRequest(
        principal=asked.principal, key=asked.key, fingerprint=asked.fingerprint,
        case_id=outcome.case, kind=outcome.kind, state=outcome.state, version=outcome.version,
        trigger=outcome.trigger, effective_at=utc_iso(outcome.effective_at),
        created_at=work.recorded_at))
