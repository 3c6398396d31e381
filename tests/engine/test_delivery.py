"""Notices leave through the outbox after their transition committed: to a folder of .eml files
or over SMTP, each once, with a stable Message-ID; failures retried with back-off, then failed
where an operator sees them."""
from __future__ import annotations

import email
import threading
from datetime import timedelta


from notifications.delivery import FileChannel, SmtpChannel, check_seal
from storage.outbox import retry
from tests.builders import HEADTEACHER, Driver
from tests.mailserver import MailServer
from workflows.engine.notice_queue import Outbox, backoff


class FakeChannel:
    """A channel that records what it was given and can be told to fail or to wait."""
    name = "fake"

    def __init__(self, fail_with: Exception | None = None):
        self.sent, self.fail_with = [], fail_with
        self.entered, self.release = threading.Event(), None

    def send(self, message, notice):
        check_seal(notice)   # as every channel does
        self.entered.set()
        if self.release is not None:
            self.release.wait(10)
        if self.fail_with:
            raise self.fail_with
        self.sent.append(message)

    def close(self):
        pass


def outbox(driver: Driver, channel, max_attempts: int = 8) -> Outbox:
    return Outbox(driver.engine.db, channel, "ast-engine@la.example.org", max_attempts,
                  driver.clock)


def statuses(driver: Driver) -> list[tuple]:
    return [tuple(r) for r in driver.rows(
        "SELECT id, status, attempts FROM notices ORDER BY created_at, id")]


def test_the_file_channel_writes_one_eml_per_notice_with_a_stable_message_id(driver, tmp_path):
    case = driver.open(at="2026-12-18").case
    driver.tick("2027-01-21T08:00")
    report = outbox(driver, FileChannel(tmp_path / "outbox")).deliver_all()

    assert report.sent == [f"{case}.1.1", f"{case}.2.1"]
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert [f.name for f in files] == [f"{case}.1.1.eml", f"{case}.2.1.eml"]
    message = email.message_from_bytes(files[0].read_bytes())
    assert message["Message-ID"] == f"<{case}.1.1@la.example.org>"
    assert message["To"] == "ann.lee@hill.example.org"
    assert case in message["Subject"]
    assert "Ann Lee" in message.get_payload(decode=True).decode()
    assert [s for _, s, _ in statuses(driver)] == ["sent", "sent"]
    assert outbox(driver, FileChannel(tmp_path / "outbox")).deliver_all().sent == []


def test_smtp_delivery_reaches_a_real_server_once_per_notice(driver):
    driver.to_certified()
    with MailServer() as server:
        report = outbox(driver, SmtpChannel("127.0.0.1", server.port)).deliver_all()
        ids = server.recorder.ids()
    assert len(report.sent) == driver.count("notices") == 3
    assert set(ids.values()) == {1}
    assert {f"<{n}@la.example.org>" for n in report.sent} == set(ids)


def test_a_refused_delivery_waits_with_backoff_and_then_goes_through(driver):
    driver.open(at="2026-12-18")
    with MailServer(refuse=1) as server:
        box = outbox(driver, SmtpChannel("127.0.0.1", server.port))
        first = box.deliver_all()
        assert first.sent == [] and len(first.retrying) == 1
        row = driver.rows("SELECT status, attempts, last_error, next_attempt_at FROM notices")[0]
        assert (row.status, row.attempts) == ("pending", 1)
        assert "451" in row.last_error
        assert box.deliver_all().sent == []            # not before its back-off ends
        driver.clock.advance(seconds=31)
        assert len(box.deliver_all().sent) == 1
        assert len(server.recorder.ids()) == 1


def test_backoff_doubles_from_thirty_seconds_to_at_most_an_hour():
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff(20) == timedelta(hours=1)


def test_after_max_attempts_a_notice_is_failed_with_its_last_error_and_can_be_retried(driver):
    driver.open(at="2026-12-18")
    box = outbox(driver, FakeChannel(ConnectionRefusedError("mail server down")), max_attempts=3)
    for _ in range(3):
        box.deliver_all()
        driver.clock.advance(hours=1)
    row = driver.rows("SELECT id, status, attempts, last_error FROM notices")[0]
    assert (row.status, row.attempts) == ("failed", 3)
    assert "mail server down" in row.last_error
    assert box.deliver_all().sent == []               # a failed notice is not retried by itself

    assert retry(driver.engine.db, row.id) == [(row.id, "failed")]
    working = FakeChannel()
    assert outbox(driver, working).deliver_all().sent == [row.id]
    assert len(working.sent) == 1


def test_delivery_in_progress_never_blocks_a_transition(driver):
    case = driver.open(at="2026-12-18").case
    slow = FakeChannel()
    slow.release = threading.Event()
    worker = threading.Thread(target=outbox(driver, slow).deliver_all)
    worker.start()
    try:
        assert slow.entered.wait(10)
        # The mail server is still thinking: the headteacher's decision goes through regardless.
        outcome = driver.fire(case, "support", HEADTEACHER, {"evaluation": "Ready."},
                              at="2027-01-05")
        assert outcome.state == "supported"
    finally:
        slow.release.set()
        worker.join(10)
    assert [s for _, s, _ in statuses(driver)] == ["sent"]


def test_a_notice_one_of_whose_recipients_is_refused_is_not_marked_sent(driver):
    """smtplib only raises when every recipient is refused: one refused mailbox must still
    count as a failed delivery that an operator will see, not as `sent`."""
    case = driver.to_assessment_scheduled()    # assessment_arranged goes to candidate and head
    with MailServer(unknown=("h.brown@hill.example.org",)) as server:
        outbox(driver, SmtpChannel("127.0.0.1", server.port), max_attempts=1).deliver_all()
    row = driver.rows("SELECT status, last_error FROM notices WHERE template = "
                      "'assessment_arranged' AND case_id = :c", c=case)[0]
    assert row.status == "failed"
    assert "h.brown@hill.example.org" in row.last_error and "550" in row.last_error


def test_retrying_a_notice_that_was_sent_meanwhile_does_not_queue_it_again(driver):
    driver.open(at="2026-12-18")
    notice = driver.rows("SELECT id FROM notices")[0].id
    outbox(driver, FakeChannel()).deliver_all()
    assert retry(driver.engine.db, notice) == [(notice, "sent")]
    assert driver.rows("SELECT status FROM notices")[0].status == "sent"
