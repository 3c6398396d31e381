"""The audit commands run as a real process, as an auditor runs them: a checkpoint written and
verified against, the log exported in order and filtered, as JSON lines or CSV, and a CSV for a
spreadsheet. What the checkpoint catches is tried in process (tests/engine/test_audit.py)."""
from __future__ import annotations

import pytest

import csv
import io
import json
import os

from tests.cli import Cli, open_application


def test_audit_checkpoint_and_verify_against_it_from_the_command_line(cli, tmp_path):
    open_application(cli)
    saved = tmp_path / "head.json"
    out = cli.ok("audit", "checkpoint", "--write", str(saved)).stdout
    kept = json.loads(saved.read_text())
    assert kept["count"] == 1 and kept["hash"] in out
    assert "intact" in cli.ok("audit", "verify", "--checkpoint", str(saved)).stdout
    open_application(cli, now="2026-12-21")       # the log grows: the checkpoint still holds
    assert cli("audit", "verify", "--checkpoint", str(saved)).returncode == 0
    saved.write_text('{"count": 1, "hash": "' + "f" * 64 + '"}')
    result = cli("audit", "verify", "--checkpoint", str(saved))
    assert result.returncode == 3 and "checkpoint" in result.stdout
    bad = cli("audit", "verify", "--checkpoint", str(tmp_path / "missing.json"))
    assert bad.returncode == 2 and bad.stderr.startswith("error: --checkpoint")


@pytest.mark.parametrize("content", ['{"count": ' + "9" * 5000 + ', "hash": "' + "a" * 64 + '"}',
                                     '{"count": 1e999, "hash": "' + "a" * 64 + '"}',
                                     '{"count": Infinity, "hash": "' + "a" * 64 + '"}',
                                     "[" * 100_000],
                         ids=["5000 digits", "1e999", "Infinity", "100000 ["])
def test_a_crafted_checkpoint_is_refused_in_one_line_with_exit_2(cli, tmp_path, content):
    # Each ended in exit 1 with a traceback (issue 26, 8).
    crafted = tmp_path / "crafted.json"
    crafted.write_text(content)
    result = cli("audit", "verify", "--checkpoint", str(crafted))
    assert result.returncode == 2, result.stderr[-500:]
    assert result.stderr.startswith(f"error: --checkpoint {crafted}: not a checkpoint written by")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_audit_export_gives_the_log_in_order_filtered_as_jsonl_or_csv(cli, tmp_path):
    first = open_application(cli, now="2026-12-18")
    second = open_application(cli, now="2026-12-21")
    cli.ok("fire", first, "support", "--actor", "operator:it.jones", "--for",
           "headteacher:h.brown", "--data", '{"evaluation": "Ready."}', now="2027-01-05")

    lines = [json.loads(l) for l in cli.ok("audit", "export").stdout.splitlines()]
    assert [(l["case"], l["seq"], l["trigger"]) for l in lines] == [
        (first, 1, "open"), (second, 1, "open"), (first, 2, "support")]
    shown = json.loads(cli.ok("show", first, "--json").stdout)["log"][0]
    assert set(lines[0]) == set(shown) | {"case"}   # the keys of a show log entry, and the case
    assert set(lines[0]) >= {"case", "seq", "trigger", "source", "dest", "actor", "for",
                             "effective_at", "recorded_at", "data", "engine", "hash"}
    assert lines[2]["data"] == {"evaluation": "Ready."}

    only = cli.ok("audit", "export", "--case", second).stdout.splitlines()
    assert [json.loads(l)["case"] for l in only] == [second]
    for form in ("jsonl", "csv"):
        unknown = cli("audit", "export", "--case", "app-0000000000", "--format", form)
        assert unknown.returncode == 2 and unknown.stdout == ""
        assert unknown.stderr.startswith("error: ") and "app-0000000000" in unknown.stderr
    by_operator = cli.ok("audit", "export", "--actor", "operator:it.jones").stdout.splitlines()
    assert [json.loads(l)["trigger"] for l in by_operator] == ["support"]
    for_head = cli.ok("audit", "export", "--actor", "headteacher").stdout.splitlines()
    assert len(for_head) == 3
    window = cli.ok("audit", "export", "--since", "2026-12-19", "--until", "2026-12-21").stdout
    assert [json.loads(l)["case"] for l in window.splitlines()] == [second]

    table = list(csv.DictReader(io.StringIO(cli.ok("audit", "export", "--format", "csv").stdout)))
    assert [r["trigger"] for r in table] == ["open", "open", "support"]
    assert json.loads(table[2]["data"]) == {"evaluation": "Ready."}
    assert table[2]["for"] == "headteacher:h.brown"


def test_the_csv_export_opens_in_a_spreadsheet_with_names_london_times_and_deadlines(tmp_path):
    """Written into a file, as an auditor saves it for Excel: a byte-order mark, whom each case
    is about, London times beside the UTC instants, and met / missed / superseded."""
    import subprocess
    import sys
    from tests.cli import ENGINE
    Cli(tmp_path).ok("demo", "--keep", str(tmp_path / "demo"))
    saved = tmp_path / "log.csv"
    with saved.open("wb") as out:
        subprocess.run([sys.executable, str(ENGINE), "--db", f"sqlite:///{tmp_path}/demo/demo.db",
                        "audit", "export", "--format", "csv"], stdout=out, check=True,
                       env={k: v for k, v in os.environ.items()
                            if not k.startswith("AST_ENGINE_")})
    raw = saved.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert {"case", "name", "school", "effective_at", "effective (London)", "recorded_at",
            "keyed in (London)", "deadlines", "data"} <= set(table[0])
    carla = [r for r in table if r["name"] == "Carla Diaz"]
    assert carla and all(r["school"] == "Pine Junior School" for r in carla)
    first = carla[0]
    assert first["effective_at"] == "2026-12-18T14:00:00+00:00"
    assert first["effective (London)"] == "Fri 2026-12-18 14:00"
    overtaken = [r for r in carla if r["trigger"] == "timer:headteacher_deadline"]
    assert overtaken[0]["deadlines"] == "headteacher_deadline superseded (due 2027-01-20)"
    assert any(r["deadlines"].startswith("headteacher_deadline met") for r in table)
    assert any(" missed (due " in r["deadlines"] for r in table)
