"""The commands of run_engine.py: each takes the parsed arguments, calls the engine or a query,
and prints for a person or, with --json, for a script (shared/CLI.md)."""
from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storage import queries
from storage.migrations import LATEST, migrate, require_current
from workflows.cli import present
from workflows.core.errors import RefusedError, UnknownCaseError
from workflows.core.times import utc_iso

from workflows.engine.context import Context, option_time, outbox

if TYPE_CHECKING:   # takes a while to load: imported by the commands that use it
    from workflows.engine import Actor


def emit(value) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def write_file(name: str, content: str | bytes, option: str = "--output") -> None:
    """Write an output file whole or not at all, readable by its owner only (an export holds
    personal data). A missing folder or a file that cannot be written is refused in one line."""
    import tempfile
    target = Path(name)
    if target.is_dir():
        raise RefusedError(f"{option} {name}: is a folder; name a file")
    if not target.parent.is_dir():
        raise RefusedError(f"{option} {name}: no folder {str(target.parent)!r}; create it first")
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        handle, part = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                        suffix=".part")   # created 0600
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(part, target)
        except BaseException:
            os.unlink(part)
            raise
    except OSError as err:
        raise RefusedError(f"{option} {name}: cannot write it: {err.strerror}") from None


def read_data(text: str | None, limits: Any = None) -> dict:
    """`--data`: JSON text, or @FILE. At most [limits] data_bytes of it are read (a file that
    never ends, /dev/zero, is refused, not read), and its nesting is measured before it is
    parsed (the parser recurses)."""
    from workflows.core import text as texts
    from workflows.core.config import Limits
    limits = limits or Limits()
    if text is None:
        return {}
    if text.startswith("@"):
        name = text[1:]
        try:
            with open(name, "rb") as source:
                raw = source.read(limits.data_bytes + 1)
        except OSError as err:
            raise RefusedError(f"--data: cannot read {name}: {err.strerror}") from None
        if len(raw) > limits.data_bytes:
            raise RefusedError(f"--data: {name} is larger than {limits.data_bytes:,} bytes "
                               "(configuration [limits] data_bytes)")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise RefusedError(f"--data: {name} is not UTF-8 text (byte {err.start})") from None
    elif len(text.encode("utf-8", "surrogatepass")) > limits.data_bytes:
        raise RefusedError(f"--data: larger than {limits.data_bytes:,} bytes (configuration "
                           "[limits] data_bytes)")
    deep = texts.text_depth(text)
    if deep > limits.data_depth:
        raise RefusedError(f"--data: nested {deep} deep; at most {limits.data_depth} "
                           "(configuration [limits] data_depth)")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise RefusedError(f"--data: not JSON ({err.msg} at line {err.lineno} column "
                           f"{err.colno})") from None
    except RecursionError:   # text_depth counted what the parser reads; kept as a last guard
        raise RefusedError("--data: nested too deep") from None
    if not isinstance(value, dict):
        raise RefusedError("--data: give a JSON object, e.g. '{\"reasons\": \"...\"}'")
    return value


def acting(args) -> tuple[Actor, Actor | None, datetime | None]:
    from workflows.engine import Actor
    actor = Actor.parse(args.actor)
    for_ = Actor.parse(args.for_) if args.for_ else None
    if actor.role in ("system", "auditor"):
        raise RefusedError(f"--actor {args.actor}: the {actor.role} role cannot fire triggers "
                           "from the command line")
    at = option_time("--at", args.at) if args.at else None
    return actor, for_, at


def init(ctx: Context, args) -> int:
    applied = migrate(ctx.db, utc_iso(ctx.real.now()))
    if applied:
        for version, description in applied:
            print(f"applied migration {version}: {description}")
        print(f"schema of {ctx.db.url} is at version {LATEST}")
    else:
        print(f"schema of {ctx.db.url} is already at version {LATEST}; nothing to do")
    return 0


def open_case(ctx: Context, args) -> int:
    actor, for_, at = acting(args)
    data = read_data(args.data, ctx.config.limits)
    outcome = ctx.engine().open(args.kind, actor, data, at, for_)
    if args.json:
        emit(outcome.as_json())
    else:
        print(outcome.case)
        print(f"opened {outcome.kind} {outcome.case}: {outcome.state}", file=sys.stderr)
        present.warnings(outcome.warnings)
    return 0


def fire(ctx: Context, args) -> int:
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


def show(ctx: Context, args) -> int:
    require_current(ctx.db)
    as_of = utc_iso(option_time("--as-of", args.as_of)) if args.as_of else None
    detail = queries.case_detail(ctx.db, args.case, as_of)
    if detail is None:
        raise UnknownCaseError(f"no case {args.case!r}", case=args.case)
    from functools import cache
    from states.next_steps import NEXT
    from workflows.read import lateness
    lateness.annotate(detail["log"], cache(lambda: ctx.config.calendars().national()))
    if not as_of:
        detail["next"] = NEXT.get(detail["kind"], {}).get(detail["state"], [])
    if args.json:
        emit(detail)
    else:
        print(present.case(detail, as_of or utc_iso(ctx.clock.now())))
    return 0


def list_cases(ctx: Context, args) -> int:
    require_current(ctx.db)
    overdue = utc_iso(ctx.clock.now()) if args.overdue else None
    rows = queries.list_cases(ctx.db, args.kind, args.state, overdue, args.search)
    if args.json:
        emit(rows)
    else:
        print(present.case_table(rows))
    return 0


def tick(ctx: Context, args) -> int:
    engine = ctx.engine()

    def progress(done, total, outcome):
        if not args.json and outcome is not None:
            print(f"[{done}/{total}] {present.outcome_line(outcome)}")

    failures: list[str] = []

    def failed(timer, err):
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


def audit(ctx: Context, args) -> int:
    require_current(ctx.db)
    if args.audit_command == "checkpoint":
        return audit_checkpoint(ctx, args)
    if args.audit_command == "export":
        return audit_export(ctx, args)
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


# -- delivery and the daemon (the transactional outbox) ---------------------------------------

def deliver(ctx: Context, args) -> int:
    """Exit 3 when any notice could not be delivered (each named on standard output): it
    stays pending (to be tried again) or failed, never lost."""
    require_current(ctx.db)
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
    if args.json:
        emit({"sent": report.sent, "retrying": [i for i, _ in report.retrying],
              "failed": [i for i, _ in report.failed]})
    else:
        print(f"{len(report.sent)} notice(s) sent, {len(report.retrying)} to retry later, "
              f"{len(report.failed)} failed")
    return 3 if report.retrying or report.failed else 0


def notices(ctx: Context, args) -> int:
    require_current(ctx.db)
    if args.notices_command == "retry":
        from storage import outbox
        if bool(args.id) == bool(args.all):
            raise RefusedError("notices retry: name one notice ID or give --all")
        done = outbox.retry(ctx.db, None if args.all else args.id)
        if args.id and not done:
            raise RefusedError(f"no notice {args.id!r}")
        if args.id and done[0][1] == "sent":
            raise RefusedError(f"notice {args.id} was already sent; nothing to retry")
        for notice_id, before in done:
            print(f"notice {notice_id} ({before}) is queued again for delivery")
        if args.all:
            print(f"{len(done)} notice(s) queued again")
        return 0
    rows = queries.notice_list(ctx.db, args.case, args.status)
    if args.json:
        emit(rows)
    else:
        print(present.notice_table(rows))
    return 0


def status(ctx: Context, args) -> int:
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


def replay(ctx: Context, args) -> int:
    from workflows.engine.replay import case_ids, replay_many
    require_current(ctx.db)
    if args.what_if:
        return what_if(ctx, args)
    if bool(args.case) == bool(args.all):
        raise RefusedError("replay: name one CASE or give --all")
    ids = case_ids(ctx.db) if args.all else [args.case]
    if not args.all and queries.case_detail(ctx.db, args.case) is None:
        raise UnknownCaseError(f"no case {args.case!r}", case=args.case)

    def progress(done, total, result):
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


def read_checkpoint(path: str) -> tuple[int, str]:
    try:
        saved = json.loads(Path(path).read_text(encoding="utf-8"))
        return int(saved["count"]), str(saved["hash"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise RefusedError(f"--checkpoint {path}: not a checkpoint written by `audit checkpoint "
                           f"--write` ({type(err).__name__}: {err})") from None


def audit_checkpoint(ctx: Context, args) -> int:
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


def audit_export(ctx: Context, args) -> int:
    from workflows.read import auditlog
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


def _is_file(stream) -> bool:
    import stat
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):
        return False


def explain(ctx: Context, args) -> int:
    from workflows.read import explain as explaining
    require_current(ctx.db)
    if queries.case_detail(ctx.db, args.case) is None:
        raise UnknownCaseError(f"no case {args.case!r}", case=args.case)
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


def what_if(ctx: Context, args) -> int:
    from workflows.core.config import load
    from workflows.core.deadlines import recorded_calendar
    from workflows.engine.replay import Replayer
    if not args.case or args.all:
        raise RefusedError("replay --config: name one CASE to compare")
    if queries.case_detail(ctx.db, args.case) is None:
        raise UnknownCaseError(f"no case {args.case!r}", case=args.case)
    other = load(args.what_if)
    replayer = Replayer(ctx.db, other, recorded_calendars=False)
    result = replayer.replay(args.case, verify=False)
    _, _, rebuilt, _ = replayer.rebuilt(args.case)
    # The latest timer of each name, stored and rebuilt (a recomputed deadline has two rows),
    # each with the calendar it counted on: as stored with it, and as the other file gives it.
    stored = {t.name: t for t in queries.case_timers(ctx.db, args.case)}
    again = {t.name: t.due for t in rebuilt}
    rows: list[dict[str, Any]] = [
        {"timer": name, "calendar": t.calendar, "stored_due": t.due,
         "stored_calendar": _described(t.calendar, recorded_calendar(
             t.nation, json.loads(t.closures), t.school, json.loads(t.school_closures))),
         "what_if_due": again.get(name),
         "what_if_calendar": _described(t.calendar, other.calendars().of(t.calendar, t.school)),
         "changes": again.get(name) != t.due} for name, t in stored.items()]
    if args.json:
        emit({"case": args.case, "config": args.what_if, "state": result.state,
              "timers": rows, "problems": result.differences})
        return 0
    print(f"{args.case} under {args.what_if}, against what is stored (each deadline with the "
          "calendar it counted on):")
    for r in rows:
        change = "the same" if not r["changes"] else f"would be {present.day(r['what_if_due'])}"
        print(f"  {r['timer']:<22} stored due {present.day(r['stored_due'])} "
              f"({r['stored_calendar']})")
        print(f"  {'':<22} {change} ({r['what_if_calendar']})")
    for problem in result.differences:
        print(f"  note: {problem}")
    print("nothing was written")
    return 0


def _described(party: str, calendar) -> str:
    """A calendar in words, as the party whose duty or right it guards counts it."""
    if party == "national":
        return f"{calendar.nation.capitalize()} bank holidays only (a national duty or right)"
    return f"local: {calendar.describe()}"


def recalendar(ctx: Context, args) -> int:
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


def diagram(ctx: Context, args) -> int:
    from workflows.read import diagram as diagrams
    if args.format == "svg":
        try:
            content: bytes | str = diagrams.svg(args.kind)
        except diagrams.GraphvizMissingError as err:
            raise RefusedError(str(err)) from None
    else:
        content = diagrams.mermaid(args.kind)
    if args.output:
        write_file(args.output, content)
        print(f"wrote the {args.kind} diagram to {args.output}", file=sys.stderr)
    elif isinstance(content, bytes):
        sys.stdout.buffer.write(content)
    else:
        print(content)
    return 0


def export_person(ctx: Context, args) -> int:
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


def retention(ctx: Context, args) -> int:
    from datetime import timedelta
    from states import PROCESSES
    require_current(ctx.db)
    years = ctx.config.policy.retention_years
    if years == 0:
        message = ("retention_years is 0 (the default): personal data is kept; set [policy] "
                   "retention_years to let cases be erased that many years after they close")
        if args.json:
            emit({"retention_years": 0, "cases": []})
        else:
            print(message)
        if args.apply:
            raise RefusedError("retention --apply: " + message)
        return 0
    now = ctx.clock.now()
    cutoff = now.replace(year=now.year - years) if not (now.month == 2 and now.day == 29) \
        else (now - timedelta(days=1)).replace(year=now.year - years)
    finals = {kind: sorted(s.value for s in p.final) for kind, p in PROCESSES.items()}
    due = queries.closed_before(ctx.db, finals, utc_iso(cutoff))
    rows: list[dict[str, Any]] = [{"case": c.id, "kind": c.kind, "state": c.state,
             "last_event": c.last_effective_at} for c in due]
    if args.apply:
        if not args.actor:
            raise RefusedError("retention --apply: name who erases with --actor "
                               "la_coordinator:ID (or operator:ID --for la_coordinator:ID)")
        from workflows.engine import Actor
        actor = Actor.parse(args.actor)
        for_ = Actor.parse(args.for_) if args.for_ else None
        engine = ctx.engine()
        for row in rows:
            try:
                engine.fire(row["case"], "erase_personal_data", actor,
                            {"reason": f"retention period of {years} year(s) ended (closed "
                                       f"{row['last_event'][:10]})"}, on_behalf_of=for_)
                row["erased"] = True
            except RefusedError as err:   # e.g. a notice still waiting: the others go on
                row["erased"], row["refused"] = False, str(err)
    if args.json:
        emit({"retention_years": years, "cutoff": utc_iso(cutoff), "cases": rows})
        return 0
    if not rows:
        print(f"no case closed before {present.day(utc_iso(cutoff)[:10])} keeps personal data")
        return 0
    for row in rows:
        done = "" if not args.apply else ("  erased" if row["erased"]
                                          else f"  NOT erased: {row['refused']}")
        print(f"{row['case']:<16} {row['kind']:<12} {row['state']:<16} last event "
              f"{present.london(row['last_event'])}{done}")
    print(f"{len(rows)} case(s) closed before {present.day(utc_iso(cutoff)[:10])} "
          f"(retention {years} year(s))"
          + ("" if args.apply else "; --apply --actor la_coordinator:ID erases them"))
    return 0


def example(args) -> int:
    from states.examples import UnknownExampleError, example as example_of
    try:
        data, what = example_of(args.name)
    except UnknownExampleError as err:
        raise RefusedError(str(err)) from None
    print(f"# {what}", file=sys.stderr)   # the JSON alone goes to standard output, for a file
    emit(data)
    return 0
