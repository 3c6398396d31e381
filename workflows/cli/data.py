"""The commands about personal data (UK GDPR): `export-person` and `retention`. Which cases a
retention period has run out on, and their erasure, are the engine's
(workflows/engine/retention.py); these parse, call and print."""
from __future__ import annotations

import json
import sys
from typing import Any

from storage.migrations import require_current
from workflows.cli import present
from workflows.cli.args import ExportPersonArgs, RetentionArgs
from workflows.cli.output import emit, write_file
from workflows.core.errors import RefusedError
from workflows.core.times import utc_iso
from workflows.engine.context import Context


def export_person(ctx: Context, args: ExportPersonArgs) -> int:
    from workflows.read.person import export_person as export
    require_current(ctx.db)
    try:
        document = export(ctx.db, args.email, utc_iso(ctx.real.now()))
    except ValueError as err:
        raise RefusedError(f"export-person: {err}") from None
    text = json.dumps(document, indent=2, ensure_ascii=False)
    if args.output:
        write_file(args.output, text + "\n")
        print(f"wrote {len(document['cases'])} case(s), {len(document['log'])} log entries, "
              f"{len(document['notices'])} notice(s) about {args.email} to {args.output}",
              file=sys.stderr)
    else:
        print(text)
    return 0


def retention(ctx: Context, args: RetentionArgs) -> int:
    from workflows.engine.retention import Retention
    require_current(ctx.db)
    policy = Retention(ctx.config.policy.retention_years, ctx.clock.now())
    if policy.keeps_everything:
        message = ("retention_years is 0 (the default): personal data is kept; set [policy] "
                   "retention_years to let cases be erased that many years after they close")
        if args.json:
            emit({"retention_years": 0, "cases": []})
        else:
            print(message)
        if args.apply:
            raise RefusedError("retention --apply: " + message)
        return 0
    cutoff = utc_iso(policy.cutoff)
    expired = policy.expired(ctx.db)
    rows: list[dict[str, Any]] = [{"case": c.case, "kind": c.kind, "state": c.state,
                                   "last_event": c.last_event} for c in expired]
    if args.apply:
        if not args.actor:
            raise RefusedError("retention --apply: name who erases with --actor "
                               "la_coordinator:ID (or operator:ID --for la_coordinator:ID)")
        from workflows.engine import Actor
        actor = Actor.parse(args.actor)
        for_ = Actor.parse(args.for_) if args.for_ else None
        for row, erasure in zip(rows, policy.erase(ctx.engine(), expired, actor, for_)):
            row["erased"] = erasure.refused is None
            if erasure.refused is not None:   # e.g. a notice still waiting: the others go on
                row["refused"] = erasure.refused
    if args.json:
        emit({"retention_years": policy.years, "cutoff": cutoff, "cases": rows})
        return 0
    if not rows:
        print(f"no case closed before {present.day(cutoff[:10])} keeps personal data")
        return 0
    for row in rows:
        done = "" if not args.apply else ("  erased" if row["erased"]
                                          else f"  NOT erased: {row['refused']}")
        print(f"{row['case']:<16} {row['kind']:<12} {row['state']:<16} last event "
              f"{present.london(row['last_event'])}{done}")
    print(f"{len(rows)} case(s) closed before {present.day(cutoff[:10])} "
          f"(retention {policy.years} year(s))"
          + ("" if args.apply else "; --apply --actor la_coordinator:ID erases them"))
    return 0
