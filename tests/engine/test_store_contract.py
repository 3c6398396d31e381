"""The store contract (storage/protocol.py): what the engine relies on of a CaseStore, checked on
every store it runs on: the SQL store on SQLite and on PostgreSQL, and the memory store that
replay re-applies entries on. A replayed entry runs the very code that recorded it, so a store
that answered differently would make replay report a difference that is not there, or miss one
that is."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import pytest

from storage.db import Database
from storage.errors import StorageError
from storage.hashchain import GENESIS
from storage.jsontext import ReadBackDict
from storage.memory_store import MemoryCaseStore
from storage.migrations import migrate
from storage.protocol import CaseStore
from storage.rows import (CaseChange, CaseRow, ChainHead, Erasure, IdempotentRequest, LogEntry,
                          NewTimer, NoticeRow)
from storage.sql_store import transaction
from tests.conftest import postgres_schema

AT = "2027-01-05T09:00:00+00:00"


class Stores:
    """Transactions on one store: each a transaction of its own on a database, the one memory
    store itself (it has nothing to commit)."""

    def __init__(self, db: Database | None):
        self.db = db
        self.memory = MemoryCaseStore() if db is None else None

    @contextmanager
    def transaction(self) -> Iterator[CaseStore]:
        if self.memory is not None:
            yield self.memory
        else:
            assert self.db is not None
            with transaction(self.db) as store:
                yield store


def _migrated(url: str) -> Iterator[Stores]:
    db = Database(url)
    migrate(db, "2026-11-01T00:00:00+00:00")
    yield Stores(db)
    db.dispose()


@pytest.fixture(params=["sqlite", "postgresql", "memory"])
def stores(request, tmp_path) -> Iterator[Stores]:
    if request.param == "memory":
        yield Stores(None)
    elif request.param == "sqlite":
        yield from _migrated(f"sqlite:///{tmp_path / 'cases.db'}")
    else:
        with postgres_schema(request.getfixturevalue("pg_server_url")) as url:
            yield from _migrated(url)


# -- rows as the engine writes them --------------------------------------------------------------

def a_case(case_id: str = "AST-1", kind: str = "application", state: str = "received",
           email: str = "ann.smith@example.org", data: dict | None = None) -> CaseRow:
    return CaseRow(id=case_id, kind=kind, state=state, version=1,
                   data=data if data is not None else {"candidate": {"name": "Ann Smith",
                                                                     "email": email}},
                   records={}, opened_at=AT, last_effective_at=AT, last_hash="h1",
                   updated_at=AT)


def a_change(case: CaseRow, state: str, expected_version: int, **changes) -> CaseChange:
    return CaseChange(**{"id": case.id, "state": state, "version": expected_version + 1,
                         "data": case.data, "records": case.records, "last_effective_at": AT,
                         "last_hash": f"h{expected_version + 1}", "updated_at": AT,
                         "expected_version": expected_version, **changes})


def an_entry(case_id: str, seq: int, global_seq: int, **changes) -> LogEntry:
    return LogEntry(**{"global_seq": global_seq, "case_id": case_id, "seq": seq,
                       "trigger": "open" if seq == 1 else "support",
                       "source": None if seq == 1 else "received", "dest": "received",
                       "actor": "headteacher:h.brown", "on_behalf_of": None,
                       "effective_at": AT, "recorded_at": AT, "data": '{"a":1}',
                       "engine": "{}", "data_salt": "salt", "data_sha256": "d" * 64,
                       "notices_sha256": None, "hash_version": 2, "prev_hash": f"case{seq}",
                       "global_prev_hash": f"global{global_seq}", "hash": f"hash{global_seq}",
                       **changes})


def a_timer(case_id: str, name: str, due: str = "2027-01-19", started_seq: int = 1) -> NewTimer:
    return NewTimer(case_id=case_id, name=name, due=due, fires_at=f"{due}T00:00:00+00:00",
                    rule="10 working days", rule_kind="working_days", rule_n=10,
                    calendar="local", counted_from="2027-01-05", nation="england",
                    closures="[]", school=None, school_closures="[]", started_seq=started_seq)


def a_notice(case_id: str, seq: int, n: int) -> NoticeRow:
    return NoticeRow(id=f"{case_id}.{seq}.{n}", case_id=case_id, log_seq=seq,
                     template="application_received", template_sha256="t" * 64,
                     recipients=("ann.smith@example.org", "hb@school.example"),
                     subject="Received", body="Dear Ann", body_sha256="b" * 64, salt="s",
                     content_sha256="c" * 64, hash="n" * 64, status="pending", attempts=0,
                     last_error=None, created_at=AT)


def opened(stores: Stores, *cases: CaseRow) -> None:
    with stores.transaction() as store:
        for case in cases:
            store.insert_case(case)


# -- the chain head --------------------------------------------------------------------------------

def test_a_new_store_starts_the_global_chain_at_genesis(stores):
    with stores.transaction() as store:
        assert store.chain_head() == ChainHead(global_seq=0, hash=GENESIS)


def test_the_chain_head_set_by_one_transaction_is_what_the_next_reads(stores):
    with stores.transaction() as store:
        store.set_chain_head(ChainHead(global_seq=7, hash="f" * 64))
    with stores.transaction() as store:
        assert store.chain_head() == ChainHead(global_seq=7, hash="f" * 64)


# -- cases -----------------------------------------------------------------------------------------

def test_a_case_is_read_back_as_it_was_written_with_its_data_as_json_gives_it_back(stores):
    written = a_case(data={"zeta": 1, "candidate": {"name": "Ann", "email": "a@x.org"},
                           "dates": ("2027-01-05", "2027-01-06")})
    written.records = {"open": {"data": {"b": 2, "a": 1}, "effective_date": "2027-01-05"}}
    opened(stores, written)
    with stores.transaction() as store:
        case = store.case("AST-1")
    assert case is not None
    assert (case.id, case.kind, case.state, case.version, case.opened_at,
            case.last_effective_at, case.last_hash, case.updated_at, case.erased_at) == (
        "AST-1", "application", "received", 1, AT, AT, "h1", AT, None)
    # keys sorted at every level, a tuple as a list: what canonical JSON text reads back as
    assert case.data == {"candidate": {"email": "a@x.org", "name": "Ann"},
                         "dates": ["2027-01-05", "2027-01-06"], "zeta": 1}
    assert list(case.data) == ["candidate", "dates", "zeta"]
    assert list(case.records["open"]["data"]) == ["a", "b"]
    assert case.candidate_email == "a@x.org"


def test_a_case_that_was_never_opened_reads_as_none(stores):
    with stores.transaction() as store:
        assert store.case("AST-404") is None


def test_a_case_cannot_be_opened_twice(stores):
    opened(stores, a_case())
    with pytest.raises(StorageError):
        opened(stores, a_case(state="other"))
    with stores.transaction() as store:
        case = store.case("AST-1")
    assert case is not None and case.state == "received"


def test_the_data_a_case_was_written_with_is_the_stores_own_once_written(stores):
    written = a_case()
    opened(stores, written)
    written.data["candidate"]["name"] = "changed by the caller afterwards"
    with stores.transaction() as store:
        case = store.case("AST-1")
    assert case is not None and case.data["candidate"]["name"] == "Ann Smith"


def test_cases_of_a_kind_are_narrowed_by_state_and_by_the_candidates_address(stores):
    opened(stores, a_case("AST-1", state="certified", email="Ann.Smith@Example.org"),
           a_case("AST-2", state="received", email="ann.smith@example.org"),
           a_case("AST-3", state="certified", email="bob@example.org"),
           a_case("REV-1", kind="review", state="certified", email="ann.smith@example.org"))
    with stores.transaction() as store:
        def ids(**narrowing) -> list[str]:
            return sorted(c.id for c in store.cases_of_kind("application", **narrowing))
        assert ids() == ["AST-1", "AST-2", "AST-3"]
        assert ids(state="certified") == ["AST-1", "AST-3"]
        # the address in any case of letters
        assert ids(email="ANN.SMITH@example.org") == ["AST-1", "AST-2"]
        assert ids(state="certified", email="ann.smith@example.org") == ["AST-1"]
        assert ids(email="nobody@example.org") == []


# -- optimistic concurrency on the version -------------------------------------------------------

def test_a_case_changes_only_at_the_version_its_change_expects(stores):
    opened(stores, a_case())
    with stores.transaction() as store:
        before = store.case("AST-1")
    assert before is not None
    with stores.transaction() as store:
        assert store.update_case(a_change(before, "supported", expected_version=1)) == 1
    # a second change made from the same reading comes too late, and changes nothing
    with stores.transaction() as store:
        assert store.update_case(a_change(before, "withdrawn", expected_version=1)) == 0
        after = store.case("AST-1")
    assert after is not None
    assert (after.state, after.version, after.last_hash) == ("supported", 2, "h2")


def test_a_change_to_a_case_that_does_not_exist_changes_nothing(stores):
    with stores.transaction() as store:
        assert store.update_case(a_change(a_case("AST-404"), "supported", 1)) == 0
        assert store.case("AST-404") is None


def test_a_change_writes_the_cases_data_and_records_and_keeps_what_it_was_opened_with(stores):
    opened(stores, a_case())
    with stores.transaction() as store:
        before = store.case("AST-1")
        assert before is not None
        records = {**before.records, "support": {"data": {"z": 1, "a": 2},
                                                 "effective_date": "2027-01-05"}}
        store.update_case(a_change(before, "supported", 1, records=records,
                                   last_effective_at="2027-01-06T00:00:00+00:00"))
    with stores.transaction() as store:
        after = store.case("AST-1")
    assert after is not None
    assert after.records == {"support": {"data": {"a": 2, "z": 1},
                                         "effective_date": "2027-01-05"}}
    assert after.last_effective_at == "2027-01-06T00:00:00+00:00"
    assert (after.kind, after.opened_at, after.data) == ("application", AT, before.data)


def test_a_case_read_before_a_change_keeps_what_it_was_read_with(stores):
    opened(stores, a_case())
    with stores.transaction() as store:
        before = store.case("AST-1")
        assert before is not None
        store.update_case(a_change(before, "supported", 1))
    assert (before.state, before.version, before.last_hash) == ("received", 1, "h1")


# -- the log ---------------------------------------------------------------------------------------

def test_the_log_of_a_case_is_read_back_entry_for_entry_in_the_order_of_its_seq(stores):
    opened(stores, a_case("AST-1"), a_case("AST-2"))
    entries = [an_entry("AST-1", 1, 1), an_entry("AST-2", 1, 2),
               an_entry("AST-1", 2, 3, on_behalf_of="agency:k.lee", engine=None,
                        data_salt=None, data_sha256=None, notices_sha256="n" * 64,
                        hash_version=1)]
    with stores.transaction() as store:
        for entry in entries:
            store.append_log(entry)
    with stores.transaction() as store:
        assert store.log_of("AST-1") == [entries[0], entries[2]]
        assert store.log_of("AST-2") == [entries[1]]
        assert store.log_of("AST-404") == []
        # the two links of an entry stay where they were written
        first = store.log_of("AST-1")[0]
    assert (first.prev_hash, first.global_prev_hash, first.hash) == ("case1", "global1",
                                                                     "hash1")
    assert first.erased is False


# -- timers ----------------------------------------------------------------------------------------

def test_a_started_timer_is_pending_with_no_attempts_and_an_id_of_its_own(stores):
    opened(stores, a_case())
    with stores.transaction() as store:
        store.start_timers([a_timer("AST-1", "headteacher_deadline"),
                            a_timer("AST-1", "review_window", due="2027-02-01")])
    with stores.transaction() as store:
        timers = store.timers_of("AST-1")
    assert [(t.name, t.due, t.status, t.attempts, t.ended_seq, t.last_error) for t in timers] \
        == [("headteacher_deadline", "2027-01-19", "pending", 0, None, None),
            ("review_window", "2027-02-01", "pending", 0, None, None)]
    assert timers[0].id < timers[1].id
    assert (timers[0].rule, timers[0].rule_kind, timers[0].rule_n, timers[0].calendar,
            timers[0].counted_from, timers[0].nation, timers[0].closures, timers[0].school,
            timers[0].school_closures, timers[0].started_seq) == (
        "10 working days", "working_days", 10, "local", "2027-01-05", "england", "[]", None,
        "[]", 1)


def test_a_pending_timer_is_found_by_its_id_and_by_its_cases_name_for_it(stores):
    opened(stores, a_case("AST-1"), a_case("AST-2"))
    with stores.transaction() as store:
        store.start_timers([a_timer("AST-1", "headteacher_deadline")])
        store.start_timers([a_timer("AST-2", "headteacher_deadline", due="2027-01-20")])
    with stores.transaction() as store:
        first, = store.timers_of("AST-1")
        assert store.pending_timer(first.id) == first
        assert store.pending_timer_named("AST-1", "headteacher_deadline") == first
        named = store.pending_timer_named("AST-2", "headteacher_deadline")
        assert named is not None and named.due == "2027-01-20"
        assert store.pending_timer_named("AST-1", "review_window") is None
        assert store.pending_timer(first.id + 1000) is None


@pytest.mark.parametrize("claim", ["", "skip", "wait"])
def test_a_claim_on_a_timer_nobody_else_holds_finds_it(stores, claim):
    opened(stores, a_case())
    with stores.transaction() as store:
        store.start_timers([a_timer("AST-1", "headteacher_deadline")])
    with stores.transaction() as store:
        timer, = store.timers_of("AST-1")
        assert store.pending_timer(timer.id, claim) == timer


def test_the_pending_timer_of_a_name_is_the_earliest_started(stores):
    opened(stores, a_case())
    with stores.transaction() as store:
        store.start_timers([a_timer("AST-1", "review_window", due="2027-02-01"),
                            a_timer("AST-1", "review_window", due="2027-03-01")])
    with stores.transaction() as store:
        named = store.pending_timer_named("AST-1", "review_window")
    assert named is not None and named.due == "2027-02-01"


def test_a_timer_ends_once_and_is_then_no_longer_pending(stores):
    opened(stores, a_case())
    with stores.transaction() as store:
        store.start_timers([a_timer("AST-1", "headteacher_deadline")])
    with stores.transaction() as store:
        timer, = store.timers_of("AST-1")
        assert store.end_timer(timer.id, "fired", 2) == 1
        assert store.end_timer(timer.id, "cancelled", 3) == 0   # already ended
        assert store.pending_timer(timer.id) is None
        assert store.pending_timer_named("AST-1", "headteacher_deadline") is None
    with stores.transaction() as store:
        ended, = store.timers_of("AST-1")
    assert (ended.status, ended.ended_seq) == ("fired", 2)
    # a timer read before it ended keeps what it was read with
    assert (timer.status, timer.ended_seq) == ("pending", None)


def test_only_a_fired_timer_can_be_superseded_and_it_keeps_the_seq_it_fired_in(stores):
    opened(stores, a_case())
    with stores.transaction() as store:
        store.start_timers([a_timer("AST-1", "headteacher_deadline"),
                            a_timer("AST-1", "review_window")])
    with stores.transaction() as store:
        fired, pending = store.timers_of("AST-1")
        store.end_timer(fired.id, "fired", 2)
        assert store.supersede_timer(pending.id) == 0
        assert store.supersede_timer(fired.id) == 1
        assert store.supersede_timer(fired.id) == 0   # superseded already
    with stores.transaction() as store:
        timers = store.timers_of("AST-1")
    assert [(t.name, t.status, t.ended_seq) for t in timers] == [
        ("headteacher_deadline", "superseded", 2), ("review_window", "pending", None)]


# -- notices ---------------------------------------------------------------------------------------

def test_notices_are_read_back_as_stored_in_the_order_of_their_entry_and_id(stores):
    opened(stores, a_case("AST-1"), a_case("AST-2"))
    notices = [a_notice("AST-1", 2, 1), a_notice("AST-1", 1, 2), a_notice("AST-1", 1, 1),
               a_notice("AST-2", 1, 1)]
    with stores.transaction() as store:
        store.store_notices(notices[:3])
        store.store_notices(notices[3:])
        store.store_notices([])
    with stores.transaction() as store:
        assert store.notices_of("AST-1") == [notices[2], notices[1], notices[0]]
        assert store.notices_of("AST-2") == [notices[3]]
        assert store.notices_of("AST-404") == []
        first = store.notices_of("AST-1")[0]
    assert first.recipients == ("ann.smith@example.org", "hb@school.example")
    assert (first.status, first.attempts, first.sent_at, first.erased) == ("pending", 0, None,
                                                                          False)


# -- erasure ---------------------------------------------------------------------------------------

def test_erasing_a_case_replaces_its_personal_fields_in_the_case_the_log_and_the_notices(stores):
    opened(stores, a_case())
    with stores.transaction() as store:
        store.append_log(an_entry("AST-1", 1, 1))
        store.append_log(an_entry("AST-1", 2, 2, actor="system"))
        store.store_notices([a_notice("AST-1", 1, 1)])
    with stores.transaction() as store:
        store.erase(Erasure(case_id="AST-1", erased_at="2033-01-01T00:00:00+00:00",
                            case_data={"candidate": "erased"},
                            records={"open": {"data": "erased"}},
                            log_data={1: '{"a":"erased"}'}))
    with stores.transaction() as store:
        case = store.case("AST-1")
        log = store.log_of("AST-1")
        notice, = store.notices_of("AST-1")
    assert case is not None
    assert (case.data, case.records, case.erased_at) == (
        {"candidate": "erased"}, {"open": {"data": "erased"}}, "2033-01-01T00:00:00+00:00")
    assert [(e.seq, e.data, e.data_salt, e.erased) for e in log] == [
        (1, '{"a":"erased"}', None, True), (2, '{"a":1}', "salt", False)]
    assert log[0].hash == "hash1"   # the chains are left as they were: they still verify
    assert (notice.recipients, notice.subject, notice.body, notice.salt, notice.erased) == (
        ("erased",), "erased", "erased", None, True)
    assert notice.content_sha256 == "c" * 64 and notice.hash == "n" * 64


# -- where the stores differ on purpose ------------------------------------------------------------

def test_the_memory_store_hands_out_case_data_that_nothing_can_change(stores):
    # Replay's memory store keeps the records a transition did not touch shared between the
    # case's versions (storage/memory_store.py), so what it hands out refuses to change; a
    # database hands out a fresh copy at every read, the reader's own to change.
    opened(stores, a_case())
    with stores.transaction() as store:
        case = store.case("AST-1")
    assert case is not None
    if stores.memory is not None:
        assert type(case.data) is ReadBackDict
        with pytest.raises(TypeError, match="not to be changed"):
            case.data["candidate"]["name"] = "Bob"
    else:
        case.data["candidate"]["name"] = "Bob"
        with stores.transaction() as store:
            again = store.case("AST-1")
        assert again is not None and again.data["candidate"]["name"] == "Ann Smith"


def test_a_transaction_ended_by_an_error_leaves_nothing_on_a_database_but_not_in_memory(stores):
    # The memory store has no rollback: replay stops a case at the first entry that cannot
    # be re-applied and reports that case, never trusting its rows (storage/memory_store.py).
    with pytest.raises(RuntimeError):
        with stores.transaction() as store:
            store.insert_case(a_case())
            raise RuntimeError("a template failed to render")
    with stores.transaction() as store:
        left = store.case("AST-1")
    if stores.memory is not None:
        assert left is not None
    else:
        assert left is None


# -- claims between transactions (PostgreSQL: row locks; SQLite has one writer at a time) ---------

def test_on_postgresql_a_timer_another_transaction_claimed_is_skipped_or_waited_for(pg_url):
    db = Database(pg_url)
    migrate(db, "2026-11-01T00:00:00+00:00")
    stores = Stores(db)
    opened(stores, a_case())
    with stores.transaction() as store:
        store.start_timers([a_timer("AST-1", "headteacher_deadline")])
        timer_id = store.timers_of("AST-1")[0].id
    try:
        with stores.transaction() as holder:
            assert holder.pending_timer(timer_id, "skip") is not None
            with stores.transaction() as other:
                assert other.pending_timer(timer_id, "skip") is None   # held: passed over
                assert other.pending_timer(timer_id, "") is not None   # unlocked read: seen
            holder.end_timer(timer_id, "fired", 2)
        with stores.transaction() as store:
            assert store.pending_timer(timer_id, "wait") is None   # fired by the holder
    finally:
        db.dispose()


# -- the API's idempotency keys ----------------------------------------------------------------------

def test_a_remembered_request_is_found_by_its_sender_and_key_only(stores):
    asked = IdempotentRequest(principal="agency:nas", key="k-1", fingerprint="f" * 64,
                              case_id="AST-1", kind="application", state="supported",
                              version=2, trigger="support", effective_at=AT, created_at=AT)
    with stores.transaction() as store:
        assert store.idempotent_request("agency:nas", "k-1") is None
        store.remember_request(asked)
    with stores.transaction() as store:
        assert store.idempotent_request("agency:nas", "k-1") == asked
        assert store.idempotent_request("agency:other", "k-1") is None
        assert store.idempotent_request("agency:nas", "k-2") is None
