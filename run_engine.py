#!/usr/bin/env python3
"""The AST case engine's command line (shared/CLI.md is its contract).

Thin on purpose: it parses arguments, builds the engine and prints what the engine returns.
Heavy imports (SQLAlchemy, the processes) wait until a command needs them, so `--help` is quick.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Callable

EXIT_OK, EXIT_FAILED, EXIT_REFUSED, EXIT_CHECK = 0, 1, 2, 3

EPILOG = """\
times: a bare date means 09:00 Europe/London that day; a date-time without an offset is London
wall-clock time; one with an offset is that instant. Output instants are UTC (+00:00).
exit codes: 0 done, 1 unexpected failure (nothing half-written), 2 refused (one `error:` line
on stderr, nothing written), 3 a check found a problem.
examples:
  ast-engine init
  ast-engine example application > ast1.json       # the data an application needs
  ast-engine open application --actor headteacher:h.smith --data @ast1.json
  ast-engine fire app-7f3k9qxw2m support --actor headteacher:h.smith --data '{"evaluation": "..."}'
  ast-engine fire app-7f3k9qxw2m agency_receive --actor operator:it.jones --for agency:naa --at 2027-01-08
  ast-engine --now 2027-02-01 tick
"""


class Parser(argparse.ArgumentParser):
    def error(self, message):
        print(f"error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(EXIT_REFUSED)


class Version(argparse.Action):
    """`--version`: the engine's version and the schema version it runs on."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"ast-engine {engine_version()} (schema version {schema_version()})")
        parser.exit()


def engine_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("ast-case-engine")
    except PackageNotFoundError:   # run from a checkout that was never installed
        import tomllib
        from pathlib import Path
        project = Path(__file__).resolve().parent / "pyproject.toml"
        return tomllib.loads(project.read_text(encoding="utf-8"))["project"]["version"]


def schema_version() -> int:
    from storage.migrations import LATEST
    return LATEST


def tick_seconds(text: str) -> float:
    """`daemon --tick`: a number of seconds the loop can sleep, not 0, negative, nan or inf
    (each would make it spin, or never wake)."""
    import math
    from workflows.core.environment import TICK_SECONDS_RANGE
    low, high = TICK_SECONDS_RANGE
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{text!r}: give seconds from {low:g} to {high:g}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="ast-engine", description="Advanced Skills Teacher cases as persisted, "
               "auditable state machines: applications, reviews and appointments.",
               epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", default=os.environ.get("AST_ENGINE_DB"),
                   help="SQLAlchemy URL, e.g. sqlite:///cases.db or "
                        "postgresql+psycopg://user@host/db (env AST_ENGINE_DB; default: "
                        "ast_engine.db in the current folder)")
    p.add_argument("--config", default=os.environ.get("AST_ENGINE_CONFIG"),
                   help="TOML configuration file (env AST_ENGINE_CONFIG; default: built-in)")
    p.add_argument("--now", help="the business clock for this command (simulation, what-if); "
                                 "never changes the recorded time in the log")
    p.add_argument("--version", action=Version, help="print the engine's version and exit")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)

    sub.add_parser("init", help="create or migrate the schema (safe to run again)")

    def acting(cmd):
        cmd.add_argument("--actor", required=True, metavar="ROLE:ID",
                         help="who acts, e.g. headteacher:h.smith")
        cmd.add_argument("--for", dest="for_", metavar="ROLE:ID",
                         help="with --actor operator:ID: whom the operator keys the form in for")
        cmd.add_argument("--at", metavar="ISO", help="effective time (default: the business clock)")
        cmd.add_argument("--json", action="store_true", help="print JSON for scripts")

    o = sub.add_parser("open", help="open an application or appointment case",
                       description="Open a case. A review is opened by the application's "
                                   "request_review trigger, not here.")
    o.add_argument("kind", metavar="KIND", help="application or appointment")
    acting(o)
    o.add_argument("--data", required=True, metavar="JSON|@FILE",
                   help="the opening data as JSON, or @file.json; `ast-engine example KIND` "
                        "prints an example to start from")

    f = sub.add_parser("fire", help="apply one trigger to a case")
    f.add_argument("case", metavar="CASE")
    f.add_argument("trigger", metavar="TRIGGER")
    acting(f)
    f.add_argument("--data", metavar="JSON|@FILE",
                   help="the trigger's data as JSON, or @file.json; `ast-engine example "
                        "TRIGGER` prints an example, `ast-engine show CASE` the triggers the "
                        "case can take next and the keys each needs")
    f.add_argument("--if-version", type=int, metavar="N",
                   help="refuse unless the case is still at version N (as last shown)")

    eg = sub.add_parser("example", help="print example data for a kind of case or a trigger",
                        description="Prints, as JSON, the data `open KIND` or `fire CASE "
                        "TRIGGER` takes, with every required key filled in with a "
                        "realistic value: save it, change it, pass it with --data @FILE. "
                        "Needs no database.",
                        epilog="examples:\n  ast-engine example application > ast1.json\n"
                               "  ast-engine example schedule_assessment",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    eg.add_argument("name", metavar="KIND|TRIGGER",
                    help="application, appointment, or a trigger such as support")

    s = sub.add_parser("show", help="one case: state, data, timers, log, notices")
    s.add_argument("case", metavar="CASE")
    s.add_argument("--as-of", metavar="ISO", help="the case as it stood then: its state, the "
                   "timers pending then and the notices sent by then")
    s.add_argument("--json", action="store_true")

    xp = sub.add_parser("explain", help="the arithmetic behind a case's deadlines, day by day")
    xp.add_argument("case", metavar="CASE")
    xp.add_argument("timer", nargs="?", metavar="TIMER", help="one timer (default: all)")
    xp.add_argument("--json", action="store_true")

    ls = sub.add_parser("list", help="cases, one a line")
    ls.add_argument("--kind", choices=("application", "review", "appointment"))
    ls.add_argument("--state")
    ls.add_argument("--overdue", action="store_true",
                    help="only cases with a timer due to fire by the business clock")
    ls.add_argument("--search", metavar="TEXT",
                    help="only cases whose candidate's name or email, school or case id holds "
                         "TEXT (any case of letters), e.g. --search 'ann lee'")
    ls.add_argument("--json", action="store_true")

    t = sub.add_parser("tick", help="fire every timer due by the business clock, then stop")
    t.add_argument("--json", action="store_true")

    dl = sub.add_parser("deliver", help="deliver every pending notice once, then stop")
    dl.add_argument("--json", action="store_true")

    dm = sub.add_parser("daemon", help="fire timers and deliver notices until SIGTERM/SIGINT",
                        description="Runs in the foreground (let a service manager keep it "
                        "alive); one line per thing it does. Fires timers that came due while it "
                        "was down first, in due order. On SQLite only one daemon may run per "
                        "database file; on PostgreSQL any number.")
    dm.add_argument("--tick", type=tick_seconds, metavar="SECONDS",
                    help="how often to look for due timers besides each one's own instant "
                         "(default: [daemon] tick_seconds, 60); new notices are looked for "
                         "every 5 s, or every tick when it is shorter")

    n = sub.add_parser("notices", help="stored notices and their delivery; `notices retry ID`")
    n.add_argument("--case", metavar="CASE")
    n.add_argument("--status", choices=("pending", "sent", "failed"))
    n.add_argument("--json", action="store_true")
    nsub = n.add_subparsers(dest="notices_command", metavar="retry", parser_class=Parser)
    r = nsub.add_parser("retry", help="queue a failed (or waiting) notice for delivery now")
    r.add_argument("id", metavar="ID", nargs="?")
    r.add_argument("--all", action="store_true", help="every failed or waiting notice")

    st = sub.add_parser("status", help="is a daemon alive; next due timer; overdue timers; "
                                       "pending and failed notices",
                        description="With --check, one line for a monitoring system (Nagios, "
                        "Icinga, Zabbix): OK, WARNING (failed notices or timers, timers overdue "
                        "by more than one tick), CRITICAL (no daemon alive: none has run, it "
                        "stopped, or no heartbeat for 60 s) or UNKNOWN (the database cannot be "
                        "read), with exit code 0, 1, 2 or 3.")
    st.add_argument("--json", action="store_true", help="for scripts, with `alive` and "
                    "`heartbeat_age_seconds`")
    st.add_argument("--check", action="store_true",
                    help="monitoring-plugin line and exit code (0 OK, 1 WARNING, 2 CRITICAL, "
                         "3 UNKNOWN)")

    rp = sub.add_parser("replay", help="rebuild cases from their log alone; --verify compares",
                        description="Rebuild each case from its transition log alone, in "
                        "memory, with the current code. With --verify, compare the result with "
                        "what is stored (state, version, timers, notices) and name the first log "
                        "entry where they part; exit 3 if any case differs. Writes nothing.")
    rp.add_argument("case", nargs="?", metavar="CASE")
    rp.add_argument("--all", action="store_true", help="every case, with progress")
    rp.add_argument("--verify", action="store_true")
    rp.add_argument("--config", dest="what_if", metavar="OTHER.toml",
                    help="what-if: show how the case's due dates would differ under another "
                         "configuration (another nation, an extra closure day); writes nothing")
    rp.add_argument("--json", action="store_true")

    rc = sub.add_parser("recalendar", help="find pending timers whose due date changes under "
                                           "the calendar now in force; --apply moves them",
                        description="After a new LA closure day, a `holidays` update that adds "
                        "a one-off bank holiday, or a changed local-policy number: list every "
                        "pending timer whose due date is different now. With --apply, move each "
                        "through a logged `deadline_recomputed` entry (old and new due date), so "
                        "that replay still verifies.")
    rc.add_argument("--apply", action="store_true")
    rc.add_argument("--actor", metavar="operator:ID", help="the operator applying it (required "
                                                           "with --apply)")
    rc.add_argument("--json", action="store_true")

    a = sub.add_parser("audit", help="check the transition log")
    asub = a.add_subparsers(dest="audit_command", required=True, metavar="AUDIT_COMMAND",
                            parser_class=Parser)
    v = asub.add_parser("verify", help="recompute both hash chains; name the first bad entry")
    v.add_argument("--checkpoint", metavar="FILE",
                   help="also check the log still holds the head saved in FILE by "
                        "`audit checkpoint --write` (catches a whole chain rewritten)")
    v.add_argument("--json", action="store_true")
    cp = asub.add_parser("checkpoint", help="print the current head of the log (count, hash, "
                                            "time) for an auditor to keep outside the system")
    cp.add_argument("--write", metavar="FILE", help="also write it to FILE as JSON")
    cp.add_argument("--json", action="store_true")
    ex = asub.add_parser("export", help="the transition log for auditors, in log order")
    ex.add_argument("--case", metavar="CASE")
    ex.add_argument("--since", metavar="DATE", help="effective on or after this day (London)")
    ex.add_argument("--until", metavar="DATE", help="effective on or before this day (London)")
    ex.add_argument("--actor", metavar="ROLE[:ID]",
                    help="entries by, or keyed in for, this person or role")
    ex.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")

    dg = sub.add_parser("diagram", help="a process as a Mermaid state diagram (or SVG)")
    dg.add_argument("kind", choices=("application", "review", "appointment"))
    dg.add_argument("--format", choices=("mermaid", "svg"), default="mermaid",
                    help="svg needs graphviz's `dot` (apt-get install graphviz)")
    dg.add_argument("--output", metavar="FILE", help="write here instead of standard output")

    xpp = sub.add_parser("export-person", help="everything held about one person as one JSON "
                                               "document (UK GDPR subject access)")
    xpp.add_argument("email", metavar="EMAIL")
    xpp.add_argument("--output", metavar="FILE", help="write here instead of standard output")

    rt = sub.add_parser("retention", help="cases whose retention period has run out; "
                                          "--apply erases their personal data",
                        description="Lists the cases closed (in a final state, untouched) for "
                        "longer than [policy] retention_years (0, the default, keeps personal "
                        "data: nothing is listed). With --apply, erases each one's personal data "
                        "through a logged erase_personal_data entry, as `fire CASE "
                        "erase_personal_data` would: names, addresses, reasons and notice texts "
                        "read `erased`, hashes, states and times stay, both hash chains verify.")
    rt.add_argument("--apply", action="store_true", help="erase them (needs --actor)")
    rt.add_argument("--actor", metavar="ROLE:ID", help="la_coordinator:ID, or operator:ID "
                                                       "with --for la_coordinator:ID")
    rt.add_argument("--for", dest="for_", metavar="ROLE:ID")
    rt.add_argument("--json", action="store_true")

    from workflows.console.cli import add_arguments as console_arguments
    console_arguments(sub, Parser)   # `web` and `user`: the web console

    d = sub.add_parser("demo", help="walk realistic cases through their deadlines on a fresh "
                                    "database of its own")
    d.add_argument("--keep", metavar="FOLDER",
                   help="write the demo database here instead of a temporary folder")
    accept_globals_after(sub)
    return p


def accept_globals_after(sub) -> None:
    """`ast-engine list --db x.db` as well as `ast-engine --db x.db list`: every command takes
    the global options too. Their default is SUPPRESS, so one given before the command is
    kept unless it is given again after it. `replay --config` is its own what-if option."""
    for name, command in sub.choices.items():
        taken = {o for a in command._actions for o in a.option_strings}
        if "--db" not in taken:
            command.add_argument("--db", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        if "--config" not in taken:
            command.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        if "--now" not in taken:
            command.add_argument("--now", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                accept_globals_after(action)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    early = keep_early_signals() if "daemon" in argv else []
    for n, arg in enumerate(argv, start=1):
        # Bytes that are not UTF-8 reach Python as lone surrogates, which no database, hash
        # or mail can take: refused here, before anything is opened.
        if any("\ud800" <= c <= "\udfff" for c in arg):
            shown = repr(arg.encode("utf-8", "surrogateescape"))[2:-1]
            print(f"error: argument {n} ({shown}) is not valid UTF-8 text", file=sys.stderr)
            return EXIT_REFUSED
    try:
        args = build_parser().parse_args(argv)
    except ModuleNotFoundError as err:
        return not_installed(err)
    args.early_signals = early
    try:
        code = dispatch(args)
        sys.stdout.flush()   # here, so that a reader gone away is met inside the try
        return code
    except BrokenPipeError:
        # `ast-engine list --json | head`: the reader has what it wanted. Nothing is wrong,
        # and nothing more can be said on that pipe; the rest of the output goes nowhere.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except ModuleNotFoundError as err:
        return not_installed(err)
    except Exception as err:   # sorted into refusals and failures below
        if args.command == "status" and args.check:
            # A monitoring system reads the first word and the exit code: whatever went wrong
            # (no database, a bad configuration), the state is UNKNOWN.
            print(f"UNKNOWN - {unknown_reason(err)}")
            return EXIT_CHECK
        return report(err)


def not_installed(err: ModuleNotFoundError) -> int:
    """Run by a Python that lacks the engine's libraries (`python3 run_engine.py` outside the
    venv): say how to run it instead of a traceback."""
    print(f"error: this Python ({sys.executable}) does not have the engine's libraries "
          f"({err.name} is missing): run it as .venv/bin/ast-engine after `python3 -m venv .venv "
          "&& .venv/bin/pip install -e .`, or activate the venv first (. .venv/bin/activate)",
          file=sys.stderr)
    return EXIT_FAILED


def unknown_reason(err: Exception) -> str:
    from storage.errors import StorageError, one_line
    text = one_line(str(err))
    if isinstance(err, StorageError):
        return f"cannot read the database: {text}"
    return text or type(err).__name__


def report(err: Exception) -> int:
    from workflows.core.errors import RefusedError
    from workflows.core.config import ConfigError
    from workflows.core.times import TimeFormatError
    from storage.db import DatabaseUrlError
    from storage.errors import SchemaError, StorageError
    if isinstance(err, (RefusedError, ConfigError, TimeFormatError, SchemaError,
                        DatabaseUrlError)):
        print(f"error: {err}", file=sys.stderr)
        return EXIT_REFUSED
    if isinstance(err, StorageError):   # already one line saying which database and why
        print(f"error: {err}", file=sys.stderr)
        return EXIT_FAILED
    print(f"error: {type(err).__name__}: {err}", file=sys.stderr)
    if os.environ.get("AST_ENGINE_DEBUG"):
        raise err
    return EXIT_FAILED


def keep_early_signals() -> list[int]:
    """For the daemon: a SIGTERM during start-up (imports, opening the database) is kept, not
    fatal; the daemon sees it and stops cleanly with exit 0 as soon as it can."""
    import signal
    early: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda number, _frame: early.append(number))
    return early


def dispatch(args: argparse.Namespace) -> int:
    from workflows.cli.args import DemoArgs, ExampleArgs, typed
    if args.command == "demo":
        from workflows.core.clock import REAL
        from workflows.cli.demo import run_demo
        return run_demo(REAL, keep=typed(DemoArgs, args).keep)

    if args.command == "example":   # needs neither a database nor a configuration
        from workflows.cli.cases import example
        return example(typed(ExampleArgs, args))

    from workflows.core.clock import REAL
    from workflows.core.environment import settings_given
    from workflows.engine.context import Context
    config = None   # the defaults, made only if the command asks for them
    if settings_given(args.config, os.environ):
        from workflows.core.config import load
        config = load(args.config)
    # The real clock is injected here, once: recorded times and delivery stamps read it.
    ctx = Context.build(args.db, config, args.now, REAL, create=args.command == "init",
                        light_reads=args.command != "daemon")
    handler, kind = handlers()[command_of(args)]
    return handler(ctx, typed(kind, args))


def command_of(args: argparse.Namespace) -> str:
    """The command as `handlers` names it, with its subcommand: `audit verify`, `notices`,
    `notices retry`, `user add`."""
    sub = {"audit": "audit_command", "notices": "notices_command",
           "user": "user_command", "token": "token_command"}.get(args.command)
    chosen = getattr(args, sub) if sub else None
    return f"{args.command} {chosen}" if chosen else args.command


def handlers() -> dict[str, tuple[Callable[[Any, Any], int], type[Any]]]:
    """Each command's handler and the typed value it takes (workflows/cli/args.py)."""
    from workflows.cli import args as a, audit, cases, data, delivery, diagram, timers
    from workflows.console import cli as console
    from workflows.daemon import cli as daemon
    return {
        "init": (cases.init, a.InitArgs), "open": (cases.open_case, a.OpenArgs),
        "fire": (cases.fire, a.FireArgs), "show": (cases.show, a.ShowArgs),
        "list": (cases.list_cases, a.ListArgs),
        "tick": (timers.tick, a.TickArgs), "recalendar": (timers.recalendar, a.RecalendarArgs),
        "explain": (timers.explain, a.ExplainArgs),
        "audit verify": (audit.audit_verify, a.AuditVerifyArgs),
        "audit checkpoint": (audit.audit_checkpoint, a.AuditCheckpointArgs),
        "audit export": (audit.audit_export, a.AuditExportArgs),
        "replay": (audit.replay, a.ReplayArgs),
        "deliver": (delivery.deliver, a.DeliverArgs),
        "notices": (delivery.notices, a.NoticesArgs),
        "notices retry": (delivery.notices_retry, a.NoticesRetryArgs),
        "status": (delivery.status, a.StatusArgs),
        "diagram": (diagram.diagram, a.DiagramArgs),
        "export-person": (data.export_person, a.ExportPersonArgs),
        "retention": (data.retention, a.RetentionArgs),
        "daemon": (daemon.daemon, daemon.DaemonArgs),
        "web": (console.web, console.WebArgs),
        "user add": (console.user_add, console.UserAddArgs),
        "user list": (console.user_list, console.UserListArgs),
        "user remove": (console.user_remove, console.UserRemoveArgs),
        "user disable": (console.user_disable, console.UserDisableArgs),
        "token add": (console.token_add, console.TokenAddArgs),
        "token list": (console.token_list, console.TokenListArgs),
        "token revoke": (console.token_revoke, console.TokenRevokeArgs),
    }


if __name__ == "__main__":
    sys.exit(main())
