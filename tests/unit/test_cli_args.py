"""Each command's handler takes one typed value (workflows/cli/args.py, and the console's and
daemon's beside their handlers), built from the parsed command line in one place: every
command of the parser has a handler, and every field of its value is an option it parses, so
that an option renamed in one place fails here rather than when someone runs it."""
from __future__ import annotations

import argparse
import dataclasses

import pytest

import run_engine
from workflows.cli.args import FireArgs, ShowArgs, typed


def commands(parser: argparse.ArgumentParser, path: str = ""):
    """(name as `handlers` names it, its parser, the options of the commands above it)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                named = f"{path} {name}".strip()
                inner = [a for a in sub._actions if isinstance(a, argparse._SubParsersAction)]
                if not inner or not inner[0].required:
                    yield named, sub, parser
                yield from commands(sub, named)


def dests(*parsers: argparse.ArgumentParser) -> set[str]:
    return {a.dest for p in parsers for a in p._actions}


def test_every_command_has_a_handler_and_a_value_of_the_options_it_parses():
    parser = run_engine.build_parser()
    table = run_engine.handlers()
    found = {name for name, _, _ in commands(parser)}
    assert found - {"demo", "example"} == set(table)
    for name, sub, above in commands(parser):
        if name in table:
            _, kind = table[name]
            given = dests(sub, above) | {"early_signals"}   # set by main() for the daemon
            missing = {f.name for f in dataclasses.fields(kind)} - given
            assert not missing, f"{name}: {kind.__name__} has {missing}, which it does not parse"


def test_a_parsed_command_line_becomes_its_commands_frozen_value():
    args = run_engine.build_parser().parse_args(
        ["fire", "app-1", "support", "--actor", "operator:it.jones", "--for",
         "headteacher:h.brown", "--at", "2027-01-05", "--if-version", "3", "--db", "x.db"])
    value = typed(FireArgs, args)
    assert value == FireArgs(actor="operator:it.jones", for_="headteacher:h.brown",
                             at="2027-01-05", json=False, case="app-1", trigger="support",
                             data=None, if_version=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.case = "app-2"   # type: ignore[misc]


@pytest.mark.parametrize("argv, command", [
    (["show", "app-1"], "show"), (["audit", "export"], "audit export"),
    (["notices"], "notices"), (["notices", "retry", "--all"], "notices retry"),
    (["user", "add", "ann", "--role", "auditor"], "user add")])
def test_a_subcommand_is_dispatched_by_its_full_name(argv, command):
    assert run_engine.command_of(run_engine.build_parser().parse_args(argv)) == command


def test_show_takes_its_case_its_instant_and_its_json_switch():
    args = run_engine.build_parser().parse_args(["show", "app-1", "--as-of", "2027-01-05",
                                                 "--json"])
    assert typed(ShowArgs, args) == ShowArgs("app-1", "2027-01-05", True)
