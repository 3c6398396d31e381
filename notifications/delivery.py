"""Delivery channels for stored notices: a folder of RFC 5322 `.eml` files (the embedded
default) and SMTP. Each message carries a Message-ID derived from the notice's id, so a resend
after a crash is recognisable downstream as the same message."""
from __future__ import annotations

import os
import smtplib
import tempfile
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Protocol

SMTP_PASSWORD_VARIABLE = "AST_ENGINE_SMTP_PASSWORD"


@dataclass(frozen=True)
class Outgoing:
    id: str
    recipients: tuple[str, ...]
    subject: str
    body: str
    created_at: datetime


def message_id(notice_id: str, sender: str) -> str:
    domain = sender.rpartition("@")[2] or "ast-engine.invalid"
    return f"<{notice_id}@{domain}>"


def compose(notice: Outgoing, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(notice.recipients)
    msg["Subject"] = notice.subject
    msg["Date"] = format_datetime(notice.created_at)
    msg["Message-ID"] = message_id(notice.id, sender)
    msg["X-AST-Notice"] = notice.id
    msg.set_content(notice.body)
    return msg


class Channel(Protocol):
    name: str

    def send(self, message: EmailMessage) -> None:
        """Return only once the message is accepted; raise on any failure."""

    def close(self) -> None: ...


class FileChannel:
    """One `.eml` file per notice, named after it: a resend replaces the same file."""
    name = "file"

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def send(self, message: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"{message['X-AST-Notice']}.eml"
        # Written beside the target and renamed, so a reader never sees half a message.
        fd, temporary = tempfile.mkstemp(dir=self.folder, suffix=".part")
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
        pass


class SmtpChannel:
    """The standard library's smtplib; one connection reused for a batch of notices."""
    name = "smtp"

    def __init__(self, host: str, port: int, starttls: bool = False, username: str = "",
                 timeout: float = 30.0, environ=os.environ):
        self.host, self.port, self.starttls = host, port, starttls
        self.username, self.timeout = username, timeout
        self.password = environ.get(SMTP_PASSWORD_VARIABLE, "")
        self._smtp: smtplib.SMTP | None = None

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            try:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password)
            except BaseException:
                smtp.close()
                raise
            self._smtp = smtp
        return self._smtp

    def send(self, message: EmailMessage) -> None:
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


def channel_from(delivery, base: Path | None = None) -> Channel:
    """The channel the configuration's [delivery] section names."""
    if delivery.channel == "smtp":
        return SmtpChannel(delivery.smtp_host, delivery.smtp_port, delivery.smtp_starttls,
                           delivery.smtp_username)
    folder = Path(delivery.folder)
    return FileChannel(folder if folder.is_absolute() or base is None else base / folder)

