"""The rows a unit of work reads and writes, typed. The SQL store builds them from the database's
columns and the memory store (replay) keeps them as they are; the engine sees only these.

A row's fields are named as its table's columns and kept in the table's order
(tests/engine/test_row_columns.py pins them): SQL column lists are derived from a row class with
`columns`, and a row is built from what the database gives back by name, with `row_from`.

Instants are UTC ISO 8601 text ending `+00:00`, days `YYYY-MM-DD` text: both sort correctly as
text and read the same on SQLite and PostgreSQL (storage/tables.py)."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any, Iterable, Mapping, TypeVar

ERASED = "erased"   # what a personal field reads once erased (DOMAIN.md, "Personal data")
JSON = Any   # a value read from, or written as, JSON text: dict, list, str, int, float, bool, None

Row = TypeVar("Row")

_COLUMNS: dict[type, tuple[str, ...]] = {}


def columns(row_class: type) -> tuple[str, ...]:
    """The names of a row class's fields, in its order: the columns it is read from."""
    names = _COLUMNS.get(row_class)
    if names is None:
        names = _COLUMNS[row_class] = tuple(f.name for f in fields(row_class))
    return names


def row_from(row_class: type[Row], values: Iterable[Any]) -> Row:
    """A row from the values of its columns, as a `SELECT` of `select_list(row_class)`
    (storage/sql_store.py) returns them: that list is `columns(row_class)`, so the values come
    in the fields' own order and each goes to the field of its name (tests/engine/test_row_columns.py
    pins the fields against the tables). Handed over in that order rather than through a dict
    of names, which cost 23,000 instructions a replayed entry (bench/count_replay.py)."""
    return row_class(*values)


def by_name(row: object) -> dict[str, Any]:
    """A row's fields by name: a shallow map (dataclasses.asdict copies every value deeply)."""
    return {name: getattr(row, name) for name in columns(type(row))}


@dataclass(slots=True)
class CaseRow:
    id: str
    kind: str
    state: str
    version: int                     # the seq of its latest log entry
    data: dict[str, JSON]            # what the case was opened with
    records: dict[str, dict[str, JSON]]   # trigger -> {"data", "effective_date", "engine"}
    opened_at: str
    last_effective_at: str           # the latest effective time of its log
    last_hash: str                   # the head of its own hash chain
    updated_at: str
    erased_at: str | None = None     # when its personal data was erased

    @property
    def trigger_data(self) -> dict[str, Mapping[str, JSON]]:
        """trigger -> the data it recorded (what guards and notices read)."""
        return {t: r["data"] for t, r in self.records.items()}

    @property
    def done(self) -> dict[str, date]:
        """trigger -> the day it took effect."""
        return {t: date.fromisoformat(r["effective_date"]) for t, r in self.records.items()}

    @property
    def candidate_email(self) -> str | None:
        """The candidate's address in the opening data, lower-cased (None: there is none)."""
        candidate = self.data.get("candidate")
        email = candidate.get("email") if isinstance(candidate, dict) else None
        return email.lower() if isinstance(email, str) else None


@dataclass(slots=True)
class TimerRow:
    id: int
    case_id: str
    name: str
    due: str                         # the last day on which the duty is in time
    fires_at: str                    # 00:00 Europe/London the day after `due`, in UTC
    status: str                      # pending, fired, cancelled, superseded, failed
    rule: str                        # the arithmetic in words
    rule_kind: str                   # working_days or calendar_days
    rule_n: int                      # how many
    calendar: str                    # local or national: whose calendar it counted on
    counted_from: str
    nation: str
    closures: str                    # JSON list of the LA closure days it skipped (local)
    school: str | None               # the school whose closure days it skipped (local)
    school_closures: str             # JSON list of those days
    started_seq: int
    ended_seq: int | None
    attempts: int = 0                # failed attempts to fire it
    last_error: str | None = None


@dataclass(slots=True)
class NewTimer:
    case_id: str
    name: str
    due: str
    fires_at: str
    rule: str
    rule_kind: str
    rule_n: int
    calendar: str
    counted_from: str
    nation: str
    closures: str
    school: str | None
    school_closures: str
    started_seq: int


@dataclass(slots=True)
class StoredEntry:
    """A log entry without its hashes and salts: what replay reads of one (it re-applies and
    compares these; `audit verify` checks the rest)."""
    global_seq: int
    case_id: str
    seq: int
    trigger: str
    source: str | None
    dest: str
    actor: str
    on_behalf_of: str | None
    effective_at: str
    recorded_at: str
    data: str                        # JSON text: what the person (or the system) submitted
    engine: str | None               # JSON text: what the engine recorded (None before mig. 4)


@dataclass(slots=True)
class LogEntry(StoredEntry):
    data_salt: str | None            # with data_sha256, so erased data cannot be guessed back
    data_sha256: str | None          # sha256 of salt and data: what the hash covers (v2)
    notices_sha256: str | None       # the hashes of the notices it stored (v2)
    hash_version: int                # 1: before migration 5 (the hash covers `data` itself)
    prev_hash: str
    global_prev_hash: str
    hash: str
    erased: bool = False


@dataclass(slots=True)
class NoticeRow:
    id: str                          # CASE.SEQ.N: stable, so a resend is recognisable
    case_id: str
    log_seq: int
    template: str
    template_sha256: str | None
    recipients: tuple[str, ...]
    subject: str
    body: str
    body_sha256: str
    salt: str | None
    content_sha256: str | None       # sha256 of salt, recipients, subject and body
    hash: str | None                 # covers id, case, entry, template, version and content
    status: str                      # pending, sent, failed
    attempts: int
    last_error: str | None
    created_at: str
    sent_at: str | None = None
    next_attempt_at: str | None = None
    erased: bool = False


@dataclass(slots=True)
class ChainHead:
    global_seq: int
    hash: str


@dataclass(slots=True)
class CaseChange:
    """A case row after one transition, written only if it is still at `expected_version`."""
    id: str
    state: str
    version: int
    data: dict[str, JSON]
    records: dict[str, dict[str, JSON]]
    last_effective_at: str
    last_hash: str
    updated_at: str
    expected_version: int


@dataclass(slots=True)
class Erasure:
    """What erasing one case's personal data writes (DOMAIN.md, "Personal data")."""
    case_id: str
    erased_at: str
    case_data: dict[str, JSON]
    records: dict[str, dict[str, JSON]]
    log_data: dict[int, str] = field(default_factory=dict)   # seq -> erased data text


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    """An API request made under an `Idempotency-Key` (migration 10), and where it led: kept in
    the transaction of the entry it made, so that a retry finds both or neither."""
    principal: str                   # ROLE:NAME of the token that sent it
    key: str
    fingerprint: str                 # sha256 of the method, path and body
    case_id: str
    kind: str
    state: str
    version: int                     # the case's version (its entry's seq) it led to
    trigger: str
    effective_at: str
    created_at: str
