"""`deliver` run as a real process (the leases themselves: tests/engine/test_delivery_lease.py):
a notice is stamped sent by the real clock, never by `--now`'s business clock."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone


def test_a_notice_is_stamped_sent_by_the_real_clock_not_the_business_clock(cli, tmp_path):
    from tests.cli import open_application
    open_application(cli, now="2026-12-18")
    cli.ok("deliver", now="2031-06-01", env={"AST_ENGINE_DELIVERY_FOLDER": str(tmp_path / "o")})
    sent = cli.json("notices")[0]["sent_at"]
    assert abs(datetime.fromisoformat(sent) - datetime.now(timezone.utc)) < timedelta(hours=1)
