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
# Every role of DOMAIN.md but `system` (workflows/console/auth.py: ROLES; kept here too so that
# `--help` does not import the console).
ROLES = ("candidate", "headteacher", "post_school", "la_coordinator", "agency", "assessor",
         "review_coordinator", "review_officer", "operator", "auditor")


def add_arguments(sub, parser_class) -> None:
    """The `web` and `user` subcommands, added to run_engine.py's parser."""
    w = sub.add_parser("web", help="serve the web console and the HTTP API (/api/v1)",
                       description="Serve the web console and the HTTP API on the same "
                       "database, beside the daemon: each account's tasks, forms for every "
                       "trigger (through the engine, as `fire` does), search, each case's "
                       "timeline and deadlines, incidents, the audit check and the log's "
                       "export; and /api/v1 for other systems, with bearer tokens (`token "
                       "add`; the OpenAPI document at /api/v1/openapi.json). Add an account "
                       "first with `user add`. Behind a TLS proxy the session cookie is "
                       "marked Secure, once the proxy is listed in [web] trusted_proxies (its "
                       "X-Forwarded-For and X-Forwarded-Proto are believed from no one else).")
    w.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only)")
    w.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    w.add_argument("--access-log", action="store_true",
                   help="also log every request (address, method, path, status) to standard "
                   "error; logins, failed logins and each API token's use are logged always. "
                   "Off by default: a proxy in front logs requests, and the line cost a tenth "
                   "of an API call")
    u = sub.add_parser("user", help="the web console's accounts: user add | list | disable | "
                       "remove",
                       description="Accounts of the web console. An account is a party: a "
                       "headteacher account named tom.reed acts as headteacher:tom.reed, and "
                       "sees and acts on the cases that bind that party; an operator keys in "
                       "forms for others; an auditor reads. A candidate's account is named by "
                       "the candidate's email address. `user add NAME --role ROLE` reads the "
                       "password from standard input (one line; at a terminal, typed without "
                       "echo). Passwords are kept only as argon2id hashes.")
    usub = u.add_subparsers(dest="user_command", required=True, metavar="USER_COMMAND",
                            parser_class=parser_class)
    add = usub.add_parser("add", help="add an account; the password from standard input",
                          description="Add an account. The password is read from standard "
                          "input, one line: e.g. `printf '%s\\n' \"$PW\" | ast-engine user add "
                          "ann --role auditor`.")
    add.add_argument("name", metavar="NAME", help="letters, digits and . _ @ - (at most 64)")
    add.add_argument("--role", required=True, choices=ROLES,
                     help="the role it acts in (any but system)")
    ls = usub.add_parser("list", help="the accounts, their roles and whether disabled")
    ls.add_argument("--json", action="store_true")
    dis = usub.add_parser("disable", help="disable an account: its sessions and tokens end at "
                          "once", description="Disable an account: it can no longer log in, "
                          "its sessions end at once (its next page or form is refused), and "
                          "the API tokens of the same name are revoked. The account is kept, "
                          "so that the log's entries keep naming a known party.")
    dis.add_argument("name", metavar="NAME")
    rm = usub.add_parser("remove", help="remove an account and end its sessions at once")
    rm.add_argument("name", metavar="NAME")
    t = sub.add_parser("token", help="the HTTP API's bearer tokens: token add | list | revoke",
                       description="Bearer tokens of the HTTP API (/api/v1), for the agency's "
                       "or a school's own systems. `token add NAME --role ROLE` prints a new "
                       "token once (only its hash is kept): it acts as ROLE:NAME, bound to "
                       "cases as an account of that name would be. Send it as "
                       "`Authorization: Bearer TOKEN`. To rotate a key: `token revoke NAME`, "
                       "then `token add NAME` with the same role gives that party a new one.")
    tsub = t.add_subparsers(dest="token_command", required=True, metavar="TOKEN_COMMAND",
                            parser_class=parser_class)
    tadd = tsub.add_parser("add", help="make a token and print it once")
    tadd.add_argument("name", metavar="NAME", help="letters, digits and . _ @ - (at most 64)")
    tadd.add_argument("--role", required=True, choices=ROLES,
                      help="the role it acts in (any but system)")
    tadd.add_argument("--json", action="store_true")
    tls = tsub.add_parser("list", help="the tokens: role, made, last used, revoked")
    tls.add_argument("--json", action="store_true")
    trv = tsub.add_parser("revoke", help="revoke a token at once")
    trv.add_argument("name", metavar="NAME")


@dataclass(frozen=True)
class WebArgs:
    host: str
    port: int
    access_log: bool = False


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


@dataclass(frozen=True)
class UserDisableArgs:
    name: str


@dataclass(frozen=True)
class TokenAddArgs:
    name: str
    role: str
    json: bool


@dataclass(frozen=True)
class TokenListArgs:
    json: bool


@dataclass(frozen=True)
class TokenRevokeArgs:
    name: str


def _valid_name(command: str, name: str) -> None:
    from workflows.core.errors import RefusedError
    if not NAME.fullmatch(name):
        raise RefusedError(f"{command}: {name!r} is not a valid name: use letters, "
                           "digits and . _ @ - (at most 64), starting with a letter or digit")


def user_add(ctx: Context, args: UserAddArgs) -> int:
    from storage import users
    from storage.migrations import require_current
    from workflows.core.errors import RefusedError
    from workflows.core.times import utc_iso
    require_current(ctx.db)
    from workflows.console.auth import hash_password
    _valid_name("user add", args.name)
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


def user_disable(ctx: Context, args: UserDisableArgs) -> int:
    from storage import users
    from storage.migrations import require_current
    from workflows.core.errors import RefusedError
    from workflows.core.times import utc_iso
    require_current(ctx.db)
    if not users.disable_user(ctx.db, args.name, utc_iso(ctx.real.now())):
        raise RefusedError(f"user disable: no account {args.name!r}")
    print(f"disabled {args.name}; its sessions and tokens ended")
    return 0


def user_list(ctx: Context, args: UserListArgs) -> int:
    from storage import users
    from storage.migrations import require_current
    require_current(ctx.db)
    accounts = users.list_users(ctx.db)
    if args.json:
        print(json.dumps([{"name": a.username, "role": a.role, "created_at": a.created_at,
                           "disabled_at": a.disabled_at} for a in accounts], indent=2))
    elif not accounts:
        print("no accounts (add one: ast-engine user add NAME --role auditor)")
    else:
        for a in accounts:
            disabled = f", disabled {a.disabled_at}" if a.disabled_at else ""
            print(f"{a.username:<24} {a.role:<18} added {a.created_at}{disabled}")
    return 0


def token_add(ctx: Context, args: TokenAddArgs) -> int:
    from storage import users
    from storage.migrations import require_current
    from workflows.console.auth import new_token, token_sha256
    from workflows.core.errors import RefusedError
    from workflows.core.times import utc_iso
    require_current(ctx.db)
    _valid_name("token add", args.name)
    token, now = new_token(), utc_iso(ctx.real.now())
    if not users.add_token(ctx.db, args.name, args.role, token_sha256(token), now) \
            and not users.renew_token(ctx.db, args.name, args.role, token_sha256(token), now):
        raise RefusedError(f"token add: there is already a token {args.name!r} (a name is "
                           "the party it acts as, and is never given to another token: revoke "
                           "a live one first to give its party a new one, of the same role)")
    if args.json:
        print(json.dumps({"name": args.name, "role": args.role, "token": token}))
    else:
        print(token)
        print(f"token {args.name} acts as {args.role}:{args.name}; it is shown only now: keep "
              "it in the calling system's secrets", file=sys.stderr)
    return 0


def token_list(ctx: Context, args: TokenListArgs) -> int:
    from storage import users
    from storage.migrations import require_current
    require_current(ctx.db)
    tokens = users.list_tokens(ctx.db)
    if args.json:
        print(json.dumps([{"name": t.name, "role": t.role, "created_at": t.created_at,
                           "last_used_at": t.last_used_at, "revoked_at": t.revoked_at}
                          for t in tokens], indent=2))
    elif not tokens:
        print("no tokens (make one: ast-engine token add NAME --role agency)")
    else:
        for t in tokens:
            used = f"last used {t.last_used_at}" if t.last_used_at else "never used"
            revoked = f", revoked {t.revoked_at}" if t.revoked_at else ""
            print(f"{t.name:<24} {t.role:<18} made {t.created_at}, {used}{revoked}")
    return 0


def token_revoke(ctx: Context, args: TokenRevokeArgs) -> int:
    from storage import users
    from storage.migrations import require_current
    from workflows.core.errors import RefusedError
    from workflows.core.times import utc_iso
    require_current(ctx.db)
    if not users.revoke_token(ctx.db, args.name, utc_iso(ctx.real.now())):
        raise RefusedError(f"token revoke: no live token {args.name!r}")
    print(f"revoked token {args.name}")
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
    from storage.console import (rebuild_if_appointments_lack_their_heads,
                                 rebuild_if_written_before_the_separator, refresh_search)
    from storage.migrations import require_current
    from workflows.console.app import create_app
    from workflows.core.errors import RefusedError
    require_current(ctx.db)
    if not 0 < args.port < 65536:
        raise RefusedError(f"web --port {args.port}: give a port from 1 to 65535")
    _log_to_stderr()
    rebuild_if_written_before_the_separator(ctx.db)
    rebuild_if_appointments_lack_their_heads(ctx.db)
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
                proxy_headers=bool(trusted), forwarded_allow_ips=trusted, server_header=False,
                access_log=args.access_log)
    return 0


def _log_to_stderr() -> None:
    """Logins and failed logins, one line each, with their level (under systemd: the journal)."""
    logger = logging.getLogger("ast_engine")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
