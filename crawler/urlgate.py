"""The URL gate: which URLs a crawl may fetch. A pure policy, no Scrapy.

Only http and https are fetched, and only from public addresses. The host of a URL must resolve, and
every address it resolves to must be public: loopback, private (RFC 1918, fc00::/7), link-local,
CGNAT (100.64.0.0/10), multicast, reserved, unspecified and other non-global addresses are refused,
also when they hide inside an IPv6 address (IPv4-mapped ``::ffff:a.b.c.d``, 6to4, NAT64
``64:ff9b::/96``). Cloud metadata endpoints (169.254.169.254, fd00:ec2::254, 100.100.100.200 and
their well-known names) are refused always, even when allow-listed.

An IP literal in the URL is checked without DNS, including the legacy IPv4 spellings that
``inet_aton`` and browsers accept (``127.1``, ``0x7f.0.0.1``, ``2130706433``).

Allow-listed hosts bypass the address check: an entry is a host name or IP (any port),
``host:port`` (that port only; ``[v6]:port`` for IPv6), or ``*.name`` (every host under ``name``,
e.g. ``*.example`` for a replayed web of reserved names), compared case-insensitively, a trailing
dot ignored. Tests and the demo allow-list their loopback replay server this way.

``UrlGate.check`` may block on DNS; ``UrlGate.precheck`` never does and answers ``None`` when only
DNS can decide, so a caller in an event loop can run ``check`` in a thread just for those.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

__all__ = ["Resolver", "UrlGate", "Verdict", "classify_address", "resolve_host"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], Iterable[str]]
"""Resolves a host name to the textual IP addresses it stands for (may raise OSError)."""

ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, Oracle, DigitalOcean
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "100.100.100.200",  # Alibaba Cloud
    )
)
METADATA_NAMES = frozenset(
    {
        "metadata.google.internal",
        "metadata.goog",
        "metadata",
        "instance-data",
        "instance-data.ec2.internal",
    }
)

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_PRIVATE = (
    ipaddress.IPv4Network("10.0.0.0/8"),
    ipaddress.IPv4Network("172.16.0.0/12"),
    ipaddress.IPv4Network("192.168.0.0/16"),
    ipaddress.IPv6Network("fc00::/7"),
)
# The numeric host spellings inet_aton accepts: up to four dot-separated decimal, octal or hex parts.
_LEGACY_IPV4 = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}")


@dataclass(frozen=True, slots=True)
class Verdict:
    """The gate's answer for one URL. `kind` names the rule (a stats key): empty when allowed."""

    allowed: bool
    reason: str
    kind: str = ""


def _refuse(kind: str, reason: str) -> Verdict:
    return Verdict(False, reason, kind)


def resolve_host(host: str) -> list[str]:
    """All addresses `host` resolves to, via the system resolver (blocking)."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def classify_address(address: IPAddress) -> tuple[str, str] | None:
    """(kind, description) of a non-public address, or None for a public one."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            inner = classify_address(embedded)
            if inner is not None:
                return inner[0], f"{inner[1]} (embedded {embedded})"
    if address in METADATA_ADDRESSES:
        return "metadata", "cloud metadata"
    if address.is_unspecified:
        return "unspecified", "unspecified"
    if address.is_loopback:
        return "loopback", "loopback"
    if address.is_link_local:
        return "link_local", "link-local"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "cgnat", "CGNAT (100.64.0.0/10)"
    if address.is_multicast:
        return "multicast", "multicast"
    if any(address in network for network in _PRIVATE):
        return "private", "private"
    if address.is_reserved:
        return "reserved", "reserved"
    if not address.is_global:
        return "non_public", "not a public address"
    return None


def _ip_literal(host: str) -> IPAddress | None:
    """The address a URL host names literally, or None for a host name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _LEGACY_IPV4.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _normalize_host(host: str) -> str:
    return host.strip().lower().rstrip(".")


def _url_host(hostname: str | None) -> str:
    """The host of a URL as the gate reads it: percent-decoded (an IPv6 zone is ``%25eth0``)."""
    return _normalize_host(unquote(hostname or ""))


# a host name (letters, digits, hyphens, dots, any script: a crawl may read an IDN host) or an
# IPv4 or IPv6 address (hex digits, colons, dots, and a zone after %)
_HOST_OR_ADDRESS = re.compile(r"[\w.-]+|[0-9a-f:.]+(?:%[\w.-]+)?")


def _parse_allow_entry(entry: str) -> tuple[str, int | None]:
    """'host', 'host:port', 'v6', '[v6]' or '[v6]:port' -> (host, port or None)."""
    text = entry.strip().lower()
    if not text:
        raise ValueError("empty allow_hosts entry")
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"bad allow_hosts entry {entry!r}")
        port_text = rest[1:] if rest else None
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host, port_text = text, None
    port = None
    if port_text is not None:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"bad port in allow_hosts entry {entry!r}")
        port = int(port_text)
    host = _normalize_host(host)
    if not host:
        raise ValueError(f"bad allow_hosts entry {entry!r}")
    if "/" in host or "*" in host or not _HOST_OR_ADDRESS.fullmatch(host):
        # "*" or "0.0.0.0/0" would allow nothing (the gate compares hosts, not patterns or
        # networks): refused, so that no one believes the gate is open when it is not
        raise ValueError(
            f"bad allow_hosts entry {entry!r}: name one host or address (or *.name for a domain's"
            " hosts); patterns and networks are not allowed"
        )
    return host, port


class UrlGate:
    """The policy: `check(url)` says whether a crawl may fetch `url`, and why not."""

    def __init__(self, allow_hosts: Iterable[str] = frozenset(), resolver: Resolver = resolve_host):
        self._any_port: set[str] = set()
        self._host_ports: set[tuple[str, int]] = set()
        self._suffixes: set[str] = set()  # "*.example": every host under it, any port
        for entry in allow_hosts:
            if entry.strip().startswith("*."):
                suffix = _normalize_host(entry.strip()[1:])
                if not re.fullmatch(r"(?:\.[a-z0-9-]+)+", suffix):
                    raise ValueError(f"bad allow_hosts wildcard {entry!r} (write *.name, e.g. *.example)")
                self._suffixes.add(suffix)
                continue
            host, port = _parse_allow_entry(entry)
            if port is None:
                self._any_port.add(host)
            else:
                self._host_ports.add((host, port))
        self._resolver = resolver

    def is_allow_listed(self, host: str, port: int | None = None) -> bool:
        """Whether `host` is allow-listed: on `port`, or on any port when `port` is None."""
        host = _normalize_host(host)
        if host in self._any_port:
            return True
        if self._suffixes and any(host.endswith(suffix) for suffix in self._suffixes):
            return True
        if port is None:
            return any(h == host for h, _ in self._host_ports)
        return (host, port) in self._host_ports

    def precheck(self, url: str) -> Verdict | None:
        """The verdict when it needs no DNS; None when the host name must be resolved first."""
        try:
            parts = urlsplit(url)
            scheme = parts.scheme.lower()
            if scheme not in ALLOWED_SCHEMES:
                return _refuse("scheme", f"scheme {scheme!r} not allowed" if scheme else "no scheme")
            host = _url_host(parts.hostname)
            port = parts.port or DEFAULT_PORTS[scheme]
        except ValueError as exc:
            return _refuse("invalid", f"invalid URL: {exc}")
        if not host:
            return _refuse("invalid", "no host in URL")
        if host in METADATA_NAMES:
            return _refuse("metadata", f"{host} is cloud metadata")
        literal = _ip_literal(host)
        if literal is not None and literal in METADATA_ADDRESSES:
            return _refuse("metadata", f"{literal} is cloud metadata")
        if self.is_allow_listed(host, port):
            return Verdict(True, f"{host}:{port} is allow-listed")
        if literal is not None:
            found = classify_address(literal)
            if found is not None:
                return _refuse(found[0], f"{literal} is {found[1]}")
            return Verdict(True, f"{literal} is public")
        return None

    def check(self, url: str) -> Verdict:
        """The verdict for `url`; resolves its host name with the resolver (may block)."""
        verdict = self.precheck(url)
        if verdict is not None:
            return verdict
        host = _url_host(urlsplit(url).hostname)
        try:
            addresses = list(self._resolver(host))
        except (OSError, UnicodeError, ValueError):
            addresses = []
        if not addresses:
            return _refuse("unresolvable", f"cannot resolve host {host}")
        return self.check_addresses(host, addresses)

    def check_addresses(self, host: str, addresses: Iterable[str]) -> Verdict:
        """The verdict for `host` resolved to `addresses`: every one of them must be public.

        An allow-listed host (on any port) passes. This is the check a DNS resolver applies to the
        address a download actually connects to.
        """
        host = _normalize_host(host)
        if host in METADATA_NAMES:
            return _refuse("metadata", f"{host} is cloud metadata")
        literal = _ip_literal(host)
        if literal is not None and literal in METADATA_ADDRESSES:
            return _refuse("metadata", f"{literal} is cloud metadata")
        if self.is_allow_listed(host):
            return Verdict(True, f"{host} is allow-listed")
        checked = []
        for text in addresses:
            try:
                address = ipaddress.ip_address(text)
            except ValueError:
                return _refuse("invalid", f"{host} resolves to unparseable address {text!r}")
            found = classify_address(address)
            if found is not None:
                if literal is not None and address == literal:
                    return _refuse(found[0], f"{address} is {found[1]}")
                return _refuse(found[0], f"{host} resolves to {address}, which is {found[1]}")
            checked.append(address)
        if not checked:
            return _refuse("unresolvable", f"cannot resolve host {host}")
        return Verdict(True, f"{host} resolves to public addresses only")
