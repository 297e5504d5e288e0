"""Listeners the program must never reach: every connection they accept is counted, with the
first line of what was sent (the request line, for HTTP), so a probe can tell which of its URLs
got through. Each connection is closed at once, so a client that did connect fails fast."""

from __future__ import annotations

import selectors
import socket
import threading

ADDRESSES = ("127.0.0.1", "127.0.0.2", "::1")


class Tripwire:
    """One port on 127.0.0.1, 127.0.0.2 and ::1 (where the machine has IPv6 loopback)."""

    def __init__(self) -> None:
        self.sockets = _bind_all(ADDRESSES)
        self.port = self.sockets[0].getsockname()[1]
        self.hits: list[tuple[str, str]] = []  # (address connected to, first line received)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def addresses(self) -> list[str]:
        return [s.getsockname()[0] for s in self.sockets]

    def count(self, marker: str = "") -> int:
        """Connections so far, or those whose first line holds `marker` (a path unique to a URL)."""
        with self._lock:
            return sum(1 for _address, line in self.hits if marker in line)

    def _serve(self) -> None:
        selector = selectors.DefaultSelector()
        for listener in self.sockets:
            listener.setblocking(False)
            selector.register(listener, selectors.EVENT_READ)
        while not self._stop.is_set():
            for key, _ in selector.select(timeout=0.1):
                try:
                    connection, _peer = key.fileobj.accept()
                except OSError:
                    continue
                address = key.fileobj.getsockname()[0]
                with connection:  # counted before it closes: a client that saw it close finds it counted
                    line = _first_line(connection)
                    with self._lock:
                        self.hits.append((address, line))
        selector.close()

    def close(self) -> int:
        """Stop listening; returns the number of connections accepted."""
        self._stop.set()
        self._thread.join(5)
        for listener in self.sockets:
            listener.close()
        return self.count()


def _first_line(connection: socket.socket) -> str:
    connection.settimeout(0.5)
    try:
        data = connection.recv(2048)
    except OSError:
        data = b""
    return data.split(b"\r\n", 1)[0].decode("latin-1")


def _bind_all(addresses: tuple[str, ...]) -> list[socket.socket]:
    """The same free port on every address (retried: a port free on one may be taken on another)."""
    for _attempt in range(50):
        first = socket.create_server((addresses[0], 0))
        port = first.getsockname()[1]
        bound = [first]
        try:
            for address in addresses[1:]:
                family = socket.AF_INET6 if ":" in address else socket.AF_INET
                try:
                    bound.append(socket.create_server((address, port), family=family))
                except OSError as exc:
                    if family == socket.AF_INET6 and not socket.has_ipv6:
                        continue
                    if exc.errno in (97, 99):  # no IPv6 here / address not available: skip it
                        continue
                    raise
            return bound
        except OSError:
            for listener in bound:
                listener.close()
    raise RuntimeError("no port free on every tripwire address")
