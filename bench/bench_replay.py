"""Replay speed: log entries rebuilt (and verified) per second. Builds N cases with the engine
(each walked to certified with both letters sent, every fifth one not met, reviewed and
closed), then replays them all from their logs, without and with --verify, in this process and
in worker processes (as `replay --all` does). Target (issue 4): 20,000 entries/s.

    python bench/bench_replay.py [--cases 2000] [--repeat 3] [--db FILE]

Machines here share their CPU: the same run can take half as long again from one minute to the
next. So each figure is the best of --repeat runs, and a fixed pure-Python loop is timed beside
them (`calibration`): compare figures from two runs only with their calibrations.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage.db import Database  # noqa: E402
from storage.migrations import migrate  # noqa: E402
from tests.builders import AGENCY, Driver  # noqa: E402
from workflows.core.clock import FixedClock  # noqa: E402
from workflows.core.config import Config  # noqa: E402
from workflows.engine import Engine  # noqa: E402
from workflows.engine.replay import case_ids, replay_many  # noqa: E402
from workflows.core.times import parse_instant  # noqa: E402


def build(path: Path, cases: int) -> None:
    db = Database(f"sqlite:///{path}")
    migrate(db, "2026-01-01T00:00:00+00:00")
    clock = FixedClock(parse_instant("2026-12-18"))
    driver = Driver(Engine(db, clock=clock), clock)
    started = time.perf_counter()
    for n in range(cases):
        if n % 5 == 4:
            driver.to_review()
        else:
            case = driver.to_certified()
            driver.fire(case, "send_decision_letter", AGENCY, at="2027-02-11")
            driver.fire(case, "send_written_feedback", AGENCY, {"feedback": "Clear."},
                        at="2027-02-12")
        if (n + 1) % 500 == 0:
            print(f"  built {n + 1} of {cases}", file=sys.stderr, flush=True)
    print(f"built {cases} cases in {time.perf_counter() - started:.1f} s")
    db.dispose()


def calibration() -> float:
    """Milliseconds for a fixed loop: how fast this machine is running Python just now."""
    started = time.perf_counter()
    sum(i * i for i in range(2_000_000))
    return (time.perf_counter() - started) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", type=Path, help="reuse (or build once into) this SQLite file")
    args = parser.parse_args()
    path = args.db or Path(tempfile.mkdtemp(prefix="ast-bench-replay-")) / "cases.db"
    if not path.exists():
        build(path, args.cases)
    db = Database(f"sqlite:///{path}")
    ids = case_ids(db)
    cpus = len(os.sched_getaffinity(0))
    print(f"{len(ids)} cases; {cpus} CPUs; calibration {calibration():.0f} ms")
    for verify in (False, True):
        for workers in sorted({1, cpus}):
            best, results = float("inf"), []
            for _ in range(args.repeat):
                started = time.perf_counter()
                results = replay_many(db, Config(), ids, verify, workers=workers)
                best = min(best, time.perf_counter() - started)
            entries = sum(r.entries for r in results)
            ok = sum(r.ok for r in results)
            print(f"replay{' --verify' if verify else '         '} {workers} process(es): "
                  f"{entries} entries in {best:.2f} s = {entries / best:,.0f} entries/s, "
                  f"{best / entries * 1e6:.0f} us each ({ok} of {len(results)} match; "
                  f"target 20,000/s)")
    print(f"calibration {calibration():.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
