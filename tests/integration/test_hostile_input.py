"""Hostile and absurd input, as an attacker or a slip of the keyboard gives it: each is refused
with exit 2 and one `error:` line, never a traceback, and nothing is written."""
from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import time

import pytest

from tests.builders import application_data, appointment_data
from tests.cli import ENGINE, Cli, open_application, open_in_process, stored


def held(cli) -> dict:
    """What a refusal must leave as it was: every row of every table (read in this process;
    the refused command is what runs as a process)."""
    return stored(cli)


def refused(result, *words: str) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0]
    return lines[0]


def files(tmp_path, **named: bytes) -> None:
    for name, content in named.items():
        (tmp_path / name).write_bytes(content)


HOSTILE = {
    # 60,000 deep: as deep as one argument can be (Linux takes at most 128 KiB in one)
    "nested 60,000 deep": (["fire", "CASE", "cancel", "--actor", "headteacher:h.brown",
                            "--data", '{"reason": ' + "[" * 60_000 + "]" * 60_000 + "}"],
                           "nested 60001 deep"),
    "nested 100,000 deep in a file": (["fire", "CASE", "cancel", "--actor",
                                       "headteacher:h.brown", "--data", "@deep.json"],
                                      "nested 100001 deep"),
    "a file that is not UTF-8": (["fire", "CASE", "cancel", "--actor", "headteacher:h.brown",
                                  "--data", "@latin1.json"], "not UTF-8"),
    "/dev/zero": (["fire", "CASE", "cancel", "--actor", "headteacher:h.brown",
                   "--data", "@/dev/zero"], "larger than 1,048,576 bytes"),
    "a 2 MB document": (["fire", "CASE", "cancel", "--actor", "headteacher:h.brown",
                         "--data", "@big.json"], "larger than"),
    "one text over 64 KiB": (["fire", "CASE", "cancel", "--actor", "headteacher:h.brown",
                              "--data", "@long.json"], "reason: a text of 70,000 bytes"),
    "a date in year 9999": (["--now", "9999-12-31T23:59:59-05:00", "tick"], "--now"),
    "a date in year 1": (["--now", "0001-01-01T00:00+01:00", "list"], "--now"),
    "an export until 9999": (["audit", "export", "--until", "9999-12-31"], "--until"),
    "an effective date in 1989": (["fire", "CASE", "support", "--actor", "headteacher:h.brown",
                                   "--data", '{"evaluation": "Ready."}', "--at", "1989-12-01"],
                                  "outside the years 1990-2100"),
    "a configuration that is a folder": (["--config", ".", "list"], "folder"),
    "a configuration that is not UTF-8": (["--config", "latin1.json", "list"], "not UTF-8"),
    "an export into a missing folder": (["export-person", "ann.lee@hill.example.org",
                                         "--output", "nowhere/ann.json"], "no folder"),
    "a terminal escape in an actor id": (["fire", "CASE", "support", "--actor",
                                          "headteacher:h.brown\x1b[2J", "--data",
                                          '{"evaluation": "Ready."}'], "control character"),
    "daemon --tick -1": (["daemon", "--tick", "-1"], "--tick"),
    "daemon --tick nan": (["daemon", "--tick", "nan"], "--tick"),
    "daemon --tick 0": (["daemon", "--tick", "0"], "--tick"),
    "daemon --tick inf": (["daemon", "--tick", "inf"], "--tick"),
    # Issue 26, points 8 and 9: each exited 1, or was stored silently as something else.
    "a 5,000-digit integer": (["fire", "CASE", "cancel", "--actor", "headteacher:h.brown",
                               "--data", '{"reason": ' + "9" * 5000 + "}"],
                              "a number of more than 4,300 digits"),
    "NaN": (["fire", "CASE", "cancel", "--actor", "headteacher:h.brown",
             "--data", '{"reason": "r", "n": NaN}'], "n: NaN is not a number"),
    "Infinity in a list": (["fire", "CASE", "cancel", "--actor", "headteacher:h.brown",
                            "--data", '{"reason": "r", "x": [1, -Infinity]}'],
                           "x[1]: -Infinity is not a number"),
    "1e999999": (["fire", "CASE", "cancel", "--actor", "headteacher:h.brown",
                  "--data", '{"reason": "r", "n": 1e999999}'], "n: 1e999999 is not a number"),
    "a key given twice": (["fire", "CASE", "cancel", "--actor", "headteacher:h.brown",
                           "--data", '{"reason": "first", "reason": "second"}'],
                          "key 'reason' is given twice"),
    "a right-to-left override in an actor id": (
        ["fire", "CASE", "support", "--actor", "headteacher:h.brown\u202egnp.exe", "--data",
         '{"evaluation": "Ready."}'], "formatting character (U+202E"),
    "an actor id of 100,000 characters": (
        ["fire", "CASE", "support", "--actor", "headteacher:" + "h" * 100_000, "--data",
         '{"evaluation": "Ready."}'], "at most 100"),
    "a key over 64 KiB": (["fire", "CASE", "cancel", "--actor", "headteacher:h.brown",
                           "--data", "@longkey.json"], "a key: a text of 70,000 bytes"),
}


@pytest.mark.parametrize("args, words", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_input_is_refused_in_one_line_and_writes_nothing(cli, tmp_path, args, words):
    files(tmp_path, **{"latin1.json": '{"reason": "café"}'.encode("latin-1"),
                       "big.json": json.dumps({"reason": "x" * 2_000_000}).encode(),
                       "long.json": json.dumps({"reason": "é" * 35_000}).encode(),
                       "longkey.json": json.dumps({"k" * 70_000: 1, "reason": "r"}).encode(),
                       "deep.json": b'{"reason": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"})
    case = open_in_process(cli)   # the hostile command is the process under test
    before = held(cli)
    result = cli(*[case if a == "CASE" else a for a in args], now=None)
    refused(result, words)
    assert held(cli) == before
    assert not (tmp_path / "nowhere").exists()


def test_numbers_and_booleans_are_strict_and_every_bad_key_is_named_in_one_line(cli):
    data = appointment_data(pay_range={"first_point": True, "last_point": "15"}, focus=7)
    result = cli("open", "appointment", "--actor", "la_coordinator:l.khan",
                 "--data", json.dumps(data))
    refused(result, "pay_range.first_point", "pay_range.last_point", "focus")
    assert held(cli)["cases"] == []


def test_a_database_url_that_is_not_a_url_is_refused(tmp_path):
    result = Cli(tmp_path)("list", env={"AST_ENGINE_DB": "notaurl"})
    refused(result, "notaurl")
    assert list(tmp_path.iterdir()) == []


def test_a_misspelt_setting_in_the_environment_is_refused_naming_it(cli):
    result = cli("list", env={"AST_ENGINE_DELIVERY_CHANEL": "smtp"})
    refused(result, "AST_ENGINE_DELIVERY_CHANEL")


def test_read_only_commands_never_create_a_database(tmp_path):
    cli = Cli(tmp_path)
    for command in (["list"], ["show", "app-x"], ["status"], ["audit", "verify"],
                    ["notices"], ["--db", "sqlite:///typo.db", "list"]):
        result = cli(*command)
        assert result.returncode == 2, result.stderr
        assert "init" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_init_refuses_another_programs_database(tmp_path):
    with sqlite3.connect(tmp_path / "theirs.db") as conn:
        conn.execute("CREATE TABLE pupils (name TEXT)")
    refused(Cli(tmp_path, "sqlite:///theirs.db")("init"), "another program", "pupils")
    with sqlite3.connect(tmp_path / "theirs.db") as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    assert tables == ["pupils"]


def test_the_sqlite_file_and_its_wal_and_shm_are_the_owners_alone(tmp_path):
    umask = os.umask(0o022)   # the usual one, under which files are world-readable
    try:
        cli = Cli(tmp_path)
        cli.ok("init")
        open_application(cli)
        held_open = sqlite3.connect(tmp_path / "ast_engine.db")   # keeps -wal and -shm there
        try:
            held_open.execute("SELECT count(*) FROM cases").fetchone()
            made = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()
                    if p.name.startswith("ast_engine.db")}
        finally:
            held_open.close()
        assert made == {"ast_engine.db": 0o600, "ast_engine.db-wal": 0o600,
                        "ast_engine.db-shm": 0o600}
        cli.ok("export-person", "ann.lee@hill.example.org", "--output", "ann.json")
        assert stat.S_IMODE((tmp_path / "ann.json").stat().st_mode) == 0o600
    finally:
        os.umask(umask)


def test_the_outbox_folder_the_file_channel_makes_is_the_owners_alone(tmp_path):
    # Each notice file was 0600 but the folder holding them was made 0755 (issue 26, 12).
    umask = os.umask(0o022)
    try:
        cli = Cli(tmp_path)
        cli.ok("init")
        open_application(cli)
        cli.ok("deliver")
        assert stat.S_IMODE((tmp_path / "outbox").stat().st_mode) == 0o700
        notices = list((tmp_path / "outbox").glob("*.eml"))
        assert notices and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in notices)
    finally:
        os.umask(umask)


def test_global_options_are_taken_after_the_command_too(tmp_path):
    cli = Cli(tmp_path)
    cli.ok("init", "--db", "sqlite:///cases.db")
    case = cli.ok("open", "application", "--actor", "headteacher:h.brown", "--db",
                  "sqlite:///cases.db", "--now", "2026-12-18", "--data",
                  json.dumps(application_data())
                  ).stdout.strip()
    shown = json.loads(cli.ok("show", case, "--json", "--db", "sqlite:///cases.db").stdout)
    assert shown["log"][0]["effective_at"] == "2026-12-18T09:00:00+00:00"
    assert not (tmp_path / "ast_engine.db").exists()


def test_a_reader_that_goes_away_ends_the_output_quietly(cli, tmp_path):
    open_application(cli)
    process = subprocess.Popen([sys.executable, str(ENGINE), "audit", "export"], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={k: v for k, v in os.environ.items()
                                    if not k.startswith("AST_ENGINE_")})
    assert process.stdout is not None
    process.stdout.close()   # like `| head` that has read all it wanted
    _, errors = process.communicate(timeout=60)
    assert process.returncode == 0
    assert errors == b""


def test_every_help_names_the_command_as_it_is_installed(tmp_path):
    cli = Cli(tmp_path)
    top = cli.ok("--help").stdout
    commands = ["init", "open", "fire", "show", "explain", "list", "tick", "deliver", "daemon",
                "notices", "status", "replay", "recalendar", "audit", "diagram",
                "export-person", "retention", "web", "user", "demo", "example"]
    for command in commands:
        assert command in top
        text = cli.ok(command, "--help").stdout
        assert text.startswith(f"usage: ast-engine {command}"), text
        assert "run_engine.py" not in text
    assert "run_engine.py" not in top and "ast-engine example application" in top


def test_a_message_file_left_by_a_killed_delivery_is_gone_after_the_next(cli, tmp_path):
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    left = outbox / ".app-x.1.1.eml.part"
    left.write_bytes(b"half a mess")
    old = time.time() - 3600
    os.utime(left, (old, old))
    cli.ok("deliver")
    assert not left.exists()


def test_a_nul_in_a_name_is_refused_on_postgresql_too(tmp_path, pg_url):
    """PostgreSQL cannot store NUL in text at all (a DataError once it reached the server)."""
    cli = Cli(tmp_path, pg_url)
    cli.ok("init")
    data = application_data(candidate={"name": "Ann\u0000Lee", "email": "ann.lee@hill.example.org"})
    result = cli("open", "application", "--actor", "headteacher:h.brown", "--data",
                 json.dumps(data))
    refused(result, "candidate.name", "U+0000")
    assert cli.json("list") == []


def test_a_tick_the_daemon_would_spin_on_is_refused_in_the_configuration_too(cli):
    refused(cli("status", env={"AST_ENGINE_DAEMON_TICK_SECONDS": "0.01"}), "tick_seconds")
