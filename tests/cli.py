"""The command line run as a real process, as scripts and operators run it: on a real database
file, with the business clock set by --now, and no AST_ENGINE_* variable of the test runner's."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from tests import ROOT
from tests.builders import Driver, application_data

ENGINE = ROOT / "run_engine.py"


class Cli:
    def __init__(self, folder: Path, db: str | None = None):
        self.folder, self.db = folder, db

    def __call__(self, *args: str, now: str | None = None, env: dict | None = None,
                 input: str | None = None):
        command = [sys.executable, str(ENGINE)]
        if self.db:
            command += ["--db", self.db]
        if now:
            command += ["--now", now]
        environment = {k: v for k, v in os.environ.items() if not k.startswith("AST_ENGINE_")}
        environment.update(env or {})
        return subprocess.run(command + list(args), cwd=self.folder, capture_output=True,
                              text=True, env=environment, timeout=120,
                              input=input)

    def ok(self, *args, **kw):
        result = self(*args, **kw)
        assert result.returncode == 0, result.stderr
        return result

    def json(self, *args, **kw):
        return json.loads(self.ok(*args, "--json", **kw).stdout)


def open_application(cli, now="2026-12-18", **changes):
    return cli.ok("open", "application", "--actor", "headteacher:h.brown", "--data",
                  json.dumps(application_data(**changes)), now=now).stdout.strip()


def url_of(cli: Cli) -> str:
    """The database the command line runs on: --db, or `ast_engine.db` in its folder."""
    return cli.db or f"sqlite:///{cli.folder / 'ast_engine.db'}"


@contextmanager
def in_process(cli: Cli, now: str = "2026-12-18") -> Iterator[Driver]:
    """The engine in this process on the command line's database (the built-in
    configuration), its business clock at `now`: to bring a case to where a test's commands
    start, when the walk there is not what the test is about."""
    from storage.db import Database
    from workflows.core.clock import FixedClock
    from workflows.core.config import Config
    from workflows.core.times import parse_instant
    from workflows.engine import Engine
    db = Database(url_of(cli))
    try:
        clock = FixedClock(parse_instant(now))
        yield Driver(Engine(db, Config(), clock=clock), clock)
    finally:
        db.dispose()


def open_in_process(cli: Cli, now: str = "2026-12-18", **changes) -> str:
    """The application `open_application` opens, opened by the engine in this process on the
    command line's database: for a test whose point is a later command, not the opening."""
    with in_process(cli, now) as driver:
        return driver.open(data=application_data(**changes), actor="headteacher:h.brown").case


def stored(cli: Cli) -> dict:
    """Every row of every table of the command line's database, read in this process: what a
    refused command must leave as it was."""
    from storage.db import Database
    from tests.builders import snapshot
    db = Database(url_of(cli))
    try:
        return snapshot(db)
    finally:
        db.dispose()
