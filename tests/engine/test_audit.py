"""What an auditor relies on: a head kept outside the system catches even a log rewritten with
fresh hashes (the audit commands and the export: tests/integration/test_audit_cli.py)."""
from __future__ import annotations

import pytest

from storage import queries
from tests.builders import Driver
from tests.forgery import rewrite_history


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
