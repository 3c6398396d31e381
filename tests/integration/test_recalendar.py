"""When the calendar changes (a new LA closure day, a one-off bank holiday), pending deadlines
move through logged entries, replay still verifies, and what-if shows a change before it is
made, writing nothing."""
from __future__ import annotations

import json

import pytest

from tests.builders import Driver
from tests.cli import open_application
from workflows.core.config import Config
from workflows.engine import Actor, Engine
from workflows.core.errors import RoleNotAllowedError
from workflows.engine.replay import replay_many

CLOSED_11_JAN = Config(calendar={"closures": ["2027-01-11"]})


def test_recalendar_moves_a_pending_deadline_through_a_logged_entry(driver: Driver, db, clock):
    case = driver.open(at="2026-12-18").case           # headteacher_deadline due 2027-01-20
    later = Engine(db, CLOSED_11_JAN, clock=clock)     # the LA adds a closure day on 11 January
    preview = later.recalendar_preview()
    assert [(p["case"], p["timer"], p["old_due"], p["new_due"]) for p in preview] == [
        (case, "headteacher_deadline", "2027-01-20", "2027-01-21")]

    outcome = later.recompute_deadline(preview[0]["timer_id"], Actor.parse("operator:it.jones"))

    entry = driver.log(case)[-1]
    assert (entry.seq, entry.trigger, entry.actor) == (2, "deadline_recomputed", "operator:it.jones")
    assert json.loads(entry.data)["old_due"] == "2027-01-20"
    assert json.loads(entry.data)["new_due"] == "2027-01-21"
    assert driver.timers(case)["headteacher_deadline"][:2] == \
        ("2027-01-21", "2027-01-22T00:00:00+00:00")
    assert outcome.state == "received"
    assert later.recalendar_preview() == []
    # Replay, under either calendar, re-applies each entry with the calendar it used.
    for config in (Config(), CLOSED_11_JAN):
        assert all(r.ok for r in replay_many(db, config, [case], verify=True))


def test_only_an_operator_recomputes_a_deadline(driver: Driver, db, clock):
    driver.open(at="2026-12-18")
    later = Engine(db, CLOSED_11_JAN, clock=clock)
    with pytest.raises(RoleNotAllowedError, match="operator"):
        later.recompute_deadline(later.recalendar_preview()[0]["timer_id"],
                                 Actor.parse("headteacher:h.brown"))


def test_a_fired_or_cancelled_timer_is_not_recomputed(driver: Driver, db, clock):
    driver.open(at="2026-12-18")
    driver.tick("2027-01-22")                          # fired under the old calendar
    assert Engine(db, CLOSED_11_JAN, clock=clock).recalendar_preview() == []


def test_what_if_shows_the_due_dates_under_another_calendar_and_writes_nothing(cli, tmp_path):
    case = open_application(cli)
    (tmp_path / "wales.toml").write_text('[calendar]\nnation = "wales"\n'
                                         'closures = ["2027-01-11", "2027-01-12"]\n')
    before = cli.json("show", case)
    shown = cli.json("replay", case, "--config", "wales.toml")
    assert shown["timers"] == [{
        "timer": "headteacher_deadline", "calendar": "local", "stored_due": "2027-01-20",
        "stored_calendar": "local: England, no LA closure days", "what_if_due": "2027-01-22",
        "what_if_calendar": "local: Wales, LA closure days 2027-01-11, 2027-01-12",
        "changes": True}]
    text = cli.ok("replay", case, "--config", "wales.toml").stdout
    assert "stored due Wed 2027-01-20 (local: England, no LA closure days)" in text
    assert "would be Fri 2027-01-22 (local: Wales, LA closure days 2027-01-11" in text
    assert "nothing was written" in text
    assert cli.json("show", case) == before
    # The stored calendar is the one stored with the timer, whatever is configured now.
    now_closed = {"AST_ENGINE_CALENDAR_CLOSURES": "2027-01-13"}
    again = cli.json("replay", case, "--config", "wales.toml", env=now_closed)
    assert again["timers"][0]["stored_calendar"] == "local: England, no LA closure days"


def test_recalendar_from_the_command_line_then_replay_verifies(cli, tmp_path):
    case = open_application(cli)
    closed = {"AST_ENGINE_CALENDAR_CLOSURES": "2027-01-11"}
    assert "would move to 2027-01-21" in cli.ok("recalendar", env=closed).stdout
    refused = cli("recalendar", "--apply", env=closed)
    assert refused.returncode == 2 and "--actor operator:ID" in refused.stderr
    moved = cli.json("recalendar", "--apply", "--actor", "operator:it.jones", env=closed)
    assert [(m["case"], m["applied"], m["seq"]) for m in moved] == [(case, True, 2)]
    assert "already agrees" in cli.ok("recalendar", env=closed).stdout
    assert cli("replay", "--all", "--verify").returncode == 0
    assert cli("replay", "--all", "--verify", env=closed).returncode == 0
    assert cli("audit", "verify").returncode == 0
