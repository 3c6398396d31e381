"""`ast-engine daemon`: the daemon's command, which run_engine.py parses and dispatches here."""
from __future__ import annotations

import sys
from dataclasses import dataclass, field

from workflows.engine.context import Context, outbox


@dataclass(frozen=True)
class DaemonArgs:
    tick: float | None          # --tick SECONDS; None: [daemon] tick_seconds
    early_signals: list[int] = field(default_factory=list)   # SIGTERM/SIGINT during start-up


def daemon(ctx: Context, args: DaemonArgs) -> int:
    from workflows.daemon import logs
    from workflows.daemon.loop import Daemon
    from workflows.daemon.metrics import Metrics
    from workflows.engine import Engine
    # No schema check here: the database may be away at start-up, which the daemon waits out.
    engine = Engine(ctx.db, ctx.config, clock=ctx.clock, recorder=ctx.real)
    settings = ctx.config.daemon
    runner = Daemon(engine, outbox(ctx), ctx.clock,
                    tick_seconds=args.tick if args.tick is not None else settings.tick_seconds,
                    log=logs.daemon_logger(sys.stdout), metrics=Metrics(),
                    metrics_at=(settings.metrics_host, settings.metrics_port))
    runner.early_signals = args.early_signals
    return runner.run()
