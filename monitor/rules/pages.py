"""Read one page for the flagger: HTML (its visible text, as the clinic crawl extracts it) or text.

`exowatch check-page` takes a file, `-` (standard input) or an http(s) URL; a URL is fetched once,
under the crawl's rules (crawler.fetch). Every failure is an InputError naming what was wrong.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from crawler.errors import SourceFailure
from crawler.extract.clinic_page import parse_clinic_page
from crawler.fetch import FetchError, fetch
from crawler.urlgate import UrlGate
from monitor.errors import InputError

MAX_BYTES = 5 * 1024 * 1024
DEADLINE_SECONDS = 30  # for the whole fetch of a URL, redirects included


@dataclass(frozen=True)
class PageText:
    text: str
    title: str | None
    url: str | None


def looks_like_html(data: bytes) -> bool:
    head = data[:2048].lstrip().lower()
    return head.startswith(
        (b"<!doctype html", b"<html", b"<head", b"<body", b"<div", b"<p", b"<meta", b"<title")
    )


def page_from_bytes(data: bytes, *, url: str | None = None, what: str = "page") -> PageText:
    if looks_like_html(data):
        try:
            page = parse_clinic_page(data, url or "http://page.invalid/", encoding="utf-8")
        except SourceFailure as exc:
            raise InputError(f"{what}: {exc}") from None
        return PageText(page.text, page.title, url)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{what}: not UTF-8 text and not HTML") from None
    return PageText(text, None, url)


def read_page(
    source: str,
    *,
    user_agent: str,
    allow_hosts: tuple[str, ...] = (),
    proxy: str | None = None,
    deadline_seconds: float = DEADLINE_SECONDS,
) -> PageText:
    """A file path, '-' for standard input, or an http(s) URL. A URL is fetched as a crawl would
    fetch it (crawler.fetch): the URL gate with `allow_hosts` on every hop, the proxy, the size
    limit, and one deadline for the whole fetch."""
    if source == "-":
        data = sys.stdin.buffer.read(MAX_BYTES + 1)
        what, source_url = "standard input", None
    elif source.lower().startswith(("http://", "https://")):
        try:
            gate = UrlGate(frozenset(allow_hosts))
            fetched = fetch(
                source,
                gate=gate,
                user_agent=user_agent,
                proxy=proxy or None,
                max_bytes=MAX_BYTES,
                deadline_seconds=deadline_seconds,
            )
        except (FetchError, ValueError) as exc:
            raise InputError(str(exc)) from None
        if fetched.status >= 400:
            raise InputError(f"{fetched.url}: HTTP {fetched.status}")
        data, what, source_url = fetched.body, source, fetched.url
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError(f"{source}: no such file")
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
        what, source_url = source, None
    if len(data) > MAX_BYTES:
        raise InputError(f"{what}: larger than {MAX_BYTES} bytes")
    if not data.strip():
        raise InputError(f"{what}: empty")
    return page_from_bytes(data, url=source_url, what=what)
