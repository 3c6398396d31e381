"""The long form of the fuzz of trigger sequences (tests/fuzzing.py): N random sequences through
the engine's API, each on a fresh SQLite file, every property checked after every call and every
sequence. Prints progress, then its counts on the last line; exits 1 when any call raised an
unexpected exception or any property broke (the shrunk failing sequence is printed above).

    python bench/fuzz_sequences.py --sequences 10000 --seed 20261130 [--steps 30]
"""
from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import HealthCheck, seed, settings  # noqa: E402
from hypothesis.stateful import run_state_machine_as_test  # noqa: E402

from tests import fuzzing  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sequences", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--steps", type=int, default=30, help="at most this many calls each")
    args = parser.parse_args()

    started = time.monotonic()
    last_report = [started]
    stats = fuzzing.STATS
    original = fuzzing.TriggerSequences.teardown

    def teardown(self):
        original(self)
        now = time.monotonic()
        if now - last_report[0] >= 30:
            last_report[0] = now
            print(f"  {stats.sequences} sequences, {sum(stats.calls.values())} calls, "
                  f"{now - started:.0f} s", flush=True)

    fuzzing.TriggerSequences.teardown = teardown   # type: ignore[method-assign]
    machine = seed(args.seed)(type("Seeded", (fuzzing.TriggerSequences,), {}))
    failed = None
    try:
        run_state_machine_as_test(machine, settings=settings(
            max_examples=args.sequences, stateful_step_count=args.steps, database=None,
            deadline=None, suppress_health_check=list(HealthCheck), print_blob=True))
    except Exception as err:   # hypothesis has printed the shrunk sequence
        failed = err
        traceback.print_exception(err)
    elapsed = time.monotonic() - started
    calls = stats.calls
    broken = len(stats.broken)
    print(f"{stats.sequences} sequences (seed {args.seed}, up to {args.steps} calls each) in "
          f"{elapsed:.0f} s: calls ok {calls['ok']}, refused {calls['refused']}, unexpected "
          f"{calls['unexpected']}; properties broken {broken}"
          + (f"; FAILED: {type(failed).__name__}: {str(failed).splitlines()[0]}"
             if failed else ""))
    return 1 if failed or calls["unexpected"] or broken else 0


if __name__ == "__main__":
    sys.exit(main())
