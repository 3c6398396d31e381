"""Delivery channels for stored notices: a folder of RFC 5322 `.eml` files (the embedded
default) and SMTP. Each message carries a Message-ID derived from the notice's id, so a resend
after a crash is recognisable downstream as the same message.

Every channel checks a notice's seal before it sends anything: the recipients, subject and body
it is about to send must still match the hash stored with them (storage/hashchain.py), so a
notice edited in the database is never sent as edited. SMTP over TLS (`starttls` or `implicit`)
verifies the relay's certificate and host name against the system's CAs or a given bundle; a
relay that cannot be verified gets nothing, not even the login."""
from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Literal, Mapping, Protocol

from storage import hashchain

SMTP_PASSWORD_VARIABLE = "AST_ENGINE_SMTP_PASSWORD"
STALE_PART_SECONDS = 60   # a message file is written in far less


class SealBrokenError(Exception):
    """A notice's content no longer matches its hash: it is not sent."""


@dataclass(frozen=True)
class Outgoing:
    id: str
    recipients: tuple[str, ...]
    subject: str
    body: str
    created_at: str
    salt: str = ""
    content_sha256: str | None = None
    problem: str | None = None   # what storage found wrong with its seal, if anything


def check_seal(notice: Outgoing) -> None:
    """Refuse to send what no longer matches its stored hash."""
    if notice.problem:
        raise SealBrokenError(notice.problem)
    if notice.content_sha256 is None or notice.content_sha256 != \
            hashchain.notice_content_sha256(notice.salt, notice.recipients, notice.subject,
                                            notice.body):
        raise SealBrokenError(f"notice {notice.id}: its recipients, subject or body no longer "
                              "match its hash (edited after it was stored)")


def message_id(notice_id: str, sender: str) -> str:
    domain = sender.rpartition("@")[2] or "ast-engine.invalid"
    return f"<{notice_id}@{domain}>"


def mail_address(address: str) -> str:
    """An address as mail carries it: its domain in IDNA (`ännä@exämple.org` is
    `ännä@xn--exmple-cua.org`), its local part as written."""
    import idna   # email-validator's own dependency
    local, _, domain = address.rpartition("@")
    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii") if domain else domain
    except idna.IDNAError:
        ascii_domain = domain   # validated on the way in; a relay refuses what it cannot route
    return f"{local}@{ascii_domain}"


def compose(notice: Outgoing, sender: str) -> EmailMessage:
    """The message of a notice. An address whose local part is not ASCII is written as UTF-8
    (RFC 6531): the encoded words the default policy would write there (`=?utf-8?b?...?=@...`)
    are no address any mail program reads. Over SMTP such a message needs a relay that offers
    SMTPUTF8; one that does not refuses it, saying so, and the notice waits."""
    to = [mail_address(a) for a in notice.recipients]
    international = not all(a.isascii() for a in (*to, sender))
    msg = EmailMessage(policy=policy.SMTPUTF8 if international else policy.default)
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = notice.subject
    msg["Date"] = format_datetime(datetime.fromisoformat(notice.created_at))
    msg["Message-ID"] = message_id(notice.id, sender)
    msg["X-AST-Notice"] = notice.id
    msg.set_content(notice.body)
    return msg


class Channel(Protocol):
    name: str

    def send(self, message: EmailMessage, notice: Outgoing) -> None:
        """Return only once the message is accepted; raise on any failure (SealBrokenError,
        without sending, when the notice's seal does not hold)."""

    def close(self) -> None: ...


class FileChannel:
    """One `.eml` file per notice, named after it: a resend replaces the same file."""
    name = "file"

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def send(self, message: EmailMessage, notice: Outgoing) -> None:
        check_seal(notice)
        # The notices hold personal data: a folder made here is its owner's alone, as each
        # file in it is (0600).
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        target = self.folder / f"{notice.id}.eml"
        # Written beside the target and renamed, so a reader never sees half a message.
        fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(bytes(message))
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def close(self) -> None:
        # A `.part` file left by a process killed mid-write is never renamed: tidy those old
        # enough that no delivery can still be writing them.
        cutoff = time.time() - STALE_PART_SECONDS
        for stale in self.folder.glob(".*.part"):
            try:
                if stale.stat().st_mtime < cutoff:
                    stale.unlink()
            except FileNotFoundError:
                pass


Tls = Literal["none", "starttls", "implicit"]


def tls_context(ca_file: str = "") -> ssl.SSLContext:
    """Certificates and host names verified: against `ca_file` when given (a private relay's
    CA), else against the system's CAs."""
    context = ssl.create_default_context(cafile=ca_file or None)
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


class SmtpChannel:
    """The standard library's smtplib; one connection reused for a batch of notices."""
    name = "smtp"

    def __init__(self, host: str, port: int, tls: Tls = "none", username: str = "",
                 ca_file: str = "", timeout: float = 30.0,
                 environ: Mapping[str, str] = os.environ):
        self.host, self.port, self.tls = host, port, tls
        self.username, self.ca_file, self.timeout = username, ca_file, timeout
        self.password = environ.get(SMTP_PASSWORD_VARIABLE, "")
        self._smtp: smtplib.SMTP | None = None

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            smtp: smtplib.SMTP
            if self.tls == "implicit":
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                        context=tls_context(self.ca_file))
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            try:
                if self.tls == "starttls":
                    smtp.starttls(context=tls_context(self.ca_file))
                if self.username:
                    smtp.login(self.username, self.password)
            except BaseException:
                smtp.close()
                raise
            self._smtp = smtp
        return self._smtp

    def send(self, message: EmailMessage, notice: Outgoing) -> None:
        check_seal(notice)
        try:
            refused = self._connection().send_message(message)
        except BaseException:
            self.close()   # a broken connection is not reused for the next notice
            raise
        if refused:
            # smtplib raises only when every recipient is refused; one refused address is a
            # failed delivery too, retried and in the end shown to an operator, not `sent`.
            raise smtplib.SMTPRecipientsRefused(refused)

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except Exception:   # already broken: nothing more to say to this server
                self._smtp.close()
            self._smtp = None


def channel_from(delivery: Any, base: Path | None = None) -> Channel:
    """The channel the configuration's [delivery] section names."""
    if delivery.channel == "smtp":
        return SmtpChannel(delivery.smtp_host, delivery.smtp_port, delivery.smtp_tls,
                           delivery.smtp_username, delivery.smtp_ca_file)
    folder = Path(delivery.folder)
    return FileChannel(folder if folder.is_absolute() or base is None else base / folder)
