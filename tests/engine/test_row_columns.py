"""Each typed row (storage/rows.py, and replay's digests in storage/queries.py) is named and
ordered as its table's columns (storage/tables.py): column lists are derived from the row
classes, so a field renamed, swapped or left out of a row shows here, not as two hashes
quietly exchanged."""
from __future__ import annotations

import pytest

from storage import queries, tables
from storage.hashchain import GENESIS
from storage.queries import CaseDigest, NoticeDigest, TimerDigest
from storage.rows import (CaseChange, CaseRow, ChainHead, IdempotentRequest, LogEntry, NewTimer,
                          NoticeRow, StoredEntry, TimerRow, by_name, columns, row_from)
from tests.builders import HEADTEACHER


def table_columns(table) -> list[str]:
    return [c.name for c in table.__table__.columns]


# row class, its table, the table's columns it leaves out (and why), fields that are no column
ROWS = [
    (CaseRow, tables.Case, [], []),
    (TimerRow, tables.Timer, [], []),
    (LogEntry, tables.TransitionLog, [], []),
    # the delivery lease is the outbox's own business (storage/outbox.py)
    (NoticeRow, tables.Notice, ["lease_until", "lease_owner"], []),
    (ChainHead, tables.ChainHead, ["id"], []),
    (IdempotentRequest, tables.IdempotencyKey, [], []),
    # what the engine gives: the store sets the id, status, end and attempts
    (NewTimer, tables.Timer, ["id", "status", "ended_seq", "attempts", "last_error"], []),
    # what replay reads: no hashes, salts or erasure flag (`audit verify` checks those)
    (StoredEntry, tables.TransitionLog,
     ["data_salt", "data_sha256", "notices_sha256", "hash_version", "prev_hash",
      "global_prev_hash", "hash", "erased"], []),
    # what one transition changes of a case, written only at the version it expects
    (CaseChange, tables.Case, ["kind", "opened_at", "erased_at"], ["expected_version"]),
    (CaseDigest, tables.Case,
     ["data", "records", "opened_at", "last_effective_at", "last_hash", "updated_at"], []),
    (TimerDigest, tables.Timer,
     ["id", "case_id", "fires_at", "rule", "rule_kind", "rule_n", "calendar", "counted_from",
      "attempts", "last_error"], []),
    (NoticeDigest, tables.Notice,
     ["recipients", "subject", "body", "salt", "content_sha256", "hash", "status", "attempts",
      "last_error", "created_at", "sent_at", "next_attempt_at", "lease_until", "lease_owner",
      "erased"], []),
]


@pytest.mark.parametrize("row_class, table, left_out, not_columns", ROWS,
                         ids=[r[0].__name__ for r in ROWS])
def test_a_row_has_its_tables_columns_by_name_and_in_the_tables_order(row_class, table,
                                                                     left_out, not_columns):
    expected = [c for c in table_columns(table) if c not in left_out] + not_columns
    assert list(columns(row_class)) == expected


def test_a_row_read_by_name_gives_each_column_to_its_own_field():
    values = [f"value of {name}" for name in columns(LogEntry)]
    entry = row_from(LogEntry, values)
    assert entry.prev_hash == "value of prev_hash"
    assert entry.global_prev_hash == "value of global_prev_hash"
    assert by_name(entry) == dict(zip(columns(LogEntry), values))


def test_each_entry_links_to_its_cases_previous_entry_and_to_the_previous_entry_of_all(driver):
    # Two cases written in turn, so that a case's previous entry is not the log's previous one:
    # an entry whose two links were exchanged shows here (and fails `audit verify`).
    first = driver.open(at="2026-12-18").case
    second = driver.open(at="2026-12-18").case
    driver.fire(first, "support", HEADTEACHER, {"evaluation": "Meets E and A standards"},
                at="2027-01-05")
    driver.fire(second, "support", HEADTEACHER, {"evaluation": "Meets E and A standards"},
                at="2027-01-05")
    log = list(queries.log_in_order(driver.engine.db))
    assert [(e.case_id, e.seq) for e in log] == [(first, 1), (second, 1), (first, 2),
                                                 (second, 2)]
    for before, entry in zip(log, log[1:]):
        assert entry.global_prev_hash == before.hash
    last_of_case: dict[str, str] = {}
    for entry in log:
        assert entry.prev_hash == last_of_case.get(entry.case_id, GENESIS)
        last_of_case[entry.case_id] = entry.hash
    assert queries.verify_log(driver.engine.db).ok
