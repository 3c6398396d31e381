"""The database as auditors and operators rely on it: durable SQLite settings, migrations that
never drop anything, an append-only log and hash chains that catch an edited row."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from storage import hashchain, queries
from storage.db import Database
from storage.errors import SchemaError
from storage.migrations import MIGRATIONS, migrate, require_current
from tests.builders import Driver
from tests.forgery import drop_append_only_guard


def verify(db):
    return queries.verify_log(db)


def test_sqlite_runs_in_wal_mode_with_durable_commits_and_foreign_keys(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2   # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10000


def test_init_is_safe_to_run_again_and_applies_nothing_the_second_time(db):
    assert migrate(db, "2026-11-02T00:00:00+00:00") == []
    with db.engine.connect() as conn:
        versions = [r[0] for r in conn.execute(text("SELECT version FROM schema_migrations"))]
    assert sorted(versions) == [v for v, _, _ in MIGRATIONS]


def test_a_database_one_migration_behind_is_migrated_without_losing_cases(db_url, clock,
                                                                         config):
    from workflows.engine import Engine
    db = Database(db_url)
    with db.write() as conn:   # the schema as version 1 left it
        from sqlmodel import SQLModel
        from storage import tables
        SQLModel.metadata.create_all(conn, tables=[tables.SchemaMigration.__table__])
        MIGRATIONS[0][2](db, conn)
        conn.exec_driver_sql(db.sql("INSERT INTO schema_migrations VALUES (1, 'v1', :t)"),
                             {"t": "2026-01-01T00:00:00+00:00"})
    with pytest.raises(SchemaError, match="run `init` to migrate"):
        require_current(db)
    driver = Driver(Engine(db, config, clock=clock), clock)
    case = driver.open(at="2026-12-18").case          # written under version 1

    applied = migrate(db, "2026-11-02T00:00:00+00:00")

    assert [v for v, _ in applied] == [v for v, _, _ in MIGRATIONS[1:]]
    require_current(db)
    assert driver.state(case) == "received"
    assert [e.trigger for e in driver.log(case)] == ["open"]
    assert verify(db).ok
    db.dispose()


def test_commands_on_a_database_without_a_schema_say_to_run_init(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(SchemaError, match="run `init` first"):
        require_current(db)


def test_the_log_refuses_update_and_delete(driver: Driver):
    driver.open(at="2026-12-18")
    db = driver.engine.db
    for statement in ("UPDATE transition_log SET actor = 'headteacher:someone_else'",
                      "DELETE FROM transition_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(text(statement))
    assert driver.count("transition_log") == 1


def test_audit_verify_passes_on_an_untouched_log(driver: Driver):
    driver.to_review()
    verdict = verify(driver.engine.db)
    assert verdict.ok
    assert verdict.entries == driver.count("transition_log")
    assert verdict.cases == 2


@pytest.mark.no_replay
def test_an_edited_log_row_is_named_by_audit_verify(driver: Driver):
    case = driver.to_not_met()
    db = driver.engine.db
    drop_append_only_guard(db)
    with db.engine.begin() as conn:   # someone rewrites which standards were unmet
        conn.execute(text("UPDATE transition_log SET data = :d WHERE case_id = :c AND seq = 6"),
                     {"d": '{"unmet_standards":["A3"]}', "c": case})
    verdict = verify(db)
    assert not verdict.ok
    assert (verdict.first_break.case_id, verdict.first_break.seq) == (case, 6)
    assert "edited" in verdict.first_break.problem


@pytest.mark.no_replay
def test_an_edit_that_recomputes_the_hash_still_breaks_the_next_link(driver: Driver):
    case = driver.to_not_met()
    db = driver.engine.db
    drop_append_only_guard(db)
    with db.engine.connect() as conn:
        row = dict(conn.execute(text("SELECT * FROM transition_log WHERE case_id = :c AND seq = 6"),
                                {"c": case}).mappings().one())
    row["data"] = '{"unmet_standards":["A3"]}'
    # The forger knows the salt too, and makes the row agree with itself.
    row["data_sha256"] = hashchain.data_sha256(row["data_salt"], row["data"])
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE transition_log SET data = :d, data_sha256 = :s, hash = :h "
                          "WHERE global_seq = :g"),
                     {"d": row["data"], "s": row["data_sha256"], "h": hashchain.entry_hash(row),
                      "g": row["global_seq"]})
    verdict = verify(db)
    assert not verdict.ok
    assert verdict.first_break.global_seq == row["global_seq"] + 1
    assert "prev_hash" in verdict.first_break.problem


@pytest.mark.no_replay
def test_an_edit_of_the_data_alone_is_caught_at_the_entry_itself(driver: Driver):
    case = driver.to_not_met()
    db = driver.engine.db
    drop_append_only_guard(db)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE transition_log SET data = :d WHERE case_id = :c AND seq = 6"),
                     {"d": '{"unmet_standards":["A3"]}', "c": case})
    verdict = verify(db)
    assert (verdict.first_break.case_id, verdict.first_break.seq) == (case, 6)
    assert "data does not match its hash" in verdict.first_break.problem


@pytest.mark.no_replay
def test_a_deleted_last_entry_is_caught_by_the_stored_heads(driver: Driver):
    driver.to_not_met()
    db = driver.engine.db
    drop_append_only_guard(db)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM transition_log WHERE global_seq = "
                          "(SELECT MAX(global_seq) FROM transition_log)"))
    verdict = verify(db)
    assert not verdict.ok
    assert "removed" in verdict.first_break.problem


def test_each_log_entry_links_to_the_previous_one_of_its_case_and_of_all_cases(driver: Driver):
    application, review = driver.to_review()
    with driver.engine.db.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM transition_log ORDER BY global_seq")).mappings().all()
    for before, after in zip(rows, rows[1:]):
        assert after["global_prev_hash"] == before["hash"]
    first_review = next(r for r in rows if r["case_id"] == review)
    assert first_review["prev_hash"] == hashchain.GENESIS
    application_rows = [r for r in rows if r["case_id"] == application]
    for before, after in zip(application_rows, application_rows[1:]):
        assert after["prev_hash"] == before["hash"]


def test_cases_are_found_by_their_candidates_address_in_any_case_of_letters(driver: Driver):
    """The question behind `already_certified`, asked of the database (on its index) and of
    replay's memory store: both answer as Python compares addresses, non-ASCII ones too."""
    from storage.memory_store import MemoryCaseStore
    from storage.sql_store import transaction
    from tests.builders import application_data
    ann = driver.open(at="2026-12-18").case
    zoe = driver.open(data=application_data(candidate={
        "name": "Zoë Brontë", "email": "ZOË.BRONTË@hill.example.org"}), at="2026-12-18").case
    with transaction(driver.engine.db) as stored:
        rows = {r.id: r for r in stored.cases_of_kind("application")}
        assert rows[zoe].data["candidate"]["email"].startswith("ZOË")   # kept as given
        asked = {email: [r.id for r in stored.cases_of_kind("application", "received", email)]
                 for email in ("ANN.LEE@HILL.example.org", "zoë.brontë@hill.example.org")}
        assert stored.cases_of_kind("application", "certified", "ann.lee@hill.example.org") == []
    assert asked == {"ANN.LEE@HILL.example.org": [ann], "zoë.brontë@hill.example.org": [zoe]}
    memory = MemoryCaseStore()
    memory.cases.update(rows)
    assert [r.id for r in memory.cases_of_kind("application", "received",
                                               "zoë.brontë@hill.example.org")] == [zoe]
