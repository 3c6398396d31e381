"""Where "now" comes from. The engine reads two clocks: the business clock (what time it is in
the process: `--now` in a simulation or a test) and the recorder (the real time a row was
written, which `--now` never changes). This module is the one place that asks the system."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


@dataclass
class FixedClock:
    """A clock that stands still until told to move: for `--now`, the demo and the tests."""
    at: datetime

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> datetime:
        self.at = self.at + timedelta(**delta)
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at


# The real clock, for recorded times and delivery stamps: entry points inject it (an Engine's
# `recorder`, the outbox's clock); nothing else reads the system time.
REAL: Clock = SystemClock()
