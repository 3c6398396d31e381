"""What an auditor relies on: a head kept outside the system catches even a log rewritten with
fresh hashes, and the export gives the log in order, filtered, as JSON lines or CSV."""
from __future__ import annotations

import csv
import io
import json
import os

import pytest
from sqlalchemy import text

from storage import hashchain, queries
from tests.builders import Driver
from tests.cli import Cli, open_application
from tests.test_storage import drop_append_only_guard


def rewrite_history(db, case: str, seq: int, data: str) -> None:
    """A forger with write access edits one entry and recomputes every hash after it, the
    chain head and the cases' heads, so that the chains on their own verify again."""
    drop_append_only_guard(db)
    with db.engine.begin() as conn:
        rows = [dict(r) for r in conn.execute(text(
            "SELECT * FROM transition_log ORDER BY global_seq")).mappings()]
        heads, previous = {}, hashchain.GENESIS
        for row in rows:
            if (row["case_id"], row["seq"]) == (case, seq):
                row["data"] = data
                row["data_sha256"] = hashchain.data_sha256(row["data_salt"] or "", data)
            row["prev_hash"] = heads.get(row["case_id"], hashchain.GENESIS)
            row["global_prev_hash"] = previous
            row["hash"] = hashchain.entry_hash(row)
            heads[row["case_id"]] = previous = row["hash"]
            conn.execute(text("UPDATE transition_log SET data = :data, data_sha256 = "
                              ":data_sha256, prev_hash = :prev_hash, global_prev_hash = "
                              ":global_prev_hash, hash = :hash WHERE global_seq = :global_seq"),
                         row)
        conn.execute(text("UPDATE chain_head SET hash = :h"), {"h": previous})
        for case_id, head in heads.items():
            conn.execute(text("UPDATE cases SET last_hash = :h WHERE id = :c"),
                         {"h": head, "c": case_id})


@pytest.mark.no_replay
def test_a_rewritten_chain_passes_alone_but_not_against_a_kept_checkpoint(driver: Driver):
    case = driver.to_not_met()
    db = driver.engine.db
    kept = queries.chain_head(db)
    rewrite_history(db, case, 6, '{"unmet_standards":["A3"]}')

    def verify(checkpoint=None):
        return queries.verify_log(db, checkpoint)

    assert verify().ok                     # the forgery is self-consistent
    caught = verify(kept)
    assert not caught.ok
    assert caught.first_break.global_seq == kept[0]
    assert "checkpoint" in caught.first_break.problem


def test_a_checkpoint_from_a_longer_log_than_exists_is_caught(driver: Driver):
    driver.open(at="2026-12-18")
    db = driver.engine.db
    count, head = queries.chain_head(db)
    verdict = queries.verify_log(db, checkpoint=(count + 5, head))
    assert not verdict.ok and "ends at entry 1" in verdict.first_break.problem


def test_audit_checkpoint_and_verify_against_it_from_the_command_line(tmp_path):
    cli = Cli(tmp_path)
    cli.ok("init")
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


def test_audit_export_gives_the_log_in_order_filtered_as_jsonl_or_csv(tmp_path):
    cli = Cli(tmp_path)
    cli.ok("init")
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
