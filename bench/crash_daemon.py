"""The daemon's crash test at scale: SIGKILL it at random moments while it works through
overdue timers and their notices, as many times as asked (200 by default), then check that
every timer fired exactly once, both hash chains verify, every notice arrived at least once and
at most once plus one per kill, and nothing is left pending.

    python bench/crash_daemon.py [--kills 200] [--cases 1000] [--seed N]
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import daemon_harness as h  # noqa: E402
from tests.mailserver import MailServer  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--cases", type=int, help="overdue cases (default: 1,000, or ten per "
                        "kill when more, so that every kill lands in work)")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    args.cases = args.cases or max(1000, 10 * args.kills)
    folder = Path(tempfile.mkdtemp(prefix="ast-crash-"))
    url = f"sqlite:///{folder / 'cases.db'}"
    print(f"seed {args.seed}; database {url}; {args.cases} overdue cases")
    h.seed_overdue(url, args.cases)
    rng = random.Random(args.seed)
    started = time.perf_counter()
    with MailServer() as server:
        env = h.daemon_env(smtp_port=server.port)

        def progress(n, c):
            if n % 10 == 0 or n == args.kills:
                print(f"  kill {n}: {c['fired_timers']} timers fired, {c['sent_notices']} of "
                      f"{c['notices']} notices sent", flush=True)

        kills = h.crash_run(url, folder / "daemon.log", env, args.kills, rng,
                            window=(0.55, 0.9), on_kill=progress)
        arrived = server.recorder.ids()
    seconds = time.perf_counter() - started
    per_case = h.timer_entries_per_case(url)
    final = h.counts(url)
    expected = h.message_ids(h.notice_ids(url))
    duplicates = sum(n - 1 for n in arrived.values())
    checks = {
        "every timer fired exactly once": len(per_case) == args.cases
        and set(per_case.values()) == {1} and final["fired_timers"] == args.cases,
        "both hash chains verify": h.chains_verify(url),
        "every notice arrived": set(arrived) == expected,
        "resends at most one per kill": duplicates <= kills,
        "nothing stuck": final["pending_timers"] == 0 and final["pending_notices"] == 0,
    }
    print(f"{kills} kills in {seconds:.0f} s; {len(expected)} notices, {duplicates} resent")
    for name, ok in checks.items():
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
