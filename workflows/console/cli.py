"""`ast-engine web` and `ast-engine user ...`: the console's server and its accounts, as commands
of run_engine.py (which only parses the arguments and calls these)."""
from __future__ import annotations

import getpass
import json
import logging
import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workflows.engine.context import Context

# Imported by run_engine.py to build its parser: what a command needs is imported when it runs,
# so that `--help` stays quick.

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
MIN_PASSWORD = 8


def add_arguments(sub, parser_class) -> None:
    """The `web` and `user` subcommands, added to run_engine.py's parser."""
    w = sub.add_parser("web", help="serve the read-only web console for auditors and operators",
                       description="Serve the web console on the same database: search, each "
                       "case's timeline and deadlines, incidents, the audit check and the "
                       "log's export. It changes no case; it runs beside the daemon. Add an "
                       "account first with `user add`. Behind a TLS proxy the session cookie is "
                       "marked Secure, once the proxy is listed in [web] trusted_proxies (its "
                       "X-Forwarded-For and X-Forwarded-Proto are believed from no one else).")
    w.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only)")
    w.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    u = sub.add_parser("user", help="the web console's accounts: user add | list | remove",
                       description="Accounts of the web console. `user add NAME --role auditor` "
                       "reads the password from standard input (one line; at a terminal, "
                       "typed without echo). Passwords are kept only as argon2id hashes.")
    usub = u.add_subparsers(dest="user_command", required=True, metavar="USER_COMMAND",
                            parser_class=parser_class)
    add = usub.add_parser("add", help="add an account; the password from standard input",
                          description="Add an account. The password is read from standard "
                          "input, one line: e.g. `printf '%s\\n' \"$PW\" | ast-engine user add "
                          "ann --role auditor`.")
    add.add_argument("name", metavar="NAME", help="letters, digits and . _ @ - (at most 64)")
    add.add_argument("--role", required=True, choices=("auditor", "operator"))
    ls = usub.add_parser("list", help="the accounts and their roles")
    ls.add_argument("--json", action="store_true")
    rm = usub.add_parser("remove", help="remove an account and end its sessions at once")
    rm.add_argument("name", metavar="NAME")


@dataclass(frozen=True)
class WebArgs:
    host: str
    port: int


@dataclass(frozen=True)
class UserAddArgs:
    name: str
    role: str


@dataclass(frozen=True)
class UserListArgs:
    json: bool


@dataclass(frozen=True)
class UserRemoveArgs:
    name: str


def user_add(ctx: Context, args: UserAddArgs) -> int:
    from storage import users
    from storage.migrations import require_current
    from workflows.core.errors import RefusedError
    from workflows.core.times import utc_iso
    require_current(ctx.db)
    from workflows.console.auth import hash_password
    if not NAME.fullmatch(args.name):
        raise RefusedError(f"user add: {args.name!r} is not a valid name: use letters, "
                           "digits and . _ @ - (at most 64), starting with a letter or digit")
    password = _read_password()
    if len(password) < MIN_PASSWORD:
        raise RefusedError(f"user add: the password must be at least {MIN_PASSWORD} "
                           "characters (read from standard input, one line)")
    if not users.add_user(ctx.db, args.name, args.role, hash_password(password),
                          utc_iso(ctx.real.now())):
        raise RefusedError(f"user add: there is already an account {args.name!r} "
                           "(`user remove` it first to replace it)")
    print(f"added {args.role} {args.name}")
    return 0


def user_remove(ctx: Context, args: UserRemoveArgs) -> int:
    from storage import users
    from storage.migrations import require_current
    from workflows.core.errors import RefusedError
    require_current(ctx.db)
    if not users.remove_user(ctx.db, args.name):
        raise RefusedError(f"user remove: no account {args.name!r}")
    print(f"removed {args.name}; its sessions ended")
    return 0


def user_list(ctx: Context, args: UserListArgs) -> int:
    from storage import users
    from storage.migrations import require_current
    require_current(ctx.db)
    accounts = users.list_users(ctx.db)
    if args.json:
        print(json.dumps([{"name": a.username, "role": a.role, "created_at": a.created_at}
                          for a in accounts], indent=2))
    elif not accounts:
        print("no accounts (add one: ast-engine user add NAME --role auditor)")
    else:
        for a in accounts:
            print(f"{a.username:<24} {a.role:<10} added {a.created_at}")
    return 0


def _read_password() -> str:
    from workflows.core.errors import RefusedError
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise RefusedError("user add: the two passwords differ")
        return first
    line = sys.stdin.readline()
    return line[:-1] if line.endswith("\n") else line


def web(ctx: Context, args: WebArgs) -> int:
    import uvicorn
    from storage import users
    from storage.console import rebuild_if_written_before_the_separator, refresh_search
    from storage.migrations import require_current
    from workflows.console.app import create_app
    from workflows.core.errors import RefusedError
    require_current(ctx.db)
    if not 0 < args.port < 65536:
        raise RefusedError(f"web --port {args.port}: give a port from 1 to 65535")
    _log_to_stderr()
    rebuild_if_written_before_the_separator(ctx.db)
    took = refresh_search(ctx.db)
    if took:
        print(f"search table: took in {took} case(s)", file=sys.stderr)
    if not users.list_users(ctx.db):
        print("warning: no account yet, so no one can log in: add one with "
              "`ast-engine user add NAME --role auditor`", file=sys.stderr)
    app = create_app(ctx.db, ctx.config, ctx.clock, ctx.real)
    print(f"web console on http://{args.host}:{args.port}/ (Ctrl-C or SIGTERM stops it)",
          file=sys.stderr, flush=True)
    # Forwarded headers are believed only from the proxies configured: uvicorn would trust
    # 127.0.0.1 by default, and any process on this machine could then choose its address.
    trusted = list(ctx.config.web.trusted_proxies)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info",
                proxy_headers=bool(trusted), forwarded_allow_ips=trusted, server_header=False)
    return 0


def _log_to_stderr() -> None:
    """Logins and failed logins, one line each, with their level (under systemd: the journal)."""
    logger = logging.getLogger("ast_engine")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
