"""One URL fetched outside a crawl (`exowatch check-page URL`), under the crawl's own rules.

A crawl's requests go through Scrapy and its middlewares: the URL gate on every hop, the size
limit, the proxy. A single page read for the command line does not need an engine, but it needs
the same rules, or it becomes the way around them:

* every hop (the URL and each redirect's target) is judged by the same UrlGate, with the same
  `[crawl] allow_hosts`; a host name is resolved once, and the connection goes to an address that
  was checked (no second lookup a rebinding DNS server could answer differently);
* through `[crawl] proxy` when one is set (the proxy's own address judged by the gate), as crawls;
* one deadline for the whole fetch, redirects included: a watchdog closes the connection when it
  passes, so a server dripping a byte at a time cannot hold it (a per-read timeout would not);
* at most `max_bytes` of body, and no compressed transfer (nothing to inflate).

Every failure is a FetchError whose message says what happened, in one line.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from crawler.urlgate import DEFAULT_PORTS, UrlGate, resolve_host

MAX_REDIRECTS = 5  # as RFC 9309 asks for robots.txt, and as the crawl's settings
REDIRECTS = (301, 302, 303, 307, 308)
CHUNK = 64 * 1024


class FetchError(Exception):
    """The page could not be had; the message says why."""


class _Late(Exception):
    """The fetch's deadline passed (the caller names it)."""


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    status: int
    content_type: str
    body: bytes


def fetch(
    url: str,
    *,
    gate: UrlGate,
    user_agent: str,
    proxy: str | None = None,
    max_bytes: int,
    deadline_seconds: float,
    resolver=resolve_host,
) -> Fetched:
    """GET `url`, following up to MAX_REDIRECTS redirects, each hop through the gate."""
    deadline = time.monotonic() + deadline_seconds
    hops = [url]
    for _ in range(MAX_REDIRECTS + 1):
        target = hops[-1]
        try:
            status, headers, body = _get(target, gate, user_agent, proxy, max_bytes, deadline, resolver)
        except _Late:
            raise FetchError(f"{target}: no complete answer within {deadline_seconds:g} s") from None
        location = headers.get("location")
        if status in REDIRECTS and location:
            hops.append(urljoin(target, location.strip()))
            continue
        return Fetched(target, status, headers.get("content-type", ""), body)
    raise FetchError(f"more than {MAX_REDIRECTS} redirects ({' -> '.join(hops[:3])} ...)")


def _address(url: str, gate: UrlGate, resolver, *, connect: bool = True) -> str:
    """The address to connect to for `url`'s host, judged by the gate (or a FetchError);
    `connect=False`: judged only (a proxy connects), so an allow-listed name needs no lookup."""
    verdict = gate.precheck(url)
    host = urlsplit(url).hostname or ""
    if verdict is not None and not verdict.allowed:
        raise FetchError(f"{url}: refused by the URL gate ({verdict.reason})")
    if verdict is not None and not connect:
        return ""
    try:
        addresses = [host] if _is_literal(host) else list(resolver(host))
    except (OSError, UnicodeError, ValueError) as exc:
        raise FetchError(f"{url}: cannot resolve {host} ({exc})") from None
    if not addresses:
        raise FetchError(f"{url}: cannot resolve {host}")
    if verdict is None:  # a host name the gate must judge by what it resolves to
        verdict = gate.check_addresses(host, addresses)
        if not verdict.allowed:
            raise FetchError(f"{url}: refused by the URL gate ({verdict.reason})")
    return addresses[0]


def _is_literal(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
    except OSError:
        return False
    return True


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to `address`, whatever its host name says (the Host header keeps it)."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to `address`, checking the certificate against the URL's host name (SNI as well)."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address = address

    def connect(self) -> None:
        raw = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


def _connection(url: str, gate: UrlGate, proxy: str | None, resolver, timeout: float):
    """(connection, request target) for `url`: straight to its checked address, or by the proxy."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), parts.hostname or ""
    port = parts.port or DEFAULT_PORTS.get(scheme, 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if proxy:  # the target is judged as a crawl judges it; the connection goes to the proxy
        _address(url, gate, resolver, connect=False)
        via = urlsplit(proxy)
        address = _address(proxy, gate, resolver)
        proxy_port = via.port or 80
        if scheme == "https":  # a CONNECT tunnel through the proxy; TLS with the target's name
            connection = http.client.HTTPSConnection(
                address, proxy_port, timeout=timeout, context=ssl.create_default_context()
            )
            connection.set_tunnel(host, port)
            return connection, path
        return http.client.HTTPConnection(address, proxy_port, timeout=timeout), url
    address = _address(url, gate, resolver)
    kind = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    return kind(host, port, address, timeout), path


def _get(url, gate, user_agent, proxy, max_bytes, deadline, resolver):
    """One hop: (status, lower-cased headers, body). The gate judges the URL (and the proxy)
    before anything connects (_connection)."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _Late
    connection, target = _connection(url, gate, proxy, resolver, remaining)
    expired = threading.Event()

    def cut() -> None:  # the deadline passed: close the socket under a blocked read
        expired.set()
        sock = connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(remaining, cut)
    watchdog.daemon = True
    watchdog.start()
    try:
        host = urlsplit(url).netloc.rpartition("@")[2]
        connection.request(
            "GET",
            target,
            headers={"Host": host, "User-Agent": user_agent, "Accept-Encoding": "identity", "Accept": "*/*"},
        )
        response = connection.getresponse()
        headers = {name.lower(): value for name, value in response.getheaders()}
        body = bytearray()
        if response.status not in REDIRECTS:
            while chunk := response.read1(CHUNK):
                body += chunk
                if len(body) > max_bytes:
                    raise FetchError(f"{url}: larger than {max_bytes} bytes")
        return response.status, headers, bytes(body)
    except FetchError:
        raise
    except (OSError, http.client.HTTPException) as exc:
        if expired.is_set():
            raise _Late from None
        raise FetchError(f"{url}: could not fetch it ({type(exc).__name__}: {exc})") from None
    finally:
        watchdog.cancel()
        connection.close()
