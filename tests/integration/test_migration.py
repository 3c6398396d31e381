"""A database written by the engine as it landed before this schema (tests/fixtures/
landed-v3.sqlite3, made by make_landed_db.py at commit 6b9ae19) migrates with `init` and stays
checkable: its hash chains verify and every case replays as stored."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests import FIXTURES
from tests.cli import Cli

LANDED = FIXTURES / "landed-v3.sqlite3"


@pytest.fixture
def landed(tmp_path) -> Cli:
    copy = tmp_path / "landed.db"
    shutil.copyfile(LANDED, copy)
    return Cli(tmp_path, f"sqlite:///{copy}")


def migrated_by_init(folder: Path, fixture: Path, says: str) -> Path:
    """A copy of `fixture` migrated by `init` run as a process, which must say `says`."""
    copy = folder / fixture.name
    shutil.copyfile(fixture, copy)
    assert says in Cli(folder, f"sqlite:///{copy}").ok("init").stdout
    # The process has ended: the file alone is the database, and a copy of it is one too.
    assert not copy.with_name(copy.name + "-wal").exists()
    return copy


def copied(migrated: Path, tmp_path: Path, name: str) -> Cli:
    copy = tmp_path / name
    shutil.copyfile(migrated, copy)
    return Cli(tmp_path, f"sqlite:///{copy}")


@pytest.fixture(scope="module")
def landed_after_init(tmp_path_factory) -> Path:
    """The landed database migrated once by `init` for this module's tests of what follows
    the migration; each gets a copy (the migration itself: the first test)."""
    return migrated_by_init(tmp_path_factory.mktemp("landed"), LANDED, "applied migration 4")


@pytest.fixture
def migrated(landed_after_init, tmp_path) -> Cli:
    return copied(landed_after_init, tmp_path, "landed.db")


def test_init_migrates_a_database_of_the_landed_engine_and_is_safe_to_repeat(landed):
    first = landed.ok("init").stdout
    assert "applied migration 4" in first
    assert "nothing to do" in landed.ok("init").stdout


def test_the_migrated_log_verifies_and_every_case_replays_as_stored(migrated):
    assert migrated("audit", "verify").returncode == 0
    replayed = migrated("replay", "--all", "--verify")
    assert replayed.returncode == 0, replayed.stdout
    assert "0 differ" in replayed.stdout


def test_entries_written_before_the_migration_keep_the_engines_record_in_their_data(migrated):
    cases = migrated.json("list")
    appointment = next(c["case"] for c in cases if c["kind"] == "appointment")
    appoint = next(e for e in migrated.json("show", appointment)["log"]
                   if e["trigger"] == "appoint")
    assert appoint["data"]["warnings"][0].startswith("spine_point: appointed on point 6")
    assert appoint["engine"] == {}


def test_a_case_written_before_the_migration_can_be_erased_and_the_log_still_verifies(migrated):
    withdrawn = [c["case"] for c in migrated.json("list") if c["state"] == "rejected" or
                 c["state"] == "closed_not_met"]
    case = withdrawn[0]
    before = migrated.json("show", case)
    assert before["data"]["candidate"]["name"] == "Ann Lee"

    erased = migrated("fire", case, "erase_personal_data", "--actor", "la_coordinator:lac",
                    "--data", '{"reason": "retention period ended"}', now="2027-06-01")

    assert erased.returncode == 0, erased.stderr
    shown = migrated.json("show", case)
    assert shown["data"]["candidate"] == "erased"
    # Its entries were hashed with their data (hash version 1): the erasing entry records the
    # rest of each, which audit verify now checks instead.
    assert [e["seq"] for e in shown["log"][-1]["engine"]["legacy"]] == [
        e["seq"] for e in shown["log"][:-1] if e["actor"] != "system"]
    verified = migrated("audit", "verify")
    assert verified.returncode == 0, verified.stdout
    replayed = migrated("replay", "--all", "--verify")
    assert replayed.returncode == 0, replayed.stdout


def test_an_erased_entry_of_before_the_migration_edited_afterwards_is_caught(migrated):
    from sqlalchemy import create_engine, text
    case = next(c["case"] for c in migrated.json("list") if c["state"] == "closed_not_met")
    migrated.ok("fire", case, "erase_personal_data", "--actor", "la_coordinator:lac", "--data",
              '{"reason": "retention period ended"}', now="2027-06-01")
    engine = create_engine(migrated.db)
    with engine.begin() as conn:
        for statement in ("DROP TRIGGER transition_log_no_update",
                          "UPDATE transition_log SET dest = 'certified' WHERE case_id = :c "
                          "AND trigger = 'judge_not_met'"):
            conn.execute(text(statement), {"c": case})
    engine.dispose()
    result = migrated("audit", "verify")
    assert result.returncode == 3 and "erasing entry recorded" in result.stdout


# -- a database decided under the first edition of the rules (states/editions.py) ----------------

EDITION1 = FIXTURES / "edition1-v6.sqlite3"


@pytest.fixture(scope="module")
def edition1_after_init(tmp_path_factory) -> Path:
    return migrated_by_init(tmp_path_factory.mktemp("edition1"), EDITION1, "applied migration 7")


@pytest.fixture
def edition1(edition1_after_init, tmp_path) -> Cli:
    """A copy of the edition-1 database as `init` (run once for the module) migrated it."""
    return copied(edition1_after_init, tmp_path, "edition1.db")


def test_cases_decided_under_the_first_edition_replay_as_they_were_decided(edition1):
    """A post the school funds went through ast2_submitted, a local_formula post was secured by
    its headteacher, a timer noticed late took the case's latest time, a decision letter sent
    no assessment_outcome: each replays exactly as logged."""
    assert edition1("audit", "verify").returncode == 0
    replayed = edition1("replay", "--all", "--verify")
    assert replayed.returncode == 0, replayed.stdout
    assert "0 differ" in replayed.stdout


def test_a_review_refused_under_the_first_edition_stays_readable_and_final(edition1):
    review = next(c for c in edition1.json("list") if c["kind"] == "review")
    shown = edition1.json("show", review["case"])
    assert shown["state"] == "refused"
    assert [e["trigger"] for e in shown["log"]] == ["open", "refuse"]
    assert [n["template"] for n in shown["notices"]][-1] == "review_refused"
    text = edition1.ok("show", review["case"]).stdout
    assert "state: refused" in text and "No ground is made out." in text
    refused = edition1("fire", review["case"], "withdraw", "--actor", "candidate:ann",
                       now="2027-06-02")
    assert refused.returncode == 2 and "not allowed in state refused" in refused.stderr


def test_entries_after_the_migration_are_decided_under_the_current_edition(edition1):
    """A case begun under edition 1 goes on under the current rules: its decision letter now
    tells the school the outcome; it then replays with each entry under its own edition."""
    case = next(c["case"] for c in edition1.json("list") if c["state"] == "supported")
    for trigger, actor, data, now in [
            ("submit_to_agency", "headteacher:h.brown",
             '{"funding_declaration": {"declared_by": "Hugh Brown", "source": "school"}}',
             "2027-06-02"),
            ("agency_receive", "agency:naa", "{}", "2027-06-03"),
            ("schedule_assessment", "agency:naa", '{"assessment_date": "2027-06-10", "assessor": '
             '{"id": "as-17", "name": "Carol Assessor", "email": "carol@agency.example.org"}}',
             "2027-06-04"),
            ("judge_met", "assessor:as-17", "{}", "2027-06-10T16:00"),
            ("send_decision_letter", "agency:naa", "{}", "2027-06-11")]:
        edition1.ok("fire", case, trigger, "--actor", actor, "--data", data, now=now)
    notices = [n["template"] for n in edition1.json("show", case)["notices"]]
    assert notices[-2:] == ["decision_letter", "assessment_outcome"]
    replayed = edition1("replay", "--all", "--verify")
    assert replayed.returncode == 0, replayed.stdout
