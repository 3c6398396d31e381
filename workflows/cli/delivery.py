"""The commands about notices and the daemon's work (the transactional outbox): `deliver`,
`notices`, `notices retry` and `status`."""
from __future__ import annotations

import os

from storage import queries
from storage.migrations import require_current
from workflows.cli import present
from workflows.cli.args import DeliverArgs, NoticesArgs, NoticesRetryArgs, StatusArgs
from workflows.cli.output import emit
from workflows.core.errors import RefusedError
from workflows.core.times import utc_iso
from workflows.engine.context import Context, outbox


def deliver(ctx: Context, args: DeliverArgs) -> int:
    """Exit 3 when any notice could not be delivered (each named on standard output): it
    stays pending (to be tried again) or failed, never lost."""
    require_current(ctx.db)
    from storage import outbox as notices_table
    from workflows.engine.deliverer import OneDeliverer
    deliverer = OneDeliverer(ctx.db)
    deliverer.take(f"pid {os.getpid()}, a `deliver` command",
                   "it delivers pending notices within seconds, so there is nothing for "
                   "`deliver` to do (`notices --status pending` shows what is waiting)")
    try:
        deliverer.free_dead_leases()   # on SQLite no daemon runs: a lease left is a dead one's
        said = None if args.json else (lambda line, level=0: print(line))
        report = outbox(ctx, said).deliver_all()
    finally:
        deliverer.release()
    # Notices that failed before and wait out their back-off were not tried (run from cron
    # every minute, `deliver` would spend their attempts in minutes): they are named, and
    # still undelivered, so the exit is 3 (`notices retry --all` makes them due now).
    tried = {i for i, _ in report.retrying}
    still = [(i, at) for i, at in notices_table.waiting(ctx.db, utc_iso(ctx.real.now()))
             if i not in tried]
    if args.json:
        emit({"sent": report.sent, "retrying": [i for i, _ in report.retrying],
              "failed": [i for i, _ in report.failed], "waiting": [i for i, _ in still]})
    else:
        for notice_id, at in still:
            print(f"notice {notice_id} waits to be tried again at {present.london(at)} "
                  "(notices retry ID tries it now)")
        print(f"{len(report.sent)} notice(s) sent, {len(report.retrying)} to retry later, "
              f"{len(report.failed)} failed" + (f", {len(still)} waiting" if still else ""))
    return 3 if report.retrying or report.failed or still else 0


def notices(ctx: Context, args: NoticesArgs) -> int:
    require_current(ctx.db)
    rows = queries.notice_list(ctx.db, args.case, args.status)
    if args.json:
        emit(rows)
    else:
        print(present.notice_table(rows))
    return 0


def notices_retry(ctx: Context, args: NoticesRetryArgs) -> int:
    from storage import outbox as notices_table
    require_current(ctx.db)
    if bool(args.id) == bool(args.all):
        raise RefusedError("notices retry: name one notice ID or give --all")
    done = notices_table.retry(ctx.db, None if args.all else args.id)
    if args.id and not done:
        raise RefusedError(f"no notice {args.id!r}")
    if args.id and done[0][1] == "sent":
        raise RefusedError(f"notice {args.id} was already sent; nothing to retry")
    for notice_id, before in done:
        print(f"notice {notice_id} ({before}) is queued again for delivery")
    if args.all:
        print(f"{len(done)} notice(s) queued again")
    return 0


def status(ctx: Context, args: StatusArgs) -> int:
    """With --check: one line and exit code in the monitoring-plugin convention."""
    from storage.daemons import HEARTBEAT_LIMIT_SECONDS
    from workflows.core.environment import DEFAULT_TICK_SECONDS
    require_current(ctx.db)
    # Unless settings were given, the default tick is known without loading the configuration.
    tick = ctx.config.daemon.tick_seconds if ctx.configured else DEFAULT_TICK_SECONDS
    report = queries.status(ctx.db, utc_iso(ctx.clock.now()), utc_iso(ctx.real.now()),
                            tick, HEARTBEAT_LIMIT_SECONDS)
    if args.check:
        code, line = present.check(report)
        print(line)
        return code
    if args.json:
        emit(report)
    else:
        print(present.status(report))
    return 0
