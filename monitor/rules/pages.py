"""Read one page for the flagger: HTML (its visible text, as the clinic crawl extracts it) or text.

`exowatch check-page` takes a file, `-` (standard input) or an http(s) URL; a URL is fetched once,
through the URL gate, with a size limit and a timeout. Every failure is an InputError naming what
was wrong.
"""

from __future__ import annotations

import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from crawler.errors import SourceFailure
from crawler.extract.clinic_page import parse_clinic_page
from crawler.urlgate import UrlGate
from monitor.errors import InputError

MAX_BYTES = 5 * 1024 * 1024
TIMEOUT_SECONDS = 20


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


def read_page(source: str, *, user_agent: str) -> PageText:
    """A file path, '-' for standard input, or an http(s) URL."""
    if source == "-":
        data = sys.stdin.buffer.read(MAX_BYTES + 1)
        what = "standard input"
    elif source.lower().startswith(("http://", "https://")):
        verdict = UrlGate().check(source)
        if not verdict.allowed:
            raise InputError(f"{source}: refused by the URL gate ({verdict.reason})")
        request = urllib.request.Request(source, headers={"User-Agent": user_agent})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - gated above
                data = response.read(MAX_BYTES + 1)
        except OSError as exc:
            raise InputError(f"{source}: could not fetch it ({exc})") from None
        what = source
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError(f"{source}: no such file")
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
        what = source
    if len(data) > MAX_BYTES:
        raise InputError(f"{what}: larger than {MAX_BYTES} bytes")
    if not data.strip():
        raise InputError(f"{what}: empty")
    return page_from_bytes(data, url=source if source.startswith("http") else None, what=what)
