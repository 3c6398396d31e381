"""`ast-engine web` started as a real process on a free port, for the tests that drive it from
outside (a browser, Schemathesis): it answers, or the test fails with what the server said."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from tests.cli import ENGINE
from tests.mailserver import free_port


@contextmanager
def served(folder: Path, now: str, db: str | None = None) -> Iterator[tuple[str, Path]]:
    """The console on `db` (the default database of `folder` when None), the business clock
    at `now`: yields its base URL and its log file; stopped at the end."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AST_ENGINE_")}
    log_path = folder / "web.log"
    command = [sys.executable, str(ENGINE), *(("--db", db) if db else ()), "--now", now, "web",
               "--port", str(port)]
    with open(log_path, "w") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                  cwd=folder)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:   # the one wait: for the server to answer
            try:
                urllib.request.urlopen(base + "/login", timeout=2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()
                    pytest.fail(f"the console did not start: {log_path.read_text()}")
                time.sleep(0.1)
        try:
            yield base, log_path
        finally:
            server.terminate()
            server.wait(timeout=30)
