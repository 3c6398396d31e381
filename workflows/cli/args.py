"""What each command was given, as one typed value: a frozen dataclass per command (and per
subcommand), its fields named as run_engine.py's parser names its options (`--if-version` is
`if_version`, `--for` is `for_`).

`typed` builds one from argparse's Namespace: the one place a Namespace is read, for the
console's and the daemon's commands too (their values live beside their handlers). The global
options (--db, --config, --now) are not here: they make the command's Context.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Value = TypeVar("Value", bound="DataclassInstance")


def typed(kind: type[Value], namespace: argparse.Namespace) -> Value:
    """`kind` filled from the namespace's attributes of the same names."""
    return kind(**{f.name: getattr(namespace, f.name) for f in fields(kind)})


@dataclass(frozen=True)
class InitArgs:
    pass


@dataclass(frozen=True)
class Acting:
    """Who acts, for whom and when: the options of every command that fires a trigger."""
    actor: str
    for_: str | None
    at: str | None
    json: bool


@dataclass(frozen=True)
class OpenArgs(Acting):
    kind: str
    data: str


@dataclass(frozen=True)
class FireArgs(Acting):
    case: str
    trigger: str
    data: str | None
    if_version: int | None


@dataclass(frozen=True)
class ExampleArgs:
    name: str


@dataclass(frozen=True)
class ShowArgs:
    case: str
    as_of: str | None
    json: bool


@dataclass(frozen=True)
class ListArgs:
    kind: str | None
    state: str | None
    overdue: bool
    search: str | None
    json: bool


@dataclass(frozen=True)
class TickArgs:
    json: bool


@dataclass(frozen=True)
class RecalendarArgs:
    apply: bool
    actor: str | None
    json: bool


@dataclass(frozen=True)
class ExplainArgs:
    case: str
    timer: str | None
    json: bool


@dataclass(frozen=True)
class AuditVerifyArgs:
    checkpoint: str | None
    json: bool


@dataclass(frozen=True)
class AuditCheckpointArgs:
    write: str | None
    json: bool


@dataclass(frozen=True)
class AuditExportArgs:
    case: str | None
    since: str | None
    until: str | None
    actor: str | None
    format: str          # jsonl or csv


@dataclass(frozen=True)
class ReplayArgs:
    case: str | None
    all: bool
    verify: bool
    what_if: str | None  # `replay --config OTHER.toml`
    json: bool


@dataclass(frozen=True)
class DeliverArgs:
    json: bool


@dataclass(frozen=True)
class NoticesArgs:
    case: str | None
    status: str | None
    json: bool


@dataclass(frozen=True)
class NoticesRetryArgs:
    id: str | None
    all: bool


@dataclass(frozen=True)
class StatusArgs:
    json: bool
    check: bool


@dataclass(frozen=True)
class DiagramArgs:
    kind: str
    format: str          # mermaid or svg
    output: str | None


@dataclass(frozen=True)
class ExportPersonArgs:
    email: str
    output: str | None


@dataclass(frozen=True)
class RetentionArgs:
    apply: bool
    actor: str | None
    for_: str | None
    json: bool


@dataclass(frozen=True)
class DemoArgs:
    keep: str | None
