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


def test_a_notice_waiting_out_its_back_off_is_named_and_deliver_exits_3_until_it_is_sent(
        cli, tmp_path):
    # CLI.md: deliver "exits 3 when any notice could not be delivered (each named)". One that
    # waits out its back-off is not tried again at once (its attempts are not spent), but it
    # is named, and it is not delivered: exit 3, until `notices retry` and a working relay.
    import socket
    from tests.cli import open_application
    case = open_application(cli)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = {"AST_ENGINE_DELIVERY_CHANNEL": "smtp", "AST_ENGINE_DELIVERY_SMTP_HOST": "127.0.0.1",
                "AST_ENGINE_DELIVERY_SMTP_PORT": str(s.getsockname()[1])}
    refused = cli("deliver", env=dead)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert f"notice {case}.1.1 not delivered (attempt 1 of 8)" in refused.stdout
    again = cli("deliver", env=dead)
    assert again.returncode == 3, again.stdout + again.stderr
    assert f"notice {case}.1.1 waits to be tried again at" in again.stdout
    assert "0 notice(s) sent, 0 to retry later, 0 failed, 1 waiting" in again.stdout
    import json
    listed = cli("deliver", "--json", env=dead)
    assert listed.returncode == 3 and json.loads(listed.stdout)["waiting"] == [f"{case}.1.1"]
    assert cli.json("notices")[0]["attempts"] == 1
    cli.ok("notices", "retry", "--all")
    sent = cli("deliver", env={"AST_ENGINE_DELIVERY_FOLDER": str(tmp_path / "o")})
    assert sent.returncode == 0 and "1 notice(s) sent" in sent.stdout
    assert [n["status"] for n in cli.json("notices")] == ["sent"]
