"""sd_notify(3) without a dependency: tell systemd (Type=notify) that the daemon is ready, that
it is stopping, and that its loop is alive (WatchdogSec=). Outside systemd (no NOTIFY_SOCKET)
every call does nothing."""
from __future__ import annotations

import os
import socket
from typing import Mapping


class Notifier:
    def __init__(self, environ: Mapping[str, str] = os.environ):
        address = environ.get("NOTIFY_SOCKET", "")
        # An abstract socket is written with a leading "@".
        self.address = "\0" + address[1:] if address.startswith("@") else address
        self.watchdog = bool(environ.get("WATCHDOG_USEC"))

    def notify(self, state: str) -> None:
        if not self.address:
            return
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(state.encode(), self.address)
        except OSError:
            pass   # the service manager went away: nothing to tell

    def ready(self, status: str) -> None:
        self.notify(f"READY=1\nSTATUS={status}")

    def status(self, status: str) -> None:
        self.notify(f"STATUS={status}")

    def alive(self) -> None:
        if self.watchdog:
            self.notify("WATCHDOG=1")

    def stopping(self) -> None:
        self.notify("STOPPING=1")
