"""The engine's refusals. Each says what was refused and why, in words a person can act on,
and carries the case, trigger and state it concerns. A refusal writes nothing (exit code 2)."""
from __future__ import annotations


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""


class RefusedError(EngineError):
    def __init__(self, message: str, *, case: str | None = None, trigger: str | None = None,
                 state: str | None = None, field: str | None = None):
        super().__init__(message)
        self.case, self.trigger, self.state, self.field = case, trigger, state, field


class UnknownCaseError(RefusedError):
    pass


class UnknownTriggerError(RefusedError):
    pass


class NotAllowedInStateError(RefusedError):
    pass


class RoleNotAllowedError(RefusedError):
    pass


class InvalidDataError(RefusedError):
    pass


class GuardFailedError(RefusedError):
    pass


class EffectiveTimeError(RefusedError):
    pass


class LaterEntryError(EffectiveTimeError):
    """An event keyed in late that would pass over another person's entry, or that a standing
    timer entry leaves no longer allowed: the log as it stands refuses it (the API's 409)."""


class ConcurrentChangeError(RefusedError):
    pass


class IdempotencyKeyReusedError(RefusedError):
    """An `Idempotency-Key` sent again with another request: what the first one did stands."""
