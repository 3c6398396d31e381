"""A loopback TCP proxy in front of a database server, for outage tests that must not stop the
server itself (other tests share it): `cut(seconds)` drops every connection at once and refuses
new ones (nothing listens: the client gets "connection refused") until the time is up.

The upstream is a TCP address or a Unix socket (the embedded server listens on one only)."""
from __future__ import annotations

import socket
import threading
import time
from typing import Callable, Union

Upstream = Union[tuple[str, int], str]   # (host, port) or the path of a Unix socket


class TcpProxy:
    def __init__(self, upstream: Upstream):
        self.upstream = upstream
        self.lock = threading.Lock()
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.listener: socket.socket | None = None
        self.port = 0
        self.closed = threading.Event()
        self.cuts = 0
        self._listen()
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.1)
        self.port = listener.getsockname()[1]
        self.listener = listener

    def _accept_loop(self) -> None:
        while not self.closed.is_set():
            with self.lock:
                listener = self.listener
            if listener is None:
                time.sleep(0.02)
                continue
            try:
                client, _ = listener.accept()
            except (socket.timeout, OSError):
                continue
            try:
                server = self._connect()
            except OSError:
                client.close()
                continue
            for s in (client, server):
                if s.family != socket.AF_UNIX:   # no Nagle delays on a round-trip protocol
                    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                if self.listener is None:   # cut while this one was being connected
                    client.close()
                    server.close()
                    continue
                self.pairs.append((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _connect(self) -> socket.socket:
        if isinstance(self.upstream, str):
            server = socket.socket(socket.AF_UNIX)
        else:
            server = socket.socket()
        server.connect(self.upstream)
        return server

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                target.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, target):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def drop_all(self) -> int:
        """Close every connection through the proxy, at once; returns how many."""
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for pair in pairs:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
        return len(pairs)

    def cut(self, seconds: float) -> None:
        """Drop every connection and refuse new ones for `seconds` (this call returns at once;
        the proxy listens again by itself)."""
        self.cuts += 1
        with self.lock:
            listener, self.listener = self.listener, None
        _stop_listening(listener)
        self.drop_all()

        def reopen():
            if not self.closed.wait(seconds):
                with self.lock:
                    self._listen()
        threading.Thread(target=reopen, daemon=True).start()

    def away(self) -> bool:
        """Whether a cut is still refusing connections."""
        with self.lock:
            return self.listener is None

    def close(self) -> None:
        self.closed.set()
        with self.lock:
            listener, self.listener = self.listener, None
        _stop_listening(listener)
        self.drop_all()

    def __enter__(self) -> "TcpProxy":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _stop_listening(listener: socket.socket | None) -> None:
    """Stop accepting at once: shutdown wakes a thread blocked in accept() (a bare close would
    leave the socket listening until that call returned)."""
    if listener is None:
        return
    try:
        listener.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    listener.close()


def proxied(url: str) -> tuple[Upstream, Callable[[int], str]]:
    """The server a PostgreSQL URL names (TCP, or the Unix socket of a `host=/folder` query),
    and a function giving the same URL through a proxy on a loopback port."""
    from sqlalchemy.engine import make_url
    parsed = make_url(url)
    socket_folder = parsed.query.get("host")
    if isinstance(socket_folder, str) and socket_folder.startswith("/"):
        upstream: Upstream = f"{socket_folder}/.s.PGSQL.{parsed.query.get('port', '5432')}"
    else:
        upstream = (parsed.host or "127.0.0.1", parsed.port or 5432)
    rest = {k: v for k, v in parsed.query.items() if k not in ("host", "port")}

    def through(port: int) -> str:
        return parsed.set(host="127.0.0.1", port=port, query=rest).render_as_string(
            hide_password=False)
    return upstream, through
