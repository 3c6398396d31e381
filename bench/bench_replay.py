"""Replay speed: log entries rebuilt (and verified) per second. Builds N cases with the engine
(each walked to certified with both letters sent and a few not met, reviewed and closed), then
replays them all from their logs with --verify. Target (issue): 20,000 entries/s.

    python bench/bench_replay.py [--cases 500]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage.db import Database  # noqa: E402
from storage.migrations import migrate  # noqa: E402
from tests.builders import AGENCY, Driver  # noqa: E402
from workflows.clock import FixedClock  # noqa: E402
from workflows.config import Config  # noqa: E402
from workflows.engine import Engine  # noqa: E402
from workflows.replay import case_ids, replay_many  # noqa: E402
from workflows.times import parse_instant  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=500)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ast-bench-replay-"))
    db = Database(f"sqlite:///{folder / 'cases.db'}")
    migrate(db, "2026-01-01T00:00:00+00:00")
    clock = FixedClock(parse_instant("2026-12-18"))
    driver = Driver(Engine(db, clock=clock), clock)
    started = time.perf_counter()
    for n in range(args.cases):
        if n % 5 == 4:
            driver.to_review()
        else:
            case = driver.to_certified()
            driver.fire(case, "send_decision_letter", AGENCY, at="2027-02-11")
            driver.fire(case, "send_written_feedback", AGENCY, {"feedback": "Clear."},
                        at="2027-02-12")
    print(f"built {args.cases} cases in {time.perf_counter() - started:.1f} s")
    ids = case_ids(db)
    for verify in (False, True):
        started = time.perf_counter()
        results = replay_many(db, Config(), ids, verify)
        seconds = time.perf_counter() - started
        entries = sum(r.entries for r in results)
        ok = sum(r.ok for r in results)
        print(f"replay{' --verify' if verify else ''}: {len(results)} cases, {entries} entries in "
              f"{seconds:.1f} s = {entries / seconds:.0f} entries/s ({ok} match; target 20,000/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
