"""The console's limits on failed logins (workflows/console/auth.py, RateLimiter), on an injected
clock: what is counted, for whom, for how long, and that the table of counters stays bounded."""
from __future__ import annotations

from datetime import timedelta

from workflows.console.auth import Limits, RateLimiter, Reservation
from workflows.core.clock import FixedClock
from workflows.core.times import parse_instant


def limiter(**limits) -> RateLimiter:
    return RateLimiter(FixedClock(parse_instant("2027-03-01T10:00")), Limits(**limits))


def test_a_login_counts_against_the_limit_before_its_password_is_checked():
    limits = limiter()
    checking = [limits.reserve("ann", "10.0.0.1") for _ in range(5)]   # none answered yet
    assert all(isinstance(r, Reservation) for r in checking)
    assert limits.reserve("ann", "10.0.0.1") == timedelta(minutes=15)


def test_failures_from_one_address_do_not_lock_the_account_from_another():
    limits = limiter()
    for _ in range(5):
        limits.reserve("ann", "10.0.0.66")
    assert isinstance(limits.reserve("ANN", "10.0.0.66"), timedelta)
    assert isinstance(limits.reserve("ann", "10.0.0.1"), Reservation)


def test_an_account_sprayed_from_many_addresses_locks_at_a_ceiling_far_higher():
    limits = limiter()
    for n in range(100):
        assert isinstance(limits.reserve("ann", f"10.0.{n // 250}.{n % 250}"), Reservation)
    assert limits.reserve("ann", "10.1.0.1") == timedelta(minutes=15)
    assert isinstance(limits.reserve("bob", "10.1.0.1"), Reservation)
    limits.clock.advance(minutes=15)
    assert isinstance(limits.reserve("ann", "10.1.0.1"), Reservation)


def test_the_lock_ends_when_its_oldest_failure_ages_out():
    limits = limiter()
    for _ in range(5):
        limits.reserve("ann", "10.0.0.1")
        limits.clock.advance(minutes=1)
    assert limits.reserve("ann", "10.0.0.1") == timedelta(minutes=10)
    limits.clock.advance(minutes=10)
    assert isinstance(limits.reserve("ann", "10.0.0.1"), Reservation)


def test_a_login_not_checked_counts_for_nothing_and_a_right_one_forgets_that_addresss_failures():
    limits = limiter()
    busy = limits.reserve("ann", "10.0.0.1")
    assert isinstance(busy, Reservation)
    limits.cancel(busy)
    for _ in range(3):
        limits.reserve("ann", "10.0.0.1")
    right = limits.reserve("ann", "10.0.0.1")
    assert isinstance(right, Reservation)
    limits.succeeded(right)
    assert all(isinstance(limits.reserve("ann", "10.0.0.1"), Reservation) for _ in range(5))


def test_the_table_of_counters_stays_bounded_and_drops_what_aged_out():
    limits = limiter(table=300)
    for n in range(5000):
        limits.reserve(f"name{n}", f"10.{n // 62500}.{n // 250 % 250}.{n % 250}")
    assert limits.counters() <= 300
    limits.clock.advance(minutes=15)
    limits.reserve("ann", "10.0.0.1")
    assert limits.counters() == 3
