"""Delivery holds no transaction open while a mail server answers: a notice is claimed with a
lease in one short transaction, sent, and marked in another; a lease that expires (its daemon
died) makes the notice claimable again. Times are the real clock's, never `--now`'s."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from sqlalchemy import text

from notifications.delivery import check_seal
from storage import outbox
from tests.builders import Driver
from workflows.core.clock import FixedClock
from workflows.engine.notice_queue import LEASE_SECONDS, Outbox
from workflows.core.times import utc_iso


class BlockingChannel:
    name = "blocking"

    def __init__(self):
        self.entered, self.release, self.sent = threading.Event(), threading.Event(), []

    def send(self, message, notice):
        check_seal(notice)
        self.entered.set()
        assert self.release.wait(20)
        self.sent.append(notice.id)

    def close(self):
        pass


def test_while_the_mail_server_answers_no_lock_is_held_on_the_notice(driver: Driver):
    driver.open(at="2026-12-18")
    db = driver.engine.db
    channel = BlockingChannel()
    box = Outbox(db, channel, "ast-engine@la.example.org", 8, driver.clock)
    worker = threading.Thread(target=box.deliver_all)
    worker.start()
    try:
        assert channel.entered.wait(20)
        # Another writer changes the very row at once: nothing holds it.
        with db.engine.begin() as conn:
            if not db.is_sqlite:
                conn.execute(text("SET LOCAL lock_timeout = '1s'"))
            conn.execute(text("UPDATE notices SET last_error = 'touched meanwhile'"))
            lease = conn.execute(text("SELECT lease_owner, lease_until FROM notices")).one()
        assert lease.lease_owner == box.owner and lease.lease_until is not None
    finally:
        channel.release.set()
        worker.join(20)
    row = driver.rows("SELECT status, lease_owner FROM notices")[0]
    assert (row.status, row.lease_owner) == ("sent", None)


def test_a_lease_left_by_a_dead_daemon_expires_and_the_notice_is_claimed_again(driver: Driver):
    driver.open(at="2026-12-18")
    db = driver.engine.db
    now = datetime(2026, 12, 18, 10, tzinfo=timezone.utc)
    until = utc_iso(now + timedelta(seconds=LEASE_SECONDS))
    taken = outbox.claim(db, "dead-daemon", utc_iso(now), until)
    assert taken is not None
    assert outbox.claim(db, "other", utc_iso(now + timedelta(seconds=5)), until) is None
    later = now + timedelta(seconds=LEASE_SECONDS + 1)
    again = outbox.claim(db, "other", utc_iso(later), utc_iso(later + timedelta(minutes=2)))
    assert again is not None and again.notice.id == taken.notice.id
    # The dead daemon's late mark does not count: the notice is the new owner's now.
    assert outbox.mark_sent(db, taken.notice.id, "dead-daemon", utc_iso(later)) == 0
    assert outbox.mark_sent(db, taken.notice.id, "other", utc_iso(later)) == 1


def test_two_outboxes_never_claim_the_same_notice(driver: Driver):
    for day in ("2026-12-18", "2026-12-19", "2026-12-20"):
        driver.open(at=day)
    db = driver.engine.db
    clock = FixedClock(datetime(2026, 12, 21, tzinfo=timezone.utc))
    now, until = utc_iso(clock.now()), utc_iso(clock.now() + timedelta(minutes=2))
    claims = [outbox.claim(db, owner, now, until) for owner in ("a", "b", "a", "b")]
    ids = [c.notice.id for c in claims if c is not None]
    assert len(ids) == 3 and len(set(ids)) == 3 and claims[3] is None


def test_a_notice_waiting_out_its_back_off_is_waiting_but_one_a_deliverer_holds_is_not(
        driver: Driver):
    # What `deliver` names as waiting: not a notice a live daemon is sending right now.
    driver.open(at="2026-12-18")
    db = driver.engine.db
    now = datetime(2027, 1, 4, 9, tzinfo=timezone.utc)
    later = utc_iso(now + timedelta(minutes=5))
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE notices SET attempts = 1, next_attempt_at = :later"),
                     {"later": later})
    (notice_id, due), = outbox.waiting(db, utc_iso(now))
    assert due == later
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE notices SET lease_owner = 'otherhost:1', lease_until = :u"),
                     {"u": utc_iso(now + timedelta(seconds=100))})
    assert outbox.waiting(db, utc_iso(now)) == []
    assert outbox.waiting(db, later) == []   # its back-off over: due, not waiting
