"""The unit of work's store (storage/protocol.py) on one database transaction. Case data goes in
and comes back as dicts, stored as canonical JSON text (storage/jsontext.py); rows come back typed
(storage/rows.py)."""
from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import fields
from typing import Any, Iterator, Sequence

from storage import jsontext
from storage.db import Database
from storage.protocol import Claim
from storage.rows import (CaseChange, CaseRow, ChainHead, Erasure, LogEntry, NewTimer,
                          NoticeRow, TimerRow)
from storage.statements import Statements

ERASED = "erased"   # what a personal field reads once erased

CASE_COLUMNS = ("id, kind, state, version, data, records, opened_at, last_effective_at, "
                "last_hash, updated_at, erased_at")
TIMER_COLUMNS = ("id, case_id, name, due, fires_at, status, rule, rule_kind, rule_n, calendar, "
                 "counted_from, nation, closures, school, school_closures, started_seq, "
                 "ended_seq, attempts, last_error")
LOG_COLUMNS = ("global_seq, case_id, seq, trigger, source, dest, actor, on_behalf_of, "
               "effective_at, recorded_at, data, engine, data_salt, data_sha256, notices_sha256, "
               "hash_version, prev_hash, global_prev_hash, hash, erased")
NOTICE_COLUMNS = ("id, case_id, log_seq, template, template_sha256, recipients, subject, body, "
                  "body_sha256, salt, content_sha256, hash, status, attempts, last_error, "
                  "created_at, sent_at, next_attempt_at, erased")

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
CHAIN_HEAD = "SELECT global_seq, hash FROM chain_head WHERE id = 1"
SET_CHAIN_HEAD = "UPDATE chain_head SET global_seq = :global_seq, hash = :hash WHERE id = 1"
INSERT_CASE = (f"INSERT INTO cases ({CASE_COLUMNS}) VALUES (:id, :kind, :state, :version, :data, "
               ":records, :opened_at, :last_effective_at, :last_hash, :updated_at, :erased_at)")
UPDATE_CASE = (
    "UPDATE cases SET state = :state, version = :version, data = :data, records = :records, "
    "last_effective_at = :last_effective_at, last_hash = :last_hash, updated_at = :updated_at "
    "WHERE id = :id AND version = :expected_version")
INSERT_LOG = (f"INSERT INTO transition_log ({LOG_COLUMNS}) VALUES (:global_seq, :case_id, :seq, "
              ":trigger, :source, :dest, :actor, :on_behalf_of, :effective_at, :recorded_at, "
              ":data, :engine, :data_salt, :data_sha256, :notices_sha256, :hash_version, "
              ":prev_hash, :global_prev_hash, :hash, :erased)")
INSERT_TIMER = (
    "INSERT INTO timers (case_id, name, due, fires_at, status, rule, rule_kind, rule_n, calendar,"
    " counted_from, nation, closures, school, school_closures, started_seq, attempts) VALUES "
    "(:case_id, :name, :due, :fires_at, 'pending', :rule, :rule_kind, :rule_n, :calendar, "
    ":counted_from, :nation, :closures, :school, :school_closures, :started_seq, 0)")
END_TIMER = ("UPDATE timers SET status = :status, ended_seq = :ended_seq "
             "WHERE id = :id AND status = 'pending'")
# A fired timer a late-keyed event overtook: it keeps the seq of the entry it fired in.
SUPERSEDE_TIMER = "UPDATE timers SET status = 'superseded' WHERE id = :id AND status = 'fired'"
PENDING_TIMER = f"SELECT {TIMER_COLUMNS} FROM timers WHERE id = :id AND status = 'pending'"
PENDING_TIMER_NAMED = (f"SELECT {TIMER_COLUMNS} FROM timers WHERE case_id = :case_id AND "
                       "name = :name AND status = 'pending' ORDER BY id")
INSERT_NOTICE = (f"INSERT INTO notices ({NOTICE_COLUMNS}) VALUES (:id, :case_id, :log_seq, "
                 ":template, :template_sha256, :recipients, :subject, :body, :body_sha256, "
                 ":salt, :content_sha256, :hash, :status, :attempts, :last_error, :created_at, "
                 ":sent_at, :next_attempt_at, :erased)")
ERASE_CASE = ("UPDATE cases SET data = :data, records = :records, erased_at = :erased_at "
              "WHERE id = :id")
ERASE_LOG_ENTRY = ("UPDATE transition_log SET data = :data, data_salt = NULL, erased = 1 "
                   "WHERE case_id = :case_id AND seq = :seq")
ERASE_NOTICES = ("UPDATE notices SET recipients = :recipients, subject = :subject, body = "
                 ":body, salt = NULL, erased = 1 WHERE case_id = :case_id")

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
        return ChainHead(*row)

    def set_chain_head(self, head: ChainHead) -> None:
        self.q.run(SET_CHAIN_HEAD, _params(head))

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
        return [TimerRow(*r) for r in self.q.all(CASE_TIMERS, {"case_id": case_id})]

    def notices_of(self, case_id: str) -> list[NoticeRow]:
        return [notice_row(r) for r in self.q.all(CASE_NOTICES, {"case_id": case_id})]

    def pending_timer(self, timer_id: int, claim: Claim = "") -> TimerRow | None:
        lock = LOCKS[claim] if self.locks else ""
        row = self.q.one(PENDING_TIMER + lock, {"id": timer_id})
        return TimerRow(*row) if row else None

    def pending_timer_named(self, case_id: str, name: str) -> TimerRow | None:
        row = self.q.one(PENDING_TIMER_NAMED, {"case_id": case_id, "name": name})
        return TimerRow(*row) if row else None

    # -- writing ---------------------------------------------------------------------------------

    def insert_case(self, row: CaseRow) -> None:
        self.q.run(INSERT_CASE, {**_case_params(row), "version": row.version,
                                 "kind": row.kind, "opened_at": row.opened_at,
                                 "erased_at": row.erased_at})

    def update_case(self, change: CaseChange) -> int:
        return self.q.run(UPDATE_CASE, {**_case_params(change),
                                        "version": change.version,
                                        "expected_version": change.expected_version})

    def append_log(self, entry: LogEntry) -> None:
        params = _params(entry)
        params["erased"] = int(entry.erased)
        self.q.run(INSERT_LOG, params)

    def start_timers(self, rows: Sequence[NewTimer]) -> None:
        self.q.many(INSERT_TIMER, [_params(r) for r in rows])

    def end_timer(self, timer_id: int, status: str, ended_seq: int) -> int:
        return self.q.run(END_TIMER, {"status": status, "ended_seq": ended_seq, "id": timer_id})

    def supersede_timer(self, timer_id: int) -> int:
        return self.q.run(SUPERSEDE_TIMER, {"id": timer_id})

    def store_notices(self, rows: Sequence[NoticeRow]) -> None:
        self.q.many(INSERT_NOTICE, [
            {**_params(n), "recipients": _RECIPIENTS.encode(list(n.recipients)),
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


_NAMES: dict[type, tuple[str, ...]] = {}


def _params(row: Any) -> dict:
    """A row's fields as statement parameters (a shallow map: dataclasses.asdict copies every
    value deeply, which cost a seventh of a transition)."""
    kind = type(row)
    names = _NAMES.get(kind)
    if names is None:
        names = _NAMES[kind] = tuple(f.name for f in fields(row))
    return {name: getattr(row, name) for name in names}


def _case_params(row: CaseRow | CaseChange) -> dict:
    return {"id": row.id, "state": row.state, "data": jsontext.dumps(row.data),
            "records": jsontext.dumps(row.records), "last_effective_at": row.last_effective_at,
            "last_hash": row.last_hash, "updated_at": row.updated_at}


def case_row(row: tuple) -> CaseRow:
    (case_id, kind, state, version, data, records, opened_at, last_effective_at, last_hash,
     updated_at, erased_at) = row
    return CaseRow(case_id, kind, state, version, jsontext.loads(data),
                   jsontext.loads(records) if records else {}, opened_at, last_effective_at,
                   last_hash, updated_at, erased_at)


def log_entry(row: tuple) -> LogEntry:
    entry = LogEntry(*row)
    entry.erased = bool(entry.erased)
    return entry


def notice_row(row: tuple) -> NoticeRow:
    notice = NoticeRow(*row)
    notice.recipients = tuple(json.loads(row[5]))
    notice.erased = bool(notice.erased)
    return notice


_RECIPIENTS = json.JSONEncoder()   # a notice's addresses as a JSON list, as json.dumps writes it


@contextmanager
def transaction(db: Database) -> Iterator[SqlCaseStore]:
    """A store on one write transaction: committed when the block ends, rolled back if it
    ends by an exception (storage/db.py)."""
    with db.write() as conn:
        yield SqlCaseStore(db, Statements(db, conn))
