"""The fuzz of trigger sequences (tests/fuzzing.py), bounded and with a fixed seed so that the
suite stays quick and repeatable: `bench/fuzz_sequences.py` runs the long form."""
from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.fuzzing import TriggerSequences

BOUNDED = settings(max_examples=40, stateful_step_count=30, derandomize=True, database=None,
                   deadline=None, suppress_health_check=list(HealthCheck), print_blob=True)


def test_random_trigger_sequences_keep_every_property_of_the_engine():
    run_state_machine_as_test(TriggerSequences, settings=BOUNDED)
