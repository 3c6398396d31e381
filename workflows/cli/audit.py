"""The commands for auditors: `audit verify`, `audit checkpoint`, `audit export`, and `replay`
(with `--verify`, and the what-if `--config OTHER.toml`)."""
from __future__ import annotations

import json
import os
import sys
from typing import IO, Any

from storage import queries
from storage.migrations import require_current
from workflows.cli import present
from workflows.cli.args import AuditCheckpointArgs, AuditExportArgs, AuditVerifyArgs, ReplayArgs
from workflows.cli.output import emit, known_case, write_file
from workflows.core.errors import RefusedError
from workflows.core.times import utc_iso
from workflows.engine.context import Context


def audit_verify(ctx: Context, args: AuditVerifyArgs) -> int:
    require_current(ctx.db)
    checkpoint = read_checkpoint(args.checkpoint) if args.checkpoint else None
    verdict = queries.verify_log(ctx.db, checkpoint)
    bad = verdict.first_break
    if args.json:
        emit({"ok": verdict.ok, "entries": verdict.entries, "cases": verdict.cases,
              "notices": verdict.notices, "head": verdict.head,
              "first_bad": None if bad is None else {
                  "global_seq": bad.global_seq, "case": bad.case_id, "seq": bad.seq,
                  "problem": bad.problem}})
    elif verdict.ok:
        print(f"transition log verified: {verdict.entries} entries in {verdict.cases} cases "
              f"and {verdict.notices} notices, both hash chains intact; head {verdict.head}")
    else:
        print(f"transition log BROKEN at {verdict.first_break}; {verdict.entries} entries "
              "before it verified")
    return 0 if verdict.ok else 3


def read_checkpoint(path: str) -> tuple[int, str]:
    from workflows.read.checkpoint import MAX_BYTES, NotACheckpointError
    from workflows.read.checkpoint import read_checkpoint as parse
    try:
        with open(path, "rb") as source:
            content = source.read(MAX_BYTES + 1)
    except OSError as err:
        raise RefusedError(f"--checkpoint {path}: cannot read it: {err.strerror}") from None
    try:
        return parse(content)
    except NotACheckpointError as err:
        raise RefusedError(f"--checkpoint {path}: not a checkpoint written by `audit checkpoint "
                           f"--write`: {err}") from None


def audit_checkpoint(ctx: Context, args: AuditCheckpointArgs) -> int:
    require_current(ctx.db)
    count, head = queries.chain_head(ctx.db)
    checkpoint = {"count": count, "hash": head, "time": utc_iso(ctx.real.now()),
                  "database": ctx.db.url.split("@")[-1]}
    if args.write:
        write_file(args.write, json.dumps(checkpoint, indent=2) + "\n", "--write")
    if args.json:
        emit(checkpoint)
    else:
        print(f"log head: entry {count}, hash {head}, at {checkpoint['time']}"
              + (f"; written to {args.write}" if args.write else ""))
    return 0


def audit_export(ctx: Context, args: AuditExportArgs) -> int:
    from workflows.read import auditlog
    require_current(ctx.db)
    if args.case is not None:
        known_case(ctx.db, args.case)   # an unknown case is refused (exit 2), not an empty export
    chosen = auditlog.ExportFilter(args.case, args.since, args.until, args.actor)
    calendar = ctx.config.calendars().national()
    if args.format == "csv":
        import csv
        # A byte-order mark tells a spreadsheet the file is UTF-8 (Excel reads names such as
        # "Zoë" wrongly without one). Written only into a file: a script reading the pipe gets
        # plain UTF-8, its first column named `case`.
        if _is_file(sys.stdout):
            sys.stdout.write("\ufeff")
        writer = csv.writer(sys.stdout)
        for line in auditlog.spreadsheet(ctx.db, chosen, calendar, utc_iso(ctx.clock.now())):
            writer.writerow(line)
        return 0
    rows = auditlog.Rows(ctx.db, calendar)
    for entry in auditlog.entries(ctx.db, chosen):
        print(json.dumps(rows.row(entry), ensure_ascii=False))
    return 0


def _is_file(stream: IO[Any]) -> bool:
    import stat
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):
        return False


def replay(ctx: Context, args: ReplayArgs) -> int:
    from workflows.engine.replay import CaseReplay, case_ids, replay_many
    require_current(ctx.db)
    if args.what_if:
        return what_if(ctx, args, args.what_if)
    if bool(args.case) == bool(args.all):
        raise RefusedError("replay: name one CASE or give --all")
    if args.case:
        known_case(ctx.db, args.case)
    ids = [args.case] if args.case else case_ids(ctx.db)

    def progress(done: int, total: int, result: CaseReplay) -> None:
        if args.all and not args.json and (done % 100 == 0 or done == total):
            print(f"replayed {done} of {total} cases", file=sys.stderr, flush=True)

    results = replay_many(ctx.db, ctx.config, ids, args.verify, progress)
    bad = [r for r in results if not r.ok]
    if args.json:
        emit([r.as_json() for r in results])
    else:
        for r in results:
            if not args.all or not r.ok:
                verdict = ("matches what is stored" if r.ok else "DIFFERS") if args.verify \
                    else "rebuilt"
                print(f"{r.case} ({r.kind}): {r.entries} entries -> {r.state} v{r.version}: "
                      f"{verdict}")
                for d in r.differences:
                    print(f"  {d}")
        entries = sum(r.entries for r in results)
        if args.all or len(results) > 1:
            print(f"{len(results)} case(s), {entries} log entries replayed; "
                  + (f"{len(bad)} differ" if args.verify else "not compared (add --verify)"))
    return 3 if args.verify and bad else 0


def what_if(ctx: Context, args: ReplayArgs, other: str) -> int:
    """`replay CASE --config OTHER.toml`: the comparison is workflows/read/what_if.py's."""
    from workflows.core.config import load
    from workflows.read.what_if import compare
    if not args.case or args.all:
        raise RefusedError("replay --config: name one CASE to compare")
    known_case(ctx.db, args.case)
    compared = compare(ctx.db, args.case, load(other))
    if args.json:
        emit({"case": args.case, "config": other, "state": compared.state,
              "timers": compared.timers, "problems": compared.problems})
        return 0
    print(f"{args.case} under {other}, against what is stored (each deadline with the "
          "calendar it counted on):")
    for r in compared.timers:
        change = "the same" if not r["changes"] else f"would be {present.day(r['what_if_due'])}"
        print(f"  {r['timer']:<22} stored due {present.day(r['stored_due'])} "
              f"({r['stored_calendar']})")
        print(f"  {'':<22} {change} ({r['what_if_calendar']})")
    for problem in compared.problems:
        print(f"  note: {problem}")
    print("nothing was written")
    return 0
