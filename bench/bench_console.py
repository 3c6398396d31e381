"""The web console on a large database: how long the case search and the incident list take to
answer with 100,000 cases (issue 13's target: under 300 ms), on SQLite and on PostgreSQL; and
the front door's figures (issue 24's targets, at 10,000 cases: a form POST or an API trigger
under 150 ms at the 95th percentile, an operator's /tasks under 300 ms, API triggers at least
half as many a second as `Engine.fire` called directly in the same run).

    python bench/bench_console.py                          # 100,000 cases on SQLite
    python bench/bench_console.py --cases 10000            # issue 24's database
    python bench/bench_console.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/test
    python bench/bench_console.py --cases 20000 --repeat 30

It walks a few dozen cases through the engine on a scratch database (opened and left overdue,
deadlines missed, certified, not met and reviewed, appointments), then clones their rows
(cases, log, timers, notices) N times with fresh ids, names, addresses and schools into a freshly
migrated database through SQLAlchemy Core (the cloned log's hashes are not recomputed: nothing
here verifies them). One case in a hundred gets a failed notice and one in five hundred a timer
that failed to fire. Then it times, each `--repeat` times (median and 95th percentile):
- the search table's first fill (`refresh_search` from nothing: what `ast-engine web` does
  once at start);
- each query alone (storage/console.py), and
- the whole HTTP request through the console's Starlette app (session check, refresh check,
  query, template), signed in, in this process.
Then the front door (workflows/console/api.py and the forms), against `ast-engine web` run as a
process of its own, as it is deployed, through whole HTTP requests on keep-alive connections: an
operator's /tasks; and `--act` fresh applications each supported three ways, one call at a
time: by `Engine.fire` itself, by `POST /api/v1/cases/CASE/triggers/support` with a bearer
token, and by the support form of a signed-in headteacher, each timed per call (median, p95)
and as calls a second. Last, throughput under load (`--clients` callers at once, `--act` more
applications): the API from that many connections, against `Engine.fire` from that many threads
of this process, one write at a time as the console makes them.
Figures are printed, never asserted; the business clock is 2027-06-01.
"""
from __future__ import annotations

import argparse
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, select, text, update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from storage import tables, users  # noqa: E402
from storage.console import incidents, refresh_search, search  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrations import migrate  # noqa: E402
from tests.builders import AGENCY, Driver, appointment_data  # noqa: E402
from workflows.core.clock import FixedClock  # noqa: E402
from workflows.core.config import Config  # noqa: E402
from workflows.console import views  # noqa: E402
from workflows.engine import Engine  # noqa: E402
from workflows.core.times import parse_instant  # noqa: E402

NOW = "2027-06-01T08:00:00+00:00"
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
FIRST = ["Ann", "Ben", "Carla", "Dev", "Eve", "Femi", "Gita", "Hugo", "Ida", "Jon", "Kemi",
         "Liam", "Mia", "Noor", "Owen", "Priya"]
LAST = ["Lee", "Okafor", "Diaz", "Patel", "Smith", "Jones", "Brown", "Khan", "Wong", "Evans",
        "Taylor", "Ahmed", "Murphy", "Clarke", "Singh", "Walker"]


def walk_templates(folder: Path) -> list[str]:
    """Cases in the shapes a real database holds; returns their ids."""
    db = Database(f"sqlite:///{folder / 'templates.db'}")
    migrate(db, "2026-11-01T00:00:00+00:00")
    clock = FixedClock(parse_instant("2026-12-18"))
    d = Driver(Engine(db, Config(), clock=clock), clock)
    ids = []
    for n in range(6):                               # received; deadline missed at the tick
        ids.append(d.open(at="2026-12-18").case)
    for n in range(8):                               # certified with both letters
        case = d.to_certified()
        d.fire(case, "send_decision_letter", AGENCY, at="2027-02-11")
        d.fire(case, "send_written_feedback", AGENCY, {"feedback": "Clear."}, at="2027-02-12")
        ids.append(case)
    for n in range(3):                               # not met, under review
        ids += list(d.to_review())
    for n in range(3):                               # not met, window runs
        ids.append(d.to_not_met())
    for n in range(3):                               # at the agency: timers pending past NOW
        ids.append(d.to_assessment_scheduled(received="2027-04-01"))
    for n in range(2):
        ids.append(d.open("appointment", appointment_data(), actor="headteacher:v.vale",
                          at="2026-12-01").case)
    d.tick("2027-05-20")
    for n in range(3):                               # deadlines that pass before NOW, unfired
        ids.append(d.open(at="2027-05-01").case)
    db.dispose()
    return ids


def read_templates(folder: Path, ids: list[str]) -> list[dict]:
    engine = create_engine(f"sqlite:///{folder / 'templates.db'}")
    out = []
    with engine.connect() as conn:
        for case_id in ids:
            out.append({
                "case": dict(conn.execute(select(tables.Case.__table__).where(
                    tables.Case.__table__.c.id == case_id)).mappings().one()),
                "log": [dict(r) for r in conn.execute(select(tables.TransitionLog.__table__)
                        .where(tables.TransitionLog.__table__.c.case_id == case_id)).mappings()],
                "timers": [dict(r) for r in conn.execute(select(tables.Timer.__table__).where(
                    tables.Timer.__table__.c.case_id == case_id)).mappings()],
                "notices": [dict(r) for r in conn.execute(select(tables.Notice.__table__).where(
                    tables.Notice.__table__.c.case_id == case_id)).mappings()]})
    engine.dispose()
    return out


def clone(url: str, templates: list[dict], n: int, seed: int = 7) -> float:
    """n cases cloned from the templates, with fresh ids, people and schools."""
    started = time.perf_counter()
    rng = random.Random(seed)
    engine = create_engine(url)
    gseq, chunk = 0, 5000
    for start in range(0, n, chunk):
        cases, logs, timers, notices = [], [], [], []
        for i in range(start, min(n, start + chunk)):
            tpl = templates[i % len(templates)]
            old = tpl["case"]["id"]
            new = old[:4] + "".join(rng.choice(ALPHABET) for _ in range(10))
            first, last = rng.choice(FIRST), rng.choice(LAST)
            name = f"{first} {last}{i}"
            email = f"{first.lower()}.{last.lower()}{i}@s{i % 3000}.example.org"
            school = f"{rng.choice(LAST)} {'Primary' if i % 3 else 'Secondary'} School {i % 3000}"

            def fix(value, _old=old, _new=new, _name=name, _email=email, _school=school):
                if not isinstance(value, str):
                    return value
                value = value.replace(_old, _new)
                value = value.replace("Ann Lee", _name).replace("ann.lee@hill.example.org",
                                                                   _email)
                return re.sub(r"(Hill Primary|Vale Secondary) School", _school, value)

            cases.append({k: fix(v) for k, v in tpl["case"].items()})
            for e in tpl["log"]:
                gseq += 1
                logs.append({**{k: fix(v) for k, v in e.items()}, "global_seq": gseq})
            for t in tpl["timers"]:
                row = {k: fix(v) for k, v in t.items() if k != "id"}
                if i % 500 == 7 and row["status"] == "pending":
                    row.update(status="failed", attempts=3, last_error="RuntimeError: boom")
                timers.append(row)
            for m in tpl["notices"]:
                row = {k: fix(v) for k, v in m.items()}
                if i % 100 == 3:
                    row.update(status="failed", attempts=8, last_error="550 mailbox unavailable")
                notices.append(row)
        with engine.begin() as conn:
            conn.execute(insert(tables.Case.__table__), cases)
            conn.execute(insert(tables.TransitionLog.__table__), logs)
            conn.execute(insert(tables.Timer.__table__), timers)
            conn.execute(insert(tables.Notice.__table__), notices)
        print(f"  cloned {min(n, start + chunk):,} of {n:,} cases", file=sys.stderr, flush=True)
    with engine.begin() as conn:
        conn.execute(update(tables.ChainHead.__table__).values(global_seq=gseq))
        conn.execute(text("ANALYZE"))   # as a database in use would have its statistics
    engine.dispose()
    return time.perf_counter() - started


def timed(label: str, repeat: int, call) -> list[float]:
    call()   # warm: the first run pays for caches and compiled statements
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    print(f"  {label:<58} median {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms")
    return times


def run(url: str, n: int, repeat: int, folder: Path, templates: list[dict],
        act: int = 200, clients: int = 4) -> None:
    db = Database(url)
    migrate(db, "2026-11-01T00:00:00+00:00")
    print(f"cloning {n:,} cases into {db.dialect} ...", file=sys.stderr)
    print(f"{db.dialect}: {n:,} cases cloned in {clone(url, templates, n):.0f} s")
    started = time.perf_counter()
    taken = refresh_search(db)
    print(f"  search table's first fill: {taken:,} cases in {time.perf_counter() - started:.1f} s")
    duty = views.duty_timers()
    queries = {
        "search: everything, overdue first (page 1)":
            lambda: search(db, "", None, None, False, NOW, 50, 0),
        "search: 'patel' (a common surname)": lambda: search(db, "patel", None, None, False,
                                                              NOW, 50, 0),
        "search: 'patel4242' (one person)": lambda: search(db, "patel4242", None, None, False,
                                                           NOW, 50, 0),
        "search: an email domain '@s1234.'": lambda: search(db, "@s1234.", None, None, False,
                                                            NOW, 50, 0),
        "search: kind application, state received": lambda: search(
            db, "", "application", "received", False, NOW, 50, 0),
        "search: overdue only": lambda: search(db, "", None, None, True, NOW, 50, 0),
        "search: everything, page 1,000": lambda: search(db, "", None, None, False, NOW, 50,
                                                         49_950),
        "incidents: all (page 1)": lambda: incidents(db, duty, None, NOW, 50, 0),
        "incidents: missed deadlines (page 1)": lambda: incidents(db, duty, "missed", NOW, 50,
                                                                  0),
        "incidents: failed notices (page 1)": lambda: incidents(db, duty, "failed_notice", NOW,
                                                                50, 0),
        "incidents: all, page 200": lambda: incidents(db, duty, None, NOW, 50, 9_950),
    }
    print("  the queries alone (storage/console.py):")
    for label, call in queries.items():
        timed(label, repeat, call)
    found = search(db, "", None, None, False, NOW, 1, 0)
    print(f"  ({found.total:,} cases; {incidents(db, duty, None, NOW, 1, 0)[0].total:,} "
          "incidents)")
    http(db, repeat)
    front_door(db, url, folder, repeat, act, clients)
    db.dispose()


def http(db: Database, repeat: int) -> None:
    from starlette.testclient import TestClient
    from workflows.console.app import create_app
    from workflows.console.auth import hash_password
    real = FixedClock(parse_instant(NOW))
    users.add_user(db, "bench", "auditor", hash_password("bench-password"), NOW)
    client = TestClient(create_app(db, Config(), FixedClock(parse_instant(NOW)), real),
                        base_url="http://localhost")
    form = client.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    assert client.post("/login", data={"username": "bench", "password": "bench-password",
                                       "csrf": csrf}).status_code == 200
    case = re.search(r'href="/cases/([^"]+)"', client.get("/").text).group(1)
    print("  whole HTTP requests (signed in; session, refresh check, query, template):")
    for label, path in (("GET /", "/"), ("GET /?q=patel", "/?q=patel"),
                        ("GET /?q=patel4242", "/?q=patel4242"),
                        ("GET /?kind=application&state=received",
                         "/?kind=application&state=received"),
                        ("GET /incidents", "/incidents"),
                        ("GET /incidents?what=missed&page=20", "/incidents?what=missed&page=20"),
                        ("GET /cases/ID", f"/cases/{case}")):
        timed(label, repeat, lambda p=path: client.get(p).raise_for_status())


def summary(label: str, times: list[float]) -> None:
    times = sorted(times)
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    print(f"  {label:<58} median {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms   "
          f"{1000 * len(times) / sum(times):6.1f}/s")


class Http:
    """One keep-alive connection to the console, as another system (or a browser) holds one,
    with the cookies it was given."""

    def __init__(self, port: int):
        import http.client
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}

    def call(self, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        sent = dict(headers or {})
        if self.cookies:
            sent["cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.conn.request(method, path, body, sent)
        answer = self.conn.getresponse()
        for header, value in answer.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return answer.status, answer.read()

    def log_in(self, name: str, password: str) -> str:
        from urllib.parse import urlencode
        _, page = self.call("GET", "/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.decode()).group(1)
        status, _ = self.call("POST", "/login", urlencode({
            "username": name, "password": password, "csrf": csrf}).encode(),
            {"content-type": "application/x-www-form-urlencoded"})
        assert status == 303, status
        _, page = self.call("GET", "/tasks")
        return re.search(r'name="csrf" value="([^"]+)"', page.decode()).group(1)


def serve(url: str, folder: Path) -> tuple[subprocess.Popen, int]:
    """`ast-engine web` on this database, as it is run: a process of its own, on a free port."""
    import socket
    import urllib.request
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, str(ROOT / "run_engine.py"), "--db", url,
                               "--now", NOW, "web", "--port", str(port)],
                              stdout=subprocess.DEVNULL,
                              stderr=open(folder / "web.log", "w"))
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2).close()
            return server, port
        except OSError:
            if server.poll() is not None:
                sys.exit((folder / "web.log").read_text())
            time.sleep(0.1)


def front_door(db: Database, url: str, folder: Path, repeat: int, act: int,
               clients: int = 4) -> None:
    """Issue 24's figures: the task list, and a trigger three ways on fresh applications. The
    console runs as `ast-engine web` in a process of its own, and this process is its client,
    as the agency's system would be: each figure is a whole HTTP request on a keep-alive
    connection. `Engine.fire` is called in this process, on the same database, while the
    console is idle."""
    import json
    from urllib.parse import urlencode
    from tests.builders import application_data
    from workflows.console.auth import hash_password, new_token, token_sha256
    from workflows.engine import Actor
    clock = FixedClock(parse_instant(NOW))
    hashed = hash_password("bench-password")
    users.add_user(db, "desk", "operator", hashed, NOW)
    users.add_user(db, "tom.reed", "headteacher", hashed, NOW)
    token = new_token()
    users.add_token(db, "tom.reed", "headteacher", token_sha256(token), NOW)
    engine = Engine(db, Config(), clock=clock)
    head = Actor("headteacher", "tom.reed")
    fresh = [engine.open("application", head, application_data()).case
             for _ in range((3 + 2) * act)]
    busy = fresh[3 * act:]   # for the figures under load, below
    fresh = fresh[:3 * act]
    server, port = serve(url, folder)
    try:
        desk = Http(port)
        desk.log_in("desk", "bench-password")
        bearer = {"authorization": f"Bearer {token}"}
        print("  the front door (issue 24; `ast-engine web` in its own process, whole HTTP "
              "requests):")
        for label, path, headers in (
                ("GET /tasks (an operator: every party's, page 1)", "/tasks", {}),
                ("GET /tasks?role=agency&page=20", "/tasks?role=agency&page=20", {}),
                ("GET /api/v1/tasks (a headteacher's, by token)", "/api/v1/tasks", bearer)):
            timed(label, repeat, lambda p=path, h=headers: _ok(desk.call("GET", p, None, h)))
        support = {"evaluation": "Strong practice across the school."}
        direct, api, form = [], [], []
        for case in fresh[:act]:
            started = time.perf_counter()
            engine.fire(case, "support", head, support)
            direct.append((time.perf_counter() - started) * 1000)
        system = Http(port)
        body = json.dumps({"data": support}).encode()
        for case in fresh[act:2 * act]:
            started = time.perf_counter()
            status, answer = system.call("POST", f"/api/v1/cases/{case}/triggers/support", body,
                                         {**bearer, "content-type": "application/json"})
            api.append((time.perf_counter() - started) * 1000)
            assert status == 201, answer[-500:]
        tom = Http(port)
        csrf = tom.log_in("tom.reed", "bench-password")
        for case in fresh[2 * act:]:
            sent = urlencode({"csrf": csrf, "version": "1", "evaluation": support["evaluation"],
                              "effective_at": ""}).encode()
            started = time.perf_counter()
            status, answer = tom.call("POST", f"/cases/{case}/act/support", sent,
                                      {"content-type": "application/x-www-form-urlencoded"})
            form.append((time.perf_counter() - started) * 1000)
            assert status == 303, answer[-500:]
        loaded = under_load(engine, head, support, busy, port, bearer, clients)
    finally:
        server.terminate()
        server.wait(timeout=30)
    summary(f"Engine.fire support, called directly ({act})", direct)
    summary(f"POST /api/v1/cases/CASE/triggers/support ({act})", api)
    summary(f"POST /cases/CASE/act/support, the form ({act})", form)
    ratio = (len(api) / sum(api)) / (len(direct) / sum(direct))
    print(f"  API triggers a second / Engine.fire calls a second, one at a time: {ratio:.2f}")
    (fired, fire_wall), (posted, post_wall) = loaded
    print(f"  under load, {clients} at once: Engine.fire from {clients} threads "
          f"{fired / fire_wall:6.1f}/s; the API from {clients} connections "
          f"{posted / post_wall:6.1f}/s")
    print(f"  API triggers a second / Engine.fire calls a second, {clients} at once: "
          f"{(posted / post_wall) / (fired / fire_wall):.2f}")


def under_load(engine, head, support, cases, port, bearer, clients):
    """Throughput as a server is asked for it: `clients` callers at once, each with its own
    keep-alive connection, against `Engine.fire` called from as many threads of this process
    (one at a time, as the console's FrontDoor writes: SQLite has one writer). Half the cases
    each way; (calls, seconds) for each."""
    import json
    import threading
    from concurrent.futures import ThreadPoolExecutor
    half = len(cases) // 2
    writing = threading.Lock()

    def fire(case):
        with writing:
            engine.fire(case, "support", head, support)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(fire, cases[:half]))
    fire_wall = time.perf_counter() - started
    body = json.dumps({"data": support}).encode()
    local = threading.local()

    def post(case):
        if not hasattr(local, "http"):
            local.http = Http(port)
        status, answer = local.http.call("POST", f"/api/v1/cases/{case}/triggers/support",
                                         body, {**bearer, "content-type": "application/json"})
        assert status == 201, answer[-500:]

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(post, cases[half:]))
    return (half, fire_wall), (len(cases) - half, time.perf_counter() - started)


def _ok(answer: tuple[int, bytes]) -> None:
    assert answer[0] == 200, answer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--pg", metavar="URL", help="also on this PostgreSQL server (in a "
                        "schema of its own, dropped at the end)")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--act", type=int, default=200,
                        help="fresh applications supported each way (default 200)")
    parser.add_argument("--clients", type=int, default=4,
                        help="callers at once for the throughput under load (default 4)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print("walking the template cases through the engine ...", file=sys.stderr)
        templates = read_templates(folder, walk_templates(folder))
        if not args.no_sqlite:
            run(f"sqlite:///{folder / 'console.db'}", args.cases, args.repeat, folder, templates,
                args.act, args.clients)
        if args.pg:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f"CREATE SCHEMA {schema}"))
            try:
                url = make_url(args.pg).update_query_dict({"options": f"-csearch_path={schema}"})
                run(url.render_as_string(hide_password=False), args.cases, args.repeat, folder,
                    templates, args.act, args.clients)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
