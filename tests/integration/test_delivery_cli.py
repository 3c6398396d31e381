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


def test_deliver_tries_every_pending_notice_once_even_one_waiting_out_its_back_off(cli, tmp_path):
    # CLI.md: "deliver every pending notice once"; "exits 3 when any notice could not be
    # delivered". A second run at once tries the waiting notice again, and says so.
    import socket
    from tests.cli import open_application
    case = open_application(cli)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = {"AST_ENGINE_DELIVERY_CHANNEL": "smtp", "AST_ENGINE_DELIVERY_SMTP_HOST": "127.0.0.1",
                "AST_ENGINE_DELIVERY_SMTP_PORT": str(s.getsockname()[1])}
    for attempt in (1, 2):
        refused = cli("deliver", env=dead)
        assert refused.returncode == 3, refused.stdout + refused.stderr
        assert f"notice {case}.1.1 not delivered (attempt {attempt} of 8)" in refused.stdout
        assert "0 notice(s) sent, 1 to retry later, 0 failed" in refused.stdout
    sent = cli("deliver", env={"AST_ENGINE_DELIVERY_FOLDER": str(tmp_path / "o")})
    assert sent.returncode == 0 and "1 notice(s) sent" in sent.stdout
    assert [n["status"] for n in cli.json("notices")] == ["sent"]
