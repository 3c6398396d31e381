"""The web console's command-line side, run as a real process: accounts added, listed and removed
with `ast-engine user`, and `ast-engine web --help`. The console's routes themselves are tried in
process (tests/engine/test_console.py)."""
from __future__ import annotations

import json

PASSWORD = "correct horse battery"


def test_user_add_list_and_remove_from_the_command_line(cli):
    added = cli("user", "add", "ann", "--role", "auditor", input=PASSWORD + "\n")
    assert added.returncode == 0 and "added auditor ann" in added.stdout
    again = cli("user", "add", "ann", "--role", "operator", input=PASSWORD + "\n")
    assert again.returncode == 2 and again.stderr.startswith("error: user add: there is already")
    short = cli("user", "add", "bob", "--role", "operator", input="short\n")
    assert short.returncode == 2 and "at least 8 characters" in short.stderr
    bad = cli("user", "add", "<b>", "--role", "operator", input=PASSWORD + "\n")
    assert bad.returncode == 2 and "not a valid name" in bad.stderr
    role = cli("user", "add", "bob", "--role", "system", input=PASSWORD + "\n")
    assert role.returncode == 2 and "invalid choice" in role.stderr
    assert json.loads(cli.ok("user", "list", "--json").stdout)[0]["role"] == "auditor"
    assert PASSWORD not in (cli.folder / "ast_engine.db").read_bytes().decode("latin-1")
    assert cli.ok("user", "remove", "ann").stdout.startswith("removed ann")
    gone = cli("user", "remove", "ann")
    assert gone.returncode == 2 and "no account 'ann'" in gone.stderr
    assert "no accounts" in cli.ok("user", "list").stdout


def test_web_help_teaches_how_to_start_it(cli):
    text = cli.ok("web", "--help").stdout
    assert "--host" in text and "--port" in text and "user add" in text
