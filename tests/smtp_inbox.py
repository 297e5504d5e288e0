"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for the digest tests."""

from __future__ import annotations

import socket


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's naming
        self.messages.append(envelope.content)
        return "250 OK"


def free_port() -> int:
    """A free loopback port (aiosmtpd's Controller cannot take port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
