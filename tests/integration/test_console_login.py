"""The console's login under hostile use, against `ast-engine web` run as a real process (uvicorn,
its thread pool, its memory): logins sent at once, a burst of them, a forged X-Forwarded-For, and
an attacker who would lock an account's owner out. Each client is a real HTTP client, bound to a
loopback address of its own where the address matters."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.cli import ENGINE

PASSWORD = "correct horse battery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Console:
    """`ast-engine web` on a free port of 127.0.0.1, its output in web.log."""

    def __init__(self, folder: Path, env: dict[str, str]):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = folder / "web.log"
        self._log = open(self.log_path, "w")
        environment = {k: v for k, v in os.environ.items() if not k.startswith("AST_ENGINE_")}
        self.process = subprocess.Popen(
            [sys.executable, str(ENGINE), "--now", "2027-03-01", "web", "--port", str(self.port)],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=folder, env={**environment, **env})
        deadline = time.monotonic() + 60
        while True:   # the one wait in these tests: for the server to answer
            try:
                urllib.request.urlopen(self.base + "/login", timeout=2).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"the console did not start: {self.log()}")
                time.sleep(0.1)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self._log.close()

    def peak_resident_mb(self) -> float:
        """The most memory the process has held resident since it started (VmHWM)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024

    def client(self, address: str = "127.0.0.1") -> httpx.Client:
        return httpx.Client(base_url=self.base, follow_redirects=False, timeout=120,
                            transport=httpx.HTTPTransport(local_address=address))


def form_token(client: httpx.Client) -> str:
    page = client.get("/login")
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def login(client: httpx.Client, username: str = "ann", password: str = PASSWORD,
          headers: dict[str, str] | None = None) -> httpx.Response:
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf": form_token(client)}, headers=headers)


def at_once(console: Console, logins: list[tuple[str, str]]) -> list[httpx.Response]:
    """These logins sent together, each on its own connection, released by one barrier."""
    clients = [console.client() for _ in logins]
    tokens = [form_token(c) for c in clients]
    ready = threading.Barrier(len(logins))

    def send(n: int) -> httpx.Response:
        username, password = logins[n]
        ready.wait()
        return clients[n].post("/login", data={"username": username, "password": password,
                                               "csrf": tokens[n]})

    try:
        with ThreadPoolExecutor(len(logins)) as pool:
            return list(pool.map(send, range(len(logins))))
    finally:
        for c in clients:
            c.close()


@pytest.fixture
def start(cli, request):
    """Starts the console on the test's database with an account `ann`; stopped afterwards."""
    cli.ok("user", "add", "ann", "--role", "auditor", input=PASSWORD + "\n")
    started: list[Console] = []

    def starting(**env: str) -> Console:
        started.append(Console(cli.folder, env))
        return started[-1]

    yield starting
    for console in started:
        console.stop()


def test_logins_sent_at_once_never_check_more_passwords_than_the_limit(start):
    console = start()
    codes = []
    for _ in range(8):   # waves of 8 at once: the limit of 5 is reached within the first few
        codes += [r.status_code for r in at_once(console, [("ann", "guess-guess")] * 8)]
    assert codes.count(401) == 5, codes
    assert set(codes) <= {401, 429, 503}
    with console.client() as client:
        right = login(client)
    assert right.status_code == 429 and "Too many failed logins" in right.text
    assert int(right.headers["retry-after"]) > 0


def test_a_burst_of_forty_logins_keeps_the_console_under_500_mb(start):
    console = start()
    answers = at_once(console, [(f"nobody{n}", "guess-guess") for n in range(40)])
    peak = console.peak_resident_mb()
    print(f"peak resident size after a burst of 40 logins: {peak:.0f} MB")
    assert peak < 500
    assert {r.status_code for r in answers} <= {401, 429, 503}
    busy = [r for r in answers if r.status_code == 503]
    assert busy and all(r.headers["retry-after"] == "1" for r in busy)
    assert "busy checking other logins" in busy[0].text
    with console.client("127.0.0.2") as client:   # and the console still lets its owner in
        assert login(client).status_code == 303
        assert client.get("/").status_code == 200


def test_another_address_still_signs_in_after_an_attackers_failures(start):
    console = start()
    with console.client("127.0.0.1") as attacker:
        codes = [login(attacker, password="guess-guess").status_code for _ in range(8)]
        assert codes == [401] * 5 + [429] * 3
        locked = login(attacker)
    with console.client("127.0.0.2") as owner:
        assert login(owner).status_code == 303
        assert owner.get("/").status_code == 200
    assert "login: ann (auditor) from 127.0.0.2" in console.log()
    assert locked.status_code == 429 and 840 < int(locked.headers["retry-after"]) <= 900
    assert re.search(r"try again after \w{3} \d{4}-\d\d-\d\d \d\d:\d\d \(London time\), in "
                     r"15 minutes\.", locked.text), locked.text


def test_a_forged_x_forwarded_for_is_ignored_by_default(start):
    console = start()
    with console.client() as client:
        codes = [login(client, username=f"guess{n}", password="guess-guess",
                       headers={"x-forwarded-for": f"10.9.0.{n}"}).status_code
                 for n in range(22)]
    assert codes == [401] * 20 + [429] * 2
    log = console.log()
    assert "10.9.0." not in log and "failed login for 'guess0' from 127.0.0.1" in log


def test_a_trusted_proxy_names_the_client_address(start):
    console = start(AST_ENGINE_WEB_TRUSTED_PROXIES="127.0.0.1")
    with console.client() as client:
        assert login(client, password="guess-guess",
                     headers={"x-forwarded-for": "10.9.0.7"}).status_code == 401
    assert "failed login for 'ann' from 10.9.0.7" in console.log()
