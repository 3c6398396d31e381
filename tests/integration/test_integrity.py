"""Integrity, tried as an attacker with access to the database file would: a notice edited in the
database is named by `audit verify` and never sent; no opening key can stand for a trigger; an
address is one plain mailbox; the log and the notices cannot be truncated; a failing statement
arrives as the engine's own error, never as the driver's."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, text

from storage.errors import StorageError
from tests.builders import AGENCY, Driver, application_data, refused
from tests.cli import open_application
from workflows.core.errors import InvalidDataError


def edit(cli_or_url, sql: str, **params) -> None:
    url = cli_or_url if isinstance(cli_or_url, str) else \
        f"sqlite:///{cli_or_url.folder / 'ast_engine.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(sql), params)
    engine.dispose()


@pytest.mark.parametrize("column, value", [
    ("recipients", '["ann.lee@hill.example.org", "attacker@evil.example.org"]'),
    ("subject", "Your application: call this number"),
    ("body", "Please send your bank details."),
])
def test_a_notice_edited_in_the_database_fails_audit_verify_and_is_never_sent(cli, tmp_path,
                                                                             column, value):
    case = open_application(cli)
    notice = cli.json("notices", "--case", case)[0]["id"]
    edit(cli, f"UPDATE notices SET {column} = :v WHERE id = :id", v=value, id=notice)

    verified = cli("audit", "verify")
    assert verified.returncode == 3
    assert f"notice {notice}" in verified.stdout and "edited" in verified.stdout

    cli("deliver", env={"AST_ENGINE_DELIVERY_FOLDER": str(tmp_path / "sent")})
    assert not (tmp_path / "sent" / f"{notice}.eml").exists()
    shown = cli.json("notices", "--case", case)[0]
    assert shown["status"] == "failed" and "no longer match its hash" in shown["last_error"]


def test_a_notice_edited_together_with_its_own_hashes_is_still_caught(cli, tmp_path):
    """The forger recomputes the notice's content hash and its hash: its log entry's hash
    covers the notice's hash, so that breaks instead."""
    from storage import hashchain
    case = open_application(cli)
    row = cli.json("notices", "--case", case)[0]
    engine = create_engine(f"sqlite:///{tmp_path / 'ast_engine.db'}")
    with engine.begin() as conn:
        n = conn.execute(text("SELECT * FROM notices WHERE id = :id"),
                         {"id": row["id"]}).mappings().one()
        recipients = ["attacker@evil.example.org"]
        content = hashchain.notice_content_sha256(n["salt"], recipients, n["subject"], n["body"])
        conn.execute(text("UPDATE notices SET recipients = :r, content_sha256 = :c, hash = :h "
                          "WHERE id = :id"),
                     {"r": json.dumps(recipients), "c": content, "id": row["id"],
                      "h": hashchain.notice_hash(n["id"], n["case_id"], n["log_seq"],
                                                 n["template"], n["template_sha256"], content)})
    engine.dispose()
    verified = cli("audit", "verify")
    assert verified.returncode == 3 and "notices it stored do not match" in verified.stdout
    cli("deliver", env={"AST_ENGINE_DELIVERY_FOLDER": str(tmp_path / "sent")})
    assert list((tmp_path / "sent").glob("*.eml")) == []


def test_a_notice_added_to_the_database_is_caught(cli):
    case = open_application(cli)
    edit(cli, "INSERT INTO notices (id, case_id, log_seq, template, recipients, subject, body, "
              "body_sha256, status, attempts, created_at, erased) SELECT id || 'x', case_id, "
              "log_seq, template, recipients, subject, body, body_sha256, 'pending', 0, "
              "created_at, 0 FROM notices WHERE case_id = :c", c=case)
    assert cli("audit", "verify").returncode == 3


def test_an_opening_key_named_like_a_trigger_stands_for_nothing(driver: Driver):
    """Before, an opening key `send_decision_letter` made the letter look already sent."""
    data = application_data(send_decision_letter={"effective_date": "2020-01-01"},
                            judge_not_met={"unmet_standards": ["A1"]})
    case = driver.to_certified(data=data)
    outcome = driver.fire(case, "send_decision_letter", AGENCY, at="2027-02-11")
    assert outcome.version == 7
    letters = [n for n in driver.notices(case) if n.template == "decision_letter"]
    assert len(letters) == 1 and "standards met" in letters[0].subject


@pytest.mark.parametrize("email", ["postmaster,victim@example.org", 'a,b<c>"d@x.org',
                                   "Ann Lee <ann.lee@hill.example.org>", "ann.lee@localhost",
                                   "ann.lee@hill.example.org\r\nBcc: x@evil.example.org"])
def test_an_address_is_one_plain_mailbox(driver: Driver, email):
    data = application_data(candidate={"name": "Ann Lee", "email": email})
    with refused(driver, InvalidDataError, "candidate.email"):
        driver.open(data=data, at="2026-12-18")


@pytest.mark.parametrize("variable, value", [
    ("AST_ENGINE_DELIVERY_SENDER", "ast-engine@la.example.org\r\nBcc: x@evil.example.org"),
    ("AST_ENGINE_CONTACTS_LA_COORDINATOR", "a@b.org, c@d.org"),
    ("AST_ENGINE_DELIVERY_SMTP_HOST", "relay\n.example.org"),
])
def test_an_address_or_a_setting_with_a_line_break_is_refused_in_configuration(cli, variable,
                                                                             value):
    result = cli("list", env={variable: value})
    assert result.returncode == 2 and result.stderr.startswith("error: configuration")
    assert variable.removeprefix("AST_ENGINE_").split("_", 1)[1].lower() in result.stderr


def test_on_postgresql_the_log_and_the_notices_refuse_truncate_and_the_notices_delete(
        pg_url, clock, config):
    from storage.db import Database
    from storage.migrations import migrate
    from workflows.engine import Engine
    db = Database(pg_url)
    migrate(db, "2026-11-01T00:00:00+00:00")
    Driver(Engine(db, config, clock=clock), clock).open(at="2026-12-18")
    for statement in ("TRUNCATE transition_log CASCADE", "TRUNCATE notices",
                      "DELETE FROM notices", "DELETE FROM transition_log"):
        with pytest.raises(Exception, match="append-only|never deleted"):
            with db.engine.begin() as conn:
                conn.execute(text(statement))
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM notices")).scalar() == 1
    db.dispose()


def test_a_failing_statement_arrives_as_the_engines_own_error_and_writes_nothing(driver: Driver):
    """A statement the database refuses (here a trigger raising, as a full disk or a lost
    connection would) surfaces as a StorageError naming the database, never as sqlite3's or
    psycopg's own class, and the unit of work rolls back."""
    db = driver.engine.db
    with db.engine.begin() as conn:
        if db.is_sqlite:
            conn.execute(text("CREATE TRIGGER no_timers BEFORE INSERT ON timers BEGIN "
                              "SELECT RAISE(ABORT, 'the disk says no'); END"))
        else:
            conn.execute(text("CREATE FUNCTION no_timers() RETURNS trigger AS $$ BEGIN "
                              "RAISE EXCEPTION 'the disk says no'; END $$ LANGUAGE plpgsql"))
            conn.execute(text("CREATE TRIGGER no_timers BEFORE INSERT ON timers FOR EACH ROW "
                              "EXECUTE FUNCTION no_timers()"))
    with refused(driver, StorageError, "the disk says no") as caught:
        driver.open(at="2026-12-18")
    assert type(caught.value).__module__.startswith("storage")
    assert db.url.split("@")[-1].split("?")[0] in str(caught.value)


def test_the_command_line_reports_a_failing_statement_in_one_line(cli):
    edit(cli, "CREATE TRIGGER no_timers BEFORE INSERT ON timers BEGIN "
              "SELECT RAISE(ABORT, 'the disk says no'); END")
    result = cli("open", "application", "--actor", "headteacher:h.brown", "--data",
                 json.dumps(application_data()), now="2026-12-18")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "the disk says no" in result.stderr
    assert "Traceback" not in result.stderr and "sqlite3" not in result.stderr
    assert cli.json("list") == []

