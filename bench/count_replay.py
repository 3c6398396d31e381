"""Replay's work counted, not timed: the instructions one replayed log entry takes (`replay
--verify`, in one process), counted by valgrind. Wall-clock figures on a shared machine vary by
half from one minute to the next; this count varies by well under 1%, so two versions of the
code can be compared from one run each.

    python bench/count_replay.py [--db FILE] [--cases 2000]

It needs valgrind (`apt-get install valgrind`). It builds the database as bench_replay.py does
(or reuses --db), then runs replay under valgrind twice, on FEW and on MANY cases after the
same warm-up, and divides the difference by the log entries in between: start-up, imports and
warm-up cancel out. Each run takes about a minute.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WARM, FEW, MANY = 30, 100, 400


def replay(db: Path, cases: int) -> None:
    """Replay (with --verify) the first WARM cases, then the next `cases`: what is counted."""
    from storage.db import Database
    from workflows.core.config import Config
    from workflows.engine.replay import case_ids, replay_many
    database = Database(f"sqlite:///{db}")
    ids = case_ids(database)
    replay_many(database, Config(), ids[:WARM], True, workers=1)
    results = replay_many(database, Config(), ids[WARM:WARM + cases], True, workers=1)
    if not all(r.ok for r in results):
        sys.exit("replay found a difference: count only a database that replays exactly")


def instructions(db: Path, cases: int) -> int:
    out = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
         sys.executable, __file__, "--replay", str(cases), "--db", str(db)],
        capture_output=True, text=True, check=True,
        # Dicts and sets lay out by hash: a fixed seed keeps their work the same between runs.
        env={**os.environ, "PYTHONHASHSEED": "0"})
    found = re.search(r"I\s+refs:\s+([\d,]+)", out.stderr)
    if found is None:
        sys.exit(f"valgrind printed no instruction count:\n{out.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def entries_between(db: Path) -> int:
    """The log entries of the cases counted in MANY but not in FEW (0: too few cases)."""
    from storage import queries
    from storage.db import Database
    database = Database(f"sqlite:///{db}")
    ids = queries.case_ids(database)
    if len(ids) < WARM + MANY:
        return 0
    ids = ids[WARM + FEW:WARM + MANY]
    return sum(len(s.log) for s in queries.stored_cases(database, ids).values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, help="reuse (or build once into) this SQLite file")
    parser.add_argument("--cases", type=int, default=2000, help="cases to build (default 2000)")
    parser.add_argument("--replay", type=int, help=argparse.SUPPRESS)   # the counted child
    args = parser.parse_args()
    if args.replay is not None:
        replay(args.db, args.replay)
        return 0
    if shutil.which("valgrind") is None:
        print("count_replay needs valgrind: apt-get install valgrind", file=sys.stderr)
        return 2
    path = args.db or Path(tempfile.mkdtemp(prefix="ast-count-replay-")) / "cases.db"
    if not path.exists():
        sys.path.insert(0, str(ROOT / "bench"))
        from bench_replay import build
        build(path, args.cases)
    entries = entries_between(path)
    if entries == 0:
        print(f"{path} holds fewer than {WARM + MANY} cases: build at least that many "
              "(--cases 400 builds 480)", file=sys.stderr)
        return 2
    print(f"counting replay --verify of {FEW} and of {MANY} cases under valgrind "
          "(about a minute each) ...", file=sys.stderr, flush=True)
    few, many = instructions(path, FEW), instructions(path, MANY)
    print(f"{entries} log entries between case {WARM + FEW} and case {WARM + MANY}: "
          f"{(many - few) / entries:,.0f} instructions per replayed entry")
    return 0


if __name__ == "__main__":
    sys.exit(main())
