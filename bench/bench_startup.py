#!/usr/bin/env python3
"""How long does an operator wait for `show`, `list` and `status`? The whole process, timed.

    python bench/bench_startup.py [--runs 15]

The demo database is made first (`ast-engine demo --keep DIR`); then each command runs `--runs`
times as a new process (the engine's installed entry point, as an operator types it) after one
untimed run that warms the file cache, and the median and the fastest wall time are printed
beside those of `python -c pass`, the floor no Python command can go below. Target: under
0.3 s warm for each (issue 12, item 11).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 0.3


def engine_command() -> list[str]:
    installed = Path(sys.executable).parent / "ast-engine"
    if installed.exists():
        return [str(installed)]
    return [sys.executable, str(Path(__file__).resolve().parent.parent / "run_engine.py")]


def timed(command: list[str], runs: int, cwd: Path) -> list[float]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AST_ENGINE_")}
    subprocess.run(command, cwd=cwd, env=environment, capture_output=True, check=True)
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, env=environment, capture_output=True, check=True)
        seconds.append(time.perf_counter() - start)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    engine = engine_command()
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as folder:
        where = Path(folder)
        subprocess.run(engine + ["demo", "--keep", str(where / "demo")], cwd=where,
                       capture_output=True, check=True)
        db = ["--db", f"sqlite:///{where / 'demo' / 'demo.db'}"]
        listed = subprocess.run(engine + db + ["list", "--json"], cwd=where,
                                capture_output=True, check=True, text=True)
        case = json.loads(listed.stdout)[0]["case"]
        commands = {"python -c pass": [sys.executable, "-c", "pass"],
                    f"show {case}": engine + db + ["show", case],
                    "list": engine + db + ["list"],
                    "status": engine + db + ["status"]}
        print(f"{args.runs} runs each, demo database, whole process (wall time):")
        worst = 0.0
        for name, command in commands.items():
            seconds = timed(command, args.runs, where)
            median = statistics.median(seconds)
            if name != "python -c pass":
                worst = max(worst, median)
            print(f"  {name:<24} median {median:.3f} s   fastest {min(seconds):.3f} s")
        print(f"slowest median {worst:.3f} s against a target of {TARGET_SECONDS} s: "
              f"{'met' if worst < TARGET_SECONDS else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
