"""The commands about cases themselves: `init`, `open`, `fire`, `show`, `list` and `example`."""
from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING

from storage import queries
from storage.migrations import LATEST, migrate, require_current
from workflows.cli import present
from workflows.cli.args import Acting, ExampleArgs, FireArgs, InitArgs, ListArgs, OpenArgs, ShowArgs
from workflows.cli.output import emit, read_data
from workflows.core.errors import RefusedError, UnknownCaseError
from workflows.core.times import utc_iso
from workflows.engine.context import Context, option_time

if TYPE_CHECKING:   # takes a while to load: imported by the commands that use it
    from workflows.engine import Actor


def acting(args: Acting) -> tuple[Actor, Actor | None, datetime | None]:
    from workflows.engine import Actor
    from workflows.engine.actors import refuse_roles_that_never_fire
    actor = Actor.parse(args.actor)
    for_ = Actor.parse(args.for_) if args.for_ else None
    refuse_roles_that_never_fire(actor)
    at = option_time("--at", args.at) if args.at else None
    return actor, for_, at


def init(ctx: Context, args: InitArgs) -> int:
    applied = migrate(ctx.db, utc_iso(ctx.real.now()))
    if applied:
        for version, description in applied:
            print(f"applied migration {version}: {description}")
        print(f"schema of {ctx.db.url} is at version {LATEST}")
    else:
        print(f"schema of {ctx.db.url} is already at version {LATEST}; nothing to do")
    return 0


def open_case(ctx: Context, args: OpenArgs) -> int:
    actor, for_, at = acting(args)
    data = read_data(args.data, ctx.config.limits)
    outcome = ctx.engine().open(args.kind, actor, data, at, for_)
    if args.json:
        emit(outcome.as_json())
    else:
        print(outcome.case)
        print(f"opened {outcome.kind} {outcome.case}: {outcome.state}", file=sys.stderr)
    present.warnings(outcome.warnings)   # what each says, for a person, --json or not
    return 0


def fire(ctx: Context, args: FireArgs) -> int:
    actor, for_, at = acting(args)
    data = read_data(args.data, ctx.config.limits)
    outcome = ctx.engine().fire(args.case, args.trigger, actor, data, at, for_,
                                expected_version=args.if_version)
    if args.json:
        emit(outcome.as_json())
    else:
        print(present.outcome_line(outcome))
        for linked in outcome.linked:
            print("  and " + present.outcome_line(linked))
    present.warnings(outcome.warnings)
    return 0


def show(ctx: Context, args: ShowArgs) -> int:
    require_current(ctx.db)
    as_of = utc_iso(option_time("--as-of", args.as_of)) if args.as_of else None
    from workflows.read.case_view import detail as case_detail
    detail = case_detail(ctx.db, ctx.config, args.case, as_of)
    if detail is None:
        raise UnknownCaseError(f"no case {args.case!r}", case=args.case)
    if args.json:
        emit(detail)
    else:
        print(present.case(detail, as_of or utc_iso(ctx.clock.now())))
    return 0


def list_cases(ctx: Context, args: ListArgs) -> int:
    if args.state is not None:
        _known_state(args.state, args.kind)
    require_current(ctx.db)
    overdue = utc_iso(ctx.clock.now()) if args.overdue else None
    rows = queries.list_cases(ctx.db, args.kind, args.state, overdue, args.search)
    if args.json:
        emit(rows)
    else:
        present.case_table(rows)
    return 0


def _known_state(state: str, kind: str | None) -> None:
    """A misspelt `--state` is refused, as a misspelt `--kind` is: an empty list would read as
    "no case is in that state"."""
    from states import PROCESSES
    kinds = [kind] if kind else list(PROCESSES)
    known = {s.value for k in kinds for s in PROCESSES[k].states}
    if state not in known:
        whose = f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}" if kind else "any kind of case"
        raise RefusedError(f"--state: no state {state!r} for {whose}; states: "
                           f"{', '.join(sorted(known))}")


def example(args: ExampleArgs) -> int:
    """Needs neither a database nor a configuration, so it takes no Context."""
    from states.examples import UnknownExampleError, example as example_of
    try:
        data, what = example_of(args.name)
    except UnknownExampleError as err:
        raise RefusedError(str(err)) from None
    print(f"# {what}", file=sys.stderr)   # the JSON alone goes to standard output, for a file
    emit(data)
    return 0
