"""A real SMTP server on loopback that records what it receives (aiosmtpd), for delivery
tests: messages are counted by Message-ID, so a resend shows as a duplicate."""
from __future__ import annotations

import socket
import threading
from collections import Counter
from email import message_from_bytes

from aiosmtpd.controller import Controller


class Recorder:
    def __init__(self, refuse: int = 0, unknown: tuple[str, ...] = ()):
        self.messages: list = []
        self.lock = threading.Lock()
        self.refuse = refuse   # refuse this many messages first (a server having a bad day)
        self.unknown = set(unknown)   # mailboxes that do not exist here

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.unknown:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
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
    def __init__(self, refuse: int = 0, unknown: tuple[str, ...] = ()):
        self.recorder = Recorder(refuse, unknown)
        self.port = free_port()
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> "MailServer":
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()
