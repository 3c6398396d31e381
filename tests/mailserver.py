"""A real SMTP server on loopback that records what it receives (aiosmtpd), for delivery
tests: messages are counted by Message-ID, so a resend shows as a duplicate. It can be slow
(a relay under load), speak TLS (STARTTLS or implicit, with a certificate the test made with
trustme) and require a login."""
from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections import Counter
from email import message_from_bytes
from typing import Any, Literal, Mapping

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


class Recorder:
    def __init__(self, refuse: int = 0, unknown: tuple[str, ...] = (), delay: float = 0.0):
        self.messages: list = []
        self.logins: list[tuple[str, str]] = []   # (user, password) of each accepted login
        self.lock = threading.Lock()
        self.refuse = refuse   # refuse this many messages first (a server having a bad day)
        self.unknown = set(unknown)   # mailboxes that do not exist here
        self.delay = delay     # seconds each message takes to be accepted
        self.smtputf8 = False  # offers SMTPUTF8 in its EHLO (aiosmtpd would always)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        return responses if self.smtputf8 else [r for r in responses if "SMTPUTF8" not in r]

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.unknown:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            if self.refuse > 0:
                self.refuse -= 1
                return "451 4.3.0 try again later"
            self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"

    def ids(self) -> Counter:
        with self.lock:
            return Counter(m["Message-ID"] for _, m in self.messages)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class MailServer:
    def __init__(self, refuse: int = 0, unknown: tuple[str, ...] = (), delay: float = 0.0,
                 tls: Literal["none", "starttls", "implicit"] = "none", certificate: Any = None,
                 accounts: Mapping[str, str] | None = None, smtputf8: bool = False):
        """`certificate`: a trustme LeafCert the server presents (tls starttls or implicit);
        `accounts`: user -> password; when given, a login is required (over TLS only)."""
        self.recorder = Recorder(refuse, unknown, delay)
        self.port = free_port()
        options: dict[str, Any] = {}
        if tls != "none":
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            certificate.configure_cert(context)
            if tls == "starttls":
                options.update(tls_context=context, require_starttls=True)
            else:
                options.update(ssl_context=context)
        if accounts is not None:
            # aiosmtpd knows of TLS only after its own STARTTLS: with implicit TLS the whole
            # session is encrypted already, so it is told not to look for it.
            options.update(authenticator=self._authenticator(dict(accounts)),
                           auth_required=True, auth_require_tls=tls == "starttls")
        if smtputf8:   # offers SMTPUTF8 (RFC 6531): addresses with a local part in UTF-8
            self.recorder.smtputf8 = True
            options.update(enable_SMTPUTF8=True)
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port,
                                     **options)

    def _authenticator(self, accounts: dict[str, str]):
        def check(server, session, envelope, mechanism, auth_data):
            user = auth_data.login.decode()
            password = auth_data.password.decode()
            if accounts.get(user) != password:
                return AuthResult(success=False, handled=False)
            with self.recorder.lock:
                self.recorder.logins.append((user, password))
            return AuthResult(success=True)
        return check

    def __enter__(self) -> "MailServer":
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()
