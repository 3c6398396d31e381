"""Replay's two comparisons agree: the prefilter (the whole log re-applied, then every row
compared at once) finds a difference exactly when the comparison entry by entry does, so that
`replay --verify` never passes a case the full comparison would fail. Checked on a log
corrupted in each column replay reads."""
from __future__ import annotations

import pytest

from storage import queries
from tests.builders import AGENCY, Driver
from tests.forgery import drop_append_only_guard
from workflows.core.config import Config
from workflows.engine.replay import Replayer

# (what is corrupted, SQL; :case is the case id). Each is a stored row edited after the fact.
CORRUPTIONS = [
    ("an entry's destination", "UPDATE transition_log SET dest = 'withdrawn' "
                               "WHERE case_id = :case AND seq = 2"),
    ("an entry's trigger", "UPDATE transition_log SET trigger = 'reject' "
                           "WHERE case_id = :case AND seq = 2"),
    ("an entry's engine record", "UPDATE transition_log SET engine = '{\"warnings\": [\"x\"]}' "
                                 "WHERE case_id = :case AND seq = 1"),
    ("an entry's data", "UPDATE transition_log SET data = '{}' "
                        "WHERE case_id = :case AND seq = 1"),
    ("a timer's due date", "UPDATE timers SET due = '2030-01-01' WHERE case_id = :case "
                           "AND name = 'decision_letter'"),
    ("a timer's status", "UPDATE timers SET status = 'fired' WHERE case_id = :case "
                         "AND status = 'cancelled'"),
    ("the entry that started a timer", "UPDATE timers SET started_seq = 1 WHERE case_id = :case "
                                       "AND name = 'decision_letter'"),
    ("a notice's text", "UPDATE notices SET body_sha256 = 'x' WHERE case_id = :case "
                        "AND template = 'decision_letter'"),
    ("a notice's template", "UPDATE notices SET template = 'not_shortlisted' "
                            "WHERE case_id = :case AND template = 'decision_letter'"),
    ("the entry that sent a notice", "UPDATE notices SET log_seq = 1 WHERE case_id = :case "
                                     "AND template = 'decision_letter'"),
    ("the case's state", "UPDATE cases SET state = 'withdrawn' WHERE id = :case"),
]


def verdicts(db, case: str) -> tuple[bool, list[str]]:
    """(what the prefilter says, the differences the comparison finds) for one case."""
    stored = queries.stored_cases(db, [case])[case]
    replayer = Replayer(db, Config())
    fast = replayer.replay_stored(stored, verify=False).ok and replayer.matches_as_stored(stored)
    replayer.memory.forget(case)
    return fast, replayer.compared(stored).differences


def certified_with_letter(driver: Driver) -> str:
    case = driver.to_certified()
    driver.fire(case, "send_decision_letter", AGENCY, at="2027-02-11")
    return case


def test_both_comparisons_find_an_untouched_case_as_stored(driver: Driver):
    case = certified_with_letter(driver)
    assert verdicts(driver.engine.db, case) == (True, [])


@pytest.mark.no_replay
@pytest.mark.parametrize("what, sql", CORRUPTIONS, ids=[c[0] for c in CORRUPTIONS])
def test_the_prefilter_and_the_comparison_agree_on_a_corrupted_log(driver: Driver, what, sql):
    case = certified_with_letter(driver)
    drop_append_only_guard(driver.engine.db)
    with driver.engine.db.engine.begin() as conn:
        assert conn.exec_driver_sql(sql.replace(":case", f"'{case}'")).rowcount >= 1, what
    fast, differences = verdicts(driver.engine.db, case)
    assert fast == (not differences), (what, differences)
    # Every one of these corruptions changes what the case is or did: both must see it.
    assert differences, what


@pytest.mark.no_replay
def test_they_agree_when_an_input_is_corrupted_that_changes_nothing_replay_reads(
        driver: Driver):
    # An effective time moved within its day: replay re-applies the entry as now logged, and
    # every deadline counts from the same day, so neither comparison finds a difference.
    case = certified_with_letter(driver)
    drop_append_only_guard(driver.engine.db)
    with driver.engine.db.engine.begin() as conn:
        first = conn.exec_driver_sql(
            f"SELECT effective_at FROM transition_log WHERE case_id = '{case}' AND seq = 2"
        ).scalar_one()
        moved = first[:11] + "10:30:00+00:00"
        assert moved != first
        conn.exec_driver_sql(f"UPDATE transition_log SET effective_at = '{moved}' "
                             f"WHERE case_id = '{case}' AND seq = 2")
    fast, differences = verdicts(driver.engine.db, case)
    assert fast == (not differences)


@pytest.mark.no_replay
def test_a_logged_destination_no_transition_leads_to_is_named_at_its_entry(driver: Driver):
    case = certified_with_letter(driver)
    drop_append_only_guard(driver.engine.db)
    with driver.engine.db.engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE transition_log SET dest = 'withdrawn' "
                             f"WHERE case_id = '{case}' AND seq = 2")
    result = Replayer(driver.engine.db, Config()).replay(case)
    assert (result.ok, result.seq) == (False, 2)
    assert "the log says it led to withdrawn" in result.differences[0]
