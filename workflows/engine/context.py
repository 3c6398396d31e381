"""What a command runs with, whichever adapter parsed it (the command line, the daemon's and
the console's commands): the database URL, the configuration, the business clock and the real
one, each opened or built when first asked for, so that a light command loads little."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable

from storage.db import Database, default_url
from storage.migrations import require_current
from workflows.core.clock import Clock, FixedClock
from workflows.core.times import TimeFormatError, parse_instant

if TYPE_CHECKING:   # both take a while to load: imported when first asked for
    from workflows.core.config import Config
    from workflows.engine import Engine
    from workflows.engine.notice_queue import Outbox


@dataclass
class Context:
    url: str
    _config: Config | None   # None: the built-in defaults, made when first asked for
    clock: Clock     # the business clock: --now, else the real one
    real: Clock      # the real clock: recorded times, delivery stamps, exports
    create: bool = False   # whether a missing SQLite file may be made (only `init`)
    light_reads: bool = True   # storage/db.py; off for the long-running daemon
    _db: Database | None = None

    @classmethod
    def build(cls, url: str | None, config: Config | None, now: str | None, real: Clock,
              create: bool = False, light_reads: bool = True) -> "Context":
        clock = FixedClock(option_time("--now", now)) if now else real
        return cls(url or default_url(), config, clock, real, create, light_reads)

    @property
    def configured(self) -> bool:
        """Whether settings were given (a file or AST_ENGINE_ variables) and read."""
        return self._config is not None

    @property
    def config(self) -> Config:
        if self._config is None:
            from workflows.core.config import Config
            self._config = Config()
        return self._config

    @property
    def db(self) -> Database:
        """Opened on first use: a command that needs no database (diagram) opens none."""
        if self._db is None:
            self._db = Database(self.url, create=self.create, light_reads=self.light_reads)
        return self._db

    def engine(self) -> Engine:
        from workflows.engine import Engine
        require_current(self.db)
        return Engine(self.db, self.config, clock=self.clock, recorder=self.real)


def option_time(option: str, text: str) -> datetime:
    """A time given on the command line; a refusal names the option it came with."""
    try:
        return parse_instant(text)
    except TimeFormatError as err:
        raise TimeFormatError(f"{option}: {err}") from None


def outbox(ctx: Context, say: Callable[..., Any] | None = None) -> Outbox:
    from notifications.delivery import channel_from
    from workflows.engine.notice_queue import Outbox, quiet
    delivery = ctx.config.delivery
    return Outbox(ctx.db, channel_from(delivery), delivery.sender, delivery.max_attempts,
                  ctx.real, say or quiet)


