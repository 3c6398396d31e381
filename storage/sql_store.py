"""The unit of work's store (storage/protocol.py) on one database transaction. Case data goes in
and comes back as dicts, stored as canonical JSON text (storage/jsontext.py); rows come back typed
(storage/rows.py)."""
from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Any, Iterator, Mapping, Sequence

from storage import jsontext
from storage.db import Database
from storage.protocol import Claim
from storage.rows import (ERASED, CaseChange, CaseRow, ChainHead, Erasure, IdempotentRequest,
                          LogEntry, NewTimer, NoticeRow, TimerRow, by_name, columns, row_from)
from storage.statements import Statements


def select_list(row_class: type, table: str = "") -> str:
    """The columns of a row class as a SELECT lists them (`t.a, t.b` given the table's alias
    `t`), in the row's order."""
    prefix = f"{table}." if table else ""
    return ", ".join(prefix + name for name in columns(row_class))


def insert_into(table: str, names: Sequence[str], fixed: Mapping[str, str] | None = None) -> str:
    """INSERT of the columns `names`, each from the parameter of its name, and of `fixed`
    (column -> SQL literal)."""
    fixed = fixed or {}
    return (f"INSERT INTO {table} ({', '.join([*names, *fixed])}) VALUES "
            f"({', '.join([*(':' + n for n in names), *fixed.values()])})")


CASE_COLUMNS = select_list(CaseRow)
TIMER_COLUMNS = select_list(TimerRow)
LOG_COLUMNS = select_list(LogEntry)
NOTICE_COLUMNS = select_list(NoticeRow)

CASE = f"SELECT {CASE_COLUMNS} FROM cases WHERE id = :id"
CASES_OF_KIND = f"SELECT {CASE_COLUMNS} FROM cases WHERE kind = :kind"
# The candidate's address in a case's opening data, by dialect (cases.data is JSON text); the
# index of migration 8 is made on exactly this expression.
CANDIDATE_EMAIL = {"sqlite": "lower(json_extract(data, '$.candidate.email'))",
                    "postgresql": "lower(CAST(data AS jsonb) -> 'candidate' ->> 'email')"}


def cases_of_kind(q: Statements, dialect: str, kind: str, state: str | None,
                  email: str | None) -> list[CaseRow]:
    """Cases of `kind`, narrowed in SQL to a state and, on the index of migration 8, to the
    candidate's address, so that a rule asking for "a certified application of this candidate"
    reads the few cases it is about, not every case of the kind (the cost of an `open` would
    grow with the database). The address is compared again as Python lower-cases it: SQLite's
    lower() changes ASCII letters only, so a non-ASCII address is narrowed by state alone."""
    sql = CASES_OF_KIND + (" AND state = :state" if state is not None else "")
    if email is not None and email.isascii():
        sql += f" AND {CANDIDATE_EMAIL[dialect]} = :email"
    rows = [case_row(r) for r in q.all(sql, {"kind": kind, "state": state,
                                              "email": email and email.lower()})]
    return rows if email is None else [r for r in rows if r.candidate_email == email.lower()]


CASE_LOG = f"SELECT {LOG_COLUMNS} FROM transition_log WHERE case_id = :case_id ORDER BY seq"
CASE_TIMERS = f"SELECT {TIMER_COLUMNS} FROM timers WHERE case_id = :case_id ORDER BY id"
CASE_NOTICES = (f"SELECT {NOTICE_COLUMNS} FROM notices WHERE case_id = :case_id "
                "ORDER BY log_seq, id")
CHAIN_HEAD = f"SELECT {select_list(ChainHead)} FROM chain_head WHERE id = 1"
SET_CHAIN_HEAD = "UPDATE chain_head SET global_seq = :global_seq, hash = :hash WHERE id = 1"
INSERT_CASE = insert_into("cases", columns(CaseRow))
UPDATE_CASE = ("UPDATE cases SET " + ", ".join(
    f"{name} = :{name}" for name in columns(CaseChange) if name not in ("id", "expected_version"))
    + " WHERE id = :id AND version = :expected_version")
INSERT_LOG = insert_into("transition_log", columns(LogEntry))
INSERT_TIMER = insert_into("timers", columns(NewTimer), {"status": "'pending'", "attempts": "0"})
END_TIMER = ("UPDATE timers SET status = :status, ended_seq = :ended_seq "
             "WHERE id = :id AND status = 'pending'")
# A fired timer a late-keyed event overtook: it keeps the seq of the entry it fired in.
SUPERSEDE_TIMER = "UPDATE timers SET status = 'superseded' WHERE id = :id AND status = 'fired'"
PENDING_TIMER = f"SELECT {TIMER_COLUMNS} FROM timers WHERE id = :id AND status = 'pending'"
PENDING_TIMER_NAMED = (f"SELECT {TIMER_COLUMNS} FROM timers WHERE case_id = :case_id AND "
                       "name = :name AND status = 'pending' ORDER BY id")
INSERT_NOTICE = insert_into("notices", columns(NoticeRow))
ERASE_CASE = ("UPDATE cases SET data = :data, records = :records, erased_at = :erased_at "
              "WHERE id = :id")
ERASE_LOG_ENTRY = ("UPDATE transition_log SET data = :data, data_salt = NULL, erased = 1 "
                   "WHERE case_id = :case_id AND seq = :seq")
ERASE_NOTICES = ("UPDATE notices SET recipients = :recipients, subject = :subject, body = "
                 ":body, salt = NULL, erased = 1 WHERE case_id = :case_id")

IDEMPOTENT_REQUEST = (f"SELECT {select_list(IdempotentRequest)} FROM idempotency_keys "
                      "WHERE principal = :principal AND key = :key")
INSERT_IDEMPOTENT_REQUEST = insert_into("idempotency_keys", columns(IdempotentRequest))

LOCKS: dict[Claim, str] = {"": "", "skip": " FOR UPDATE SKIP LOCKED", "wait": " FOR UPDATE"}


class SqlCaseStore:
    def __init__(self, db: Database, q: Statements):
        self.db, self.q = db, q
        self.locks = not db.is_sqlite   # SQLite's BEGIN IMMEDIATE already serialises writers

    # -- the global chain head: every write takes it first ---------------------------------------

    def chain_head(self) -> ChainHead:
        # On PostgreSQL the row lock orders every write, taken before anything is read so that
        # guards reading other cases (Annex E's count, an appointee's certificate) see every
        # earlier commit.
        row = self.q.one(CHAIN_HEAD + (" FOR UPDATE" if self.locks else ""), {})
        assert row is not None, "the chain_head row is missing: run `ast-engine init`"
        return row_from(ChainHead, row)

    def set_chain_head(self, head: ChainHead) -> None:
        self.q.run(SET_CHAIN_HEAD, by_name(head))

    # -- reading ---------------------------------------------------------------------------------

    def case(self, case_id: str) -> CaseRow | None:
        row = self.q.one(CASE, {"id": case_id})
        return case_row(row) if row else None

    def cases_of_kind(self, kind: str, state: str | None = None,
                      email: str | None = None) -> list[CaseRow]:
        return cases_of_kind(self.q, self.db.dialect, kind, state, email)

    def log_of(self, case_id: str) -> list[LogEntry]:
        return [log_entry(r) for r in self.q.all(CASE_LOG, {"case_id": case_id})]

    def timers_of(self, case_id: str) -> list[TimerRow]:
        return [row_from(TimerRow, r) for r in self.q.all(CASE_TIMERS, {"case_id": case_id})]

    def notices_of(self, case_id: str) -> list[NoticeRow]:
        return [notice_row(r) for r in self.q.all(CASE_NOTICES, {"case_id": case_id})]

    def pending_timer(self, timer_id: int, claim: Claim = "") -> TimerRow | None:
        lock = LOCKS[claim] if self.locks else ""
        row = self.q.one(PENDING_TIMER + lock, {"id": timer_id})
        return row_from(TimerRow, row) if row else None

    def pending_timer_named(self, case_id: str, name: str) -> TimerRow | None:
        row = self.q.one(PENDING_TIMER_NAMED, {"case_id": case_id, "name": name})
        return row_from(TimerRow, row) if row else None

    # -- writing ---------------------------------------------------------------------------------

    def insert_case(self, row: CaseRow) -> None:
        self.q.run(INSERT_CASE, {**by_name(row), **_json_of(row)})

    def update_case(self, change: CaseChange) -> int:
        return self.q.run(UPDATE_CASE, {**by_name(change), **_json_of(change)})

    def append_log(self, entry: LogEntry) -> None:
        self.q.run(INSERT_LOG, {**by_name(entry), "erased": int(entry.erased)})

    def start_timers(self, rows: Sequence[NewTimer]) -> None:
        self.q.many(INSERT_TIMER, [by_name(r) for r in rows])

    def end_timer(self, timer_id: int, status: str, ended_seq: int) -> int:
        return self.q.run(END_TIMER, {"status": status, "ended_seq": ended_seq, "id": timer_id})

    def supersede_timer(self, timer_id: int) -> int:
        return self.q.run(SUPERSEDE_TIMER, {"id": timer_id})

    def store_notices(self, rows: Sequence[NoticeRow]) -> None:
        self.q.many(INSERT_NOTICE, [
            {**by_name(n), "recipients": _RECIPIENTS.encode(list(n.recipients)),
             "erased": int(n.erased)} for n in rows])

    def erase(self, erasure: Erasure) -> None:
        self.q.run(ERASE_CASE, {"id": erasure.case_id, "erased_at": erasure.erased_at,
                                "data": jsontext.dumps(erasure.case_data),
                                "records": jsontext.dumps(erasure.records)})
        self.q.many(ERASE_LOG_ENTRY, [{"case_id": erasure.case_id, "seq": seq, "data": data}
                                      for seq, data in sorted(erasure.log_data.items())])
        # One parameter a column: psycopg will not type one bound to VARCHAR and TEXT at once.
        self.q.run(ERASE_NOTICES, {"case_id": erasure.case_id, "subject": ERASED,
                                   "body": ERASED, "recipients": json.dumps([ERASED])})

    # -- the API's idempotency keys ----------------------------------------------------------------

    def idempotent_request(self, principal: str, key: str) -> IdempotentRequest | None:
        row = self.q.one(IDEMPOTENT_REQUEST, {"principal": principal, "key": key})
        return row_from(IdempotentRequest, row) if row else None

    def remember_request(self, row: IdempotentRequest) -> None:
        self.q.run(INSERT_IDEMPOTENT_REQUEST, by_name(row))


def _json_of(row: CaseRow | CaseChange) -> dict[str, str]:
    """A case's data and records as the JSON text the database keeps."""
    return {"data": jsontext.dumps(row.data), "records": jsontext.dumps(row.records)}


def case_row(values: Sequence[Any]) -> CaseRow:
    """A case from the values of CASE_COLUMNS."""
    row = dict(zip(columns(CaseRow), values))
    row["data"] = jsontext.loads(row["data"])
    row["records"] = jsontext.loads(row["records"]) if row["records"] else {}
    return CaseRow(**row)


def log_entry(values: Sequence[Any]) -> LogEntry:
    """A log entry from the values of LOG_COLUMNS."""
    row = dict(zip(columns(LogEntry), values))
    row["erased"] = bool(row["erased"])
    return LogEntry(**row)


def notice_row(values: Sequence[Any]) -> NoticeRow:
    """A notice from the values of NOTICE_COLUMNS."""
    row = dict(zip(columns(NoticeRow), values))
    row["recipients"] = tuple(json.loads(row["recipients"]))
    row["erased"] = bool(row["erased"])
    return NoticeRow(**row)


_RECIPIENTS = json.JSONEncoder()   # a notice's addresses as a JSON list, as json.dumps writes it


@contextmanager
def transaction(db: Database) -> Iterator[SqlCaseStore]:
    """A store on one write transaction: committed when the block ends, rolled back if it
    ends by an exception (storage/db.py)."""
    with db.write() as conn:
        yield SqlCaseStore(db, Statements(db, conn))
