"""An international address (`ännä@exämple.org`) as mail carries it: the domain in IDNA, the
local part in UTF-8 (RFC 6531). It was written as `=?utf-8?b?...?=@=?utf-8?q?...?=.org`, which
no mail program reads (issue 26, point 7). A relay that does not offer SMTPUTF8 gets nothing,
and the refusal says why."""
from __future__ import annotations

import smtplib
from email import message_from_string, policy

import pytest

from notifications.delivery import FileChannel, Outgoing, SmtpChannel, compose, mail_address
from storage import hashchain
from tests.mailserver import MailServer

ANNA = "ännä@exämple.org"
SENDER = "ast-engine@la.example.org"


def sealed(*to: str) -> Outgoing:
    return Outgoing("app-0123456789.1.1", tuple(to), "Application received", "Dear Ännä,\n",
                    "2027-01-04T09:00:00+00:00", "salt",
                    hashchain.notice_content_sha256("salt", list(to), "Application received",
                                                    "Dear Ännä,\n"))


def test_the_domain_is_written_in_idna_and_the_local_part_as_it_is():
    assert mail_address(ANNA) == "ännä@xn--exmple-cua.org"
    assert mail_address("h.brown@hill.example.org") == "h.brown@hill.example.org"


def test_the_file_channel_writes_an_address_a_mail_program_reads(tmp_path):
    FileChannel(tmp_path).send(compose(sealed(ANNA), SENDER), sealed(ANNA))
    raw = (tmp_path / "app-0123456789.1.1.eml").read_bytes()
    assert "To: ännä@xn--exmple-cua.org".encode() in raw and b"=?utf-8?" not in raw
    read = message_from_string(raw.decode("utf-8"), policy=policy.default)   # RFC 6532
    (address,) = read["To"].addresses
    assert (address.username, address.domain) == ("ännä", "xn--exmple-cua.org")


def test_an_ascii_address_is_written_as_before(tmp_path):
    message = compose(sealed("h.brown@hill.example.org"), SENDER)
    assert message.policy.utf8 is False and message["To"] == "h.brown@hill.example.org"


def test_a_relay_without_smtputf8_gets_nothing_and_says_why():
    with MailServer() as server:
        channel = SmtpChannel("127.0.0.1", server.port)
        with pytest.raises(smtplib.SMTPNotSupportedError, match="SMTPUTF8"):
            channel.send(compose(sealed(ANNA), SENDER), sealed(ANNA))
        channel.close()
        assert server.recorder.messages == []


def test_a_relay_that_offers_smtputf8_gets_the_address_as_written():
    with MailServer(smtputf8=True) as server:
        channel = SmtpChannel("127.0.0.1", server.port)
        channel.send(compose(sealed(ANNA), SENDER), sealed(ANNA))
        channel.close()
        (rcpt, message), = server.recorder.messages
    assert rcpt == ["ännä@xn--exmple-cua.org"]
    assert message["Message-ID"] == "<app-0123456789.1.1@la.example.org>"
