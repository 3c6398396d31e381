"""The commands about deadlines: `tick` (the due timers fired once, through the engine's one
timer loop), `recalendar` and `explain`."""
from __future__ import annotations

import sys

from storage import queries
from storage.migrations import require_current
from storage.rows import TimerRow
from workflows.cli import present
from workflows.cli.args import ExplainArgs, RecalendarArgs, TickArgs
from workflows.cli.output import emit, known_case
from workflows.core.errors import RefusedError
from workflows.core.times import utc_iso
from workflows.engine.context import Context
from workflows.engine.outcome import Outcome


def tick(ctx: Context, args: TickArgs) -> int:
    engine = ctx.engine()

    def progress(done: int, total: int, outcome: Outcome | None) -> None:
        if not args.json and outcome is not None:
            print(f"[{done}/{total}] {present.outcome_line(outcome)}")

    failures: list[str] = []

    def failed(timer: TimerRow, err: Exception) -> None:
        # One timer that cannot fire stays pending (it is never lost); the others go on.
        failures.append(f"timer {timer.name} on {timer.case_id} could not fire and stays "
                        f"pending: {type(err).__name__}: {err}")
        print(f"error: {failures[-1]}", file=sys.stderr)

    fired = engine.tick(progress, on_error=failed)
    if args.json:
        emit([o.as_json() | {"trigger": o.trigger, "effective_at": utc_iso(o.effective_at)}
              for o in fired])
    else:
        print(f"{len(fired)} timer(s) fired up to {utc_iso(ctx.clock.now())}"
              + (f"; {len(failures)} could not fire" if failures else ""))
    return 1 if failures else 0


def recalendar(ctx: Context, args: RecalendarArgs) -> int:
    require_current(ctx.db)
    engine = ctx.engine()
    moved = engine.recalendar_preview()
    if args.apply:
        if not args.actor:
            raise RefusedError("recalendar --apply: name the operator with --actor operator:ID")
        from workflows.engine import Actor
        actor = Actor.parse(args.actor)
        # One transaction: every move is made, or (on any failure) none.
        outcomes = engine.recompute_deadlines([m["timer_id"] for m in moved], actor)
        for m, outcome in zip(moved, outcomes):
            m["applied"] = outcome is not None
            m["seq"] = outcome.version if outcome else None
    if args.json:
        emit(moved)
        return 0
    calendar = ctx.config.working_calendar().describe()
    if not moved:
        print(f"every pending due date already agrees with the calendar in force ({calendar})")
        return 0
    for m in moved:
        done = "moved" if m.get("applied") else "would move"
        print(f"{m['case']} {m['timer']}: due {m['old_due']} {done} to {m['new_due']}")
    print(f"{len(moved)} pending timer(s) differ under {calendar}"
          + ("; each move is logged as deadline_recomputed" if args.apply
             else "; run with --apply --actor operator:ID to move them"))
    return 0


def explain(ctx: Context, args: ExplainArgs) -> int:
    from workflows.read import explain as explaining
    require_current(ctx.db)
    known_case(ctx.db, args.case)
    timers = queries.case_timers(ctx.db, args.case)
    if args.timer:
        timers = [t for t in timers if t.name == args.timer]
        if not timers:
            raise RefusedError(f"case {args.case} has no timer {args.timer!r}")
    explained = [explaining.explain_timer(t) for t in timers]
    if args.json:
        emit([{"timer": e.timer, "status": e.status, "rule": e.rule,
               "counted_from": e.counted_from.isoformat(), "due": e.due.isoformat(),
               "fires_at": utc_iso(e.fires_at), "steps": e.lines} for e in explained])
    else:
        print(explaining.render(args.case, explained) if explained
              else f"case {args.case} has no timers")
    return 0
