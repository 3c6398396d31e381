"""The command line as scripts and operators use it (shared/CLI.md is the contract): run as a
real process, on a real database file, with the business clock set by --now."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests import ROOT
from tests.builders import FUNDING, application_data
from tests.cli import ENGINE, Cli, open_application, open_in_process, stored


def test_init_creates_the_default_database_file_here_and_is_safe_to_repeat(tmp_path):
    cli = Cli(tmp_path)
    assert "applied migration 1" in cli.ok("init").stdout
    assert (tmp_path / "ast_engine.db").exists()
    assert "nothing to do" in cli.ok("init").stdout


def test_open_prints_the_new_case_id_alone_for_scripts(cli):
    case = open_application(cli)
    assert case.startswith("app-") and len(case.split()) == 1


def test_open_and_fire_print_the_json_shape_of_the_contract(cli):
    opened = cli.json("open", "application", "--actor", "headteacher:h.brown", "--data",
                      json.dumps(application_data()), now="2026-12-18")
    assert set(opened) == {"case", "kind", "state", "version", "warnings"}
    assert (opened["kind"], opened["state"], opened["version"]) == ("application", "received", 1)
    fired = cli.json("fire", opened["case"], "support", "--actor", "headteacher:h.brown",
                     "--data", '{"evaluation": "Ready."}', now="2027-01-05")
    assert fired == {"case": opened["case"], "kind": "application", "state": "supported",
                     "version": 2, "warnings": []}


def test_show_json_has_timers_log_and_pending_notices_in_utc(cli):
    case = open_application(cli)
    shown = cli.json("show", case)
    timer = shown["timers"][0]
    assert len(shown["timers"]) == 1
    assert {k: timer[k] for k in ("name", "due", "fires_at", "status")} == {
        "name": "headteacher_deadline", "due": "2027-01-20",
        "fires_at": "2027-01-21T00:00:00+00:00", "status": "pending"}
    assert timer["rule"].startswith("20 working days after 2026-12-18")
    entry = shown["log"][0]
    assert (entry["seq"], entry["trigger"], entry["source"], entry["dest"]) == \
        (1, "open", None, "received")
    assert (entry["actor"], entry["for"]) == ("headteacher:h.brown", None)
    assert entry["effective_at"] == "2026-12-18T09:00:00+00:00"
    assert entry["recorded_at"].endswith("+00:00") and len(entry["hash"]) == 64
    assert [(n["template"], n["to"], n["status"]) for n in shown["notices"]] == [
        ("application_received", ["ann.lee@hill.example.org"], "pending")]


def test_an_operator_keys_in_a_paper_form_for_someone_with_an_earlier_effective_time(cli):
    case = open_application(cli)
    cli.ok("fire", case, "support", "--actor", "operator:it.jones", "--for",
           "headteacher:h.brown", "--at", "2027-01-05", "--data", '{"evaluation": "Ready."}',
           now="2027-01-12")
    entry = cli.json("show", case)["log"][-1]
    assert (entry["actor"], entry["for"]) == ("operator:it.jones", "headteacher:h.brown")
    assert entry["effective_at"] == "2027-01-05T09:00:00+00:00"


@pytest.mark.parametrize("args, message", [
    (["--actor", "operator:it.jones"], "--for ROLE:ID"),
    (["--actor", "candidate:ann"], "role candidate may not fire support"),
    (["--actor", "headteacher:h.brown"], "evaluation"),
    (["--actor", "headteacher:h.brown", "--data", "{not json"], "not JSON"),
    (["--actor", "headteacher:h.brown", "--data", '{"evaluation": "x"}', "--at", "2027-02-30"],
     "2027-02-30"),
    (["--actor", "headteacher:h.brown", "--data", '{"evaluation": "x"}', "--at", "2027-06-01"],
     "in the future"),
    (["--actor", "system:x", "--data", '{"evaluation": "x"}'], "system role"),
    (["--actor", "nobody", "--data", '{"evaluation": "x"}'], "ROLE:ID"),
])
def test_refusals_exit_2_with_one_error_line_and_write_nothing(cli, args, message):
    case = open_in_process(cli)   # the refused command is the process under test
    before = stored(cli)
    result = cli("fire", case, "support", *args, now="2027-01-05")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert stored(cli) == before


def test_unknown_case_and_trigger_and_state_are_refused_with_exit_2(cli):
    case = open_application(cli)
    assert "no case 'app-nope'" in cli("fire", "app-nope", "support", "--actor", "headteacher:h").stderr
    unknown = cli("fire", case, "promote", "--actor", "headteacher:h.brown")
    assert unknown.returncode == 2 and "unknown trigger 'promote'" in unknown.stderr
    wrong_state = cli("fire", case, "agency_receive", "--actor", "agency:naa", now="2027-01-05")
    assert wrong_state.returncode == 2 and "not allowed in state received" in wrong_state.stderr
    assert cli("show", "app-nope").returncode == 2


def test_opening_a_review_directly_is_refused_saying_how_reviews_open(cli):
    result = cli("open", "review", "--actor", "candidate:ann", "--data", "{}")
    assert result.returncode == 2
    assert "request_review" in result.stderr


def test_if_version_refuses_a_fire_on_a_case_that_changed_meanwhile(cli):
    case = open_application(cli)
    cli.ok("fire", case, "support", "--actor", "headteacher:h.brown", "--data",
           '{"evaluation": "Ready."}', now="2027-01-05")
    result = cli("fire", case, "submit_to_agency", "--actor", "headteacher:h.brown", "--data",
                 json.dumps(FUNDING), "--if-version", "1", now="2027-01-06")
    assert result.returncode == 2 and "version 2, not 1" in result.stderr


def test_list_filters_by_kind_state_and_overdue(cli):
    late = open_application(cli, now="2026-12-18")
    on_time = open_application(cli, now="2027-01-04")
    rows = cli.json("list", now="2027-01-22")
    assert {r["case"] for r in rows} == {late, on_time}
    assert all({"case", "kind", "state", "version"} <= set(r) for r in rows)
    assert [r["case"] for r in cli.json("list", "--overdue", now="2027-01-22")] == [late]
    assert cli.json("list", "--state", "supported") == []
    listed = cli.ok("list", "--kind", "application")
    # CLI.md: "cases, one a line": the header and the count are for the person, on stderr.
    assert sorted(line.split()[0] for line in listed.stdout.splitlines()) == sorted(
        [late, on_time])
    assert "2 case(s)" in listed.stderr and listed.stderr.startswith("case ")


def test_a_misspelt_state_is_refused_as_a_misspelt_kind_is(cli):
    open_application(cli)
    for args in (["--state", "supportd"], ["--kind", "review", "--state", "supported"]):
        result = cli("list", *args)
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.startswith("error: --state: no state ")
    assert "for an application" in cli("list", "--kind", "application", "--state", "x").stderr


def test_tick_fires_each_due_timer_once_and_a_second_tick_fires_nothing(cli):
    case = open_application(cli)
    fired = cli.json("tick", now="2027-01-21T08:00")
    assert [(f["case"], f["trigger"]) for f in fired] == [(case, "timer:headteacher_deadline")]
    assert cli.json("tick", now="2027-01-22") == []
    shown = cli.json("show", case)
    assert shown["log"][-1]["actor"] == "system"
    assert shown["notices"][-1]["template"] == "deadline_missed"


def test_audit_verify_exits_3_naming_the_entry_after_tampering(cli, tmp_path):
    case = open_application(cli)
    assert "intact" in cli.ok("audit", "verify").stdout
    engine = create_engine(f"sqlite:///{tmp_path / 'ast_engine.db'}")
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER transition_log_no_update"))
        conn.execute(text("UPDATE transition_log SET actor = 'headteacher:forger'"))
    engine.dispose()
    result = cli("audit", "verify")
    assert result.returncode == 3
    assert f"case {case}, seq 1" in result.stdout
    assert cli("audit", "verify", "--json").returncode == 3


def test_a_configuration_with_an_unknown_key_is_refused_at_start_up(cli, tmp_path):
    (tmp_path / "la.toml").write_text("[policy]\nla_limits = 'refuse'\n")
    result = cli("--config", "la.toml", "list")
    assert result.returncode == 2 and "policy.la_limits: Extra inputs" in result.stderr
    assert "renamed: policy.la_limit" in result.stderr


def test_la_closure_days_from_the_environment_move_deadlines(cli):
    data = json.dumps(application_data())
    case = cli.ok("open", "application", "--actor", "headteacher:h.brown", "--data", data,
                  now="2026-12-18",
                  env={"AST_ENGINE_CALENDAR_CLOSURES": "2027-01-11"}).stdout.strip()
    assert cli.json("show", case)["timers"][0]["due"] == "2027-01-21"


def test_an_unreachable_database_is_an_unexpected_failure_with_exit_1(tmp_path):
    cli = Cli(tmp_path, db="postgresql+psycopg://nobody@127.0.0.1:1/none")
    result = cli("list")
    assert result.returncode == 1
    assert result.stderr.startswith("error: ")


def test_a_command_before_init_is_refused_with_a_hint(tmp_path):
    result = Cli(tmp_path)("list")
    assert result.returncode == 2 and "run `init` first" in result.stderr
    assert not (tmp_path / "ast_engine.db").exists()   # a command that reads creates nothing


def test_the_same_commands_run_on_postgresql(tmp_path, pg_url):
    cli = Cli(tmp_path, db=pg_url)
    cli.ok("init")
    case = open_application(cli)
    cli.ok("fire", case, "support", "--actor", "headteacher:h.brown", "--data",
           '{"evaluation": "Ready."}', now="2027-01-05")
    assert cli.json("show", case)["state"] == "supported"
    assert "intact" in cli.ok("audit", "verify").stdout
    assert cli("replay", "--all", "--verify").returncode == 0


def test_help_teaches_the_commands_and_the_time_rules(tmp_path):
    out = Cli(tmp_path).ok("--help").stdout
    for word in ("init", "open", "fire", "show", "list", "tick", "audit", "demo", "deliver",
                 "daemon", "notices", "status",
                 "09:00 Europe/London", "exit codes", "AST_ENGINE_DB"):
        assert word in out


def test_the_demo_walks_its_cases_and_its_audit_passes(tmp_path):
    result = Cli(tmp_path).ok("demo", "--keep", str(tmp_path / "demo"))
    assert "timer:headteacher_deadline" in result.stdout
    assert "timer:review_window -> closed_not_met" in result.stdout
    assert "review_certified -> certified" in result.stdout
    assert "(keyed in on Fri 22 Jan) -> not_supported" in result.stdout
    assert "it supersedes headteacher_deadline (entry 2)" in result.stdout
    assert "both hash chains intact" in result.stdout
    assert (tmp_path / "demo" / "demo.db").exists()
    delivered = list((tmp_path / "demo" / "outbox").glob("*.eml"))
    assert len(delivered) > 20 and f"delivered as .eml files to {tmp_path / 'demo' / 'outbox'}" \
        in result.stdout


def test_every_case_of_the_demo_replays_from_its_log_and_matches(tmp_path):
    Cli(tmp_path).ok("demo", "--keep", str(tmp_path / "demo"))
    cli = Cli(tmp_path, db=f"sqlite:///{tmp_path / 'demo' / 'demo.db'}")
    result = cli.ok("replay", "--all", "--verify")
    assert "6 case(s), 45 log entries replayed; 0 differ" in result.stdout
    assert "replayed 6 of 6 cases" in result.stderr


def test_replay_verify_exits_3_naming_the_case_and_entry_that_differ(cli, tmp_path):
    case = open_application(cli)
    cli.ok("fire", case, "support", "--actor", "headteacher:h.brown", "--data",
           '{"evaluation": "Ready."}', now="2027-01-05")
    engine = create_engine(f"sqlite:///{tmp_path / 'ast_engine.db'}")
    with engine.begin() as conn:   # someone moves the deadline by hand
        conn.execute(text("UPDATE timers SET due = '2027-02-01'"))
    engine.dispose()
    result = cli("replay", case, "--verify")
    assert result.returncode == 3
    assert f"{case} (application)" in result.stdout and "DIFFERS" in result.stdout
    assert "entry 1 (open): timers started differ" in result.stdout
    assert cli("replay", case).returncode == 0          # without --verify: rebuilt only
    assert cli("replay").returncode == 2                 # neither CASE nor --all


def test_explain_shows_the_days_counted_and_skipped_by_name(cli):
    case = open_application(cli)
    out = cli.ok("explain", case, "headteacher_deadline").stdout
    assert "counts from Fri 2026-12-18" in out
    assert "skip   Fri 2026-12-25  bank holiday: Christmas Day" in out
    assert "skip   Mon 2026-12-28  bank holiday: Boxing Day (observed)" in out
    assert "skip   Sat 2026-12-19  Saturday" in out
    assert "  20   Wed 2027-01-20" in out
    assert "fires  Thu 2027-01-21 00:00 London (GMT) = 2027-01-21T00:00:00+00:00" in out
    steps = cli.json("explain", case)[0]
    assert (steps["due"], steps["fires_at"]) == ("2027-01-20", "2027-01-21T00:00:00+00:00")
    assert cli("explain", case, "nope").returncode == 2


def test_explain_names_an_la_closure_day_it_skipped(cli):
    case = cli.ok("open", "application", "--actor", "headteacher:h.brown", "--data",
                  json.dumps(application_data()), now="2026-12-18",
                  env={"AST_ENGINE_CALENDAR_CLOSURES": "2027-01-11"}).stdout.strip()
    out = cli.ok("explain", case).stdout
    assert "skip   Mon 2027-01-11  LA closure day" in out
    assert "due    Thu 2027-01-21" in out


def test_show_as_of_gives_the_case_as_it_stood_then(cli):
    case = open_application(cli)
    cli.ok("fire", case, "support", "--actor", "headteacher:h.brown", "--data",
           '{"evaluation": "Ready."}', now="2027-01-05")
    cli.ok("fire", case, "submit_to_agency", "--actor", "headteacher:h.brown", "--data",
           json.dumps(FUNDING), now="2027-01-06")
    then = cli.json("show", case, "--as-of", "2027-01-05T12:00")
    assert (then["state"], then["version"]) == ("supported", 2)
    assert [t["status"] for t in then["timers"]] == ["pending"]     # headteacher_deadline ran on
    assert "support" in then["records"] and "submit_to_agency" not in then["records"]
    now = cli.json("show", case)
    assert (now["state"], [t["status"] for t in now["timers"]]) == ("submitted", ["cancelled"])
    before = cli.json("show", case, "--as-of", "2026-12-01")
    assert (before["state"], before["log"], before["timers"]) == (None, [], [])


def test_show_tells_which_deadlines_were_met_and_which_missed(cli):
    case = open_application(cli)
    cli.ok("tick", now="2027-01-22")
    out = cli.ok("show", case).stdout
    assert "MISSED: reported to the LA" in out
    other = open_application(cli, now="2027-01-22")
    cli.ok("fire", other, "reject", "--actor", "headteacher:h.brown", "--data",
           '{"reasons": "Not signed."}', now="2027-01-25")
    assert "met by reject on Mon 2027-01-25" in cli.ok("show", other).stdout


def test_the_readme_embeds_the_current_diagram_of_each_process(tmp_path):
    readme = (ROOT / "README.md").read_text()
    for kind in ("application", "review", "appointment"):
        text = Cli(tmp_path).ok("diagram", kind).stdout.rstrip()
        assert f"```mermaid\n{text}\n```" in readme, f"README's {kind} diagram is out of date"


def test_export_person_writes_one_json_document_about_the_candidate(cli, tmp_path):
    case = open_application(cli)
    out = tmp_path / "ann.json"
    cli.ok("export-person", "ann.lee@hill.example.org", "--output", str(out))
    document = json.loads(out.read_text())
    assert [c["case"] for c in document["cases"]] == [case]
    assert [(e["case"], e["trigger"]) for e in document["log"]] == [(case, "open")]
    assert [n["template"] for n in document["notices"]] == ["application_received"]
    assert "Ann Lee" in document["notices"][0]["body"]
    assert cli("export-person", "").returncode == 2


def test_diagram_svg_is_drawn_when_graphviz_is_here_and_refused_clearly_when_not(tmp_path):
    import shutil
    cli = Cli(tmp_path)
    result = cli("diagram", "application", "--format", "svg", "--output", str(tmp_path / "a.svg"))
    if shutil.which("dot"):
        assert result.returncode == 0 and (tmp_path / "a.svg").read_text().startswith("<?xml")
    else:
        assert result.returncode == 2 and "graphviz" in result.stderr


def test_the_readmes_using_it_blocks_run_as_printed_in_an_empty_folder(tmp_path):
    """Each command of the README's "Using it" session, and the operators' block after it, in
    one shell in a new folder with `ast-engine` on PATH: every one must succeed."""
    import re
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Using it"):readme.index("### Configuration")]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    assert blocks[0].strip().startswith(". .venv/bin/activate")
    script = "set -euo pipefail\n" + "".join(blocks[1:])
    assert "ast-engine example application > ast1.json" in script
    installed = Path(sys.executable).parent
    assert (installed / "ast-engine").exists(), "the test command installs ast-engine"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AST_ENGINE_")}
    environment["PATH"] = f"{installed}{os.pathsep}{environment.get('PATH', '')}"
    ran = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=environment,
                         capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-2000:]
    assert "Traceback" not in ran.stderr
    assert {"ast1.json", "wales.toml", "head.json", "log.csv", "ast_engine.db"} <= {
        p.name for p in tmp_path.iterdir()}
    assert "Ann Lee" in ran.stdout   # list --search found her


def test_the_demos_look_closer_commands_work_as_printed(tmp_path):
    """Printed for a user to paste: they must run with the venv activated or not."""
    installed = Path(sys.executable).parent / "ast-engine"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AST_ENGINE_")}
    environment["PATH"] = "/usr/bin:/bin"   # no venv on it, as after the README's first command
    demo = subprocess.run([str(installed), "demo", "--keep", str(tmp_path / "demo")],
                          cwd=tmp_path, env=environment, capture_output=True, text=True,
                          timeout=300)
    assert demo.returncode == 0, demo.stderr
    lines = demo.stdout[demo.stdout.index("Look closer:"):].splitlines()[1:]
    commands = [line.split("   (")[0].strip() for line in lines if line.strip()]
    assert len(commands) == 5
    for command in commands:
        ran = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=environment,
                             capture_output=True, text=True, timeout=120)
        assert ran.returncode == 0, (command, ran.stderr)
        assert ran.stdout.strip()


def test_a_form_keyed_in_on_a_later_business_clock_never_promises_a_date_past_by_then(cli):
    # DOMAIN.md, "Notices": a duty whose due date has passed when the notice is rendered is
    # "overdue (it was due on D)". Keyed in under --now (a simulation runs ahead of the real
    # clock), the day it is rendered is the business clock's, not the real one's.
    late = cli.ok("open", "application", "--actor", "headteacher:h.brown", "--at", "2026-12-18",
                  "--data", json.dumps(application_data()), now="2027-02-01").stdout.strip()
    in_time = open_application(cli, now="2026-12-18")
    engine = create_engine(f"sqlite:///{cli.folder / 'ast_engine.db'}")
    with engine.connect() as conn:
        body = dict(conn.execute(text("SELECT case_id, body FROM notices")).all())
    engine.dispose()
    assert "it is overdue (it was due on Wednesday 20 January 2027)" in body[late]
    assert "by Wednesday 20 January 2027" not in body[late]
    assert "that is by Wednesday 20 January 2027" in body[in_time]
    # The day it was read is recorded with the entry, so replay renders the same letter.
    assert cli.json("show", late)["log"][0]["engine"] == {"read_on": "2027-02-01"}
    assert cli.json("show", in_time)["log"][0]["engine"] == {}
    assert cli("replay", "--all", "--verify").returncode == 0
    assert cli("audit", "verify").returncode == 0
