"""A database written by the engine as it landed before this schema (tests/fixtures/
landed-v3.sqlite3, made by make_landed_db.py at commit 6b9ae19) migrates with `init` and stays
checkable: its hash chains verify and every case replays as stored."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.cli import Cli

LANDED = Path(__file__).parent / "fixtures" / "landed-v3.sqlite3"


@pytest.fixture
def landed(tmp_path) -> Cli:
    copy = tmp_path / "landed.db"
    shutil.copyfile(LANDED, copy)
    return Cli(tmp_path, f"sqlite:///{copy}")


def test_init_migrates_a_database_of_the_landed_engine_and_is_safe_to_repeat(landed):
    first = landed.ok("init").stdout
    assert "applied migration 4" in first
    assert "nothing to do" in landed.ok("init").stdout


def test_the_migrated_log_verifies_and_every_case_replays_as_stored(landed):
    landed.ok("init")
    assert landed("audit", "verify").returncode == 0
    replayed = landed("replay", "--all", "--verify")
    assert replayed.returncode == 0, replayed.stdout
    assert "0 differ" in replayed.stdout


def test_entries_written_before_the_migration_keep_the_engines_record_in_their_data(landed):
    landed.ok("init")
    cases = landed.json("list")
    appointment = next(c["case"] for c in cases if c["kind"] == "appointment")
    appoint = next(e for e in landed.json("show", appointment)["log"] if e["trigger"] == "appoint")
    assert appoint["data"]["warnings"][0].startswith("spine_point: appointed on point 6")
    assert appoint["engine"] == {}
