"""Read one RSS/Atom feed: a pure function of its bytes and URL, safe against hostile documents.

Before feedparser sees a byte, the document is screened:

* size: over MAX_FEED_BYTES is refused;
* shape: an HTML page (an error page, an Akamai block page), JSON or an empty body where a feed was
  expected is refused with what it was;
* DTDs: a document type declaration with an internal subset is refused: that is where entity
  expansion bombs (billion laughs, quadratic blowup) and external or parameter entities live, and
  no real feed needs one. A bare `<!DOCTYPE rss SYSTEM "...">` (RSS 0.91 style) is removed unread;
* UTF-16/32 (with a byte-order mark) is re-encoded as UTF-8 first, so that the screen reads it.

feedparser then parses the bytes (never a str: it would take a str for a path or a URL). Malformed
XML is refused rather than read by feedparser's lenient fallback, which guesses; a wrong or missing
encoding declaration is accepted when feedparser could decode the bytes another way, and noted.

Entries come out as FeedEntry: canonical link (crawler.normalize.urls), title and summary as plain
text (HTML removed, also when double-escaped), the publication time in UTC or None when the feed
gives no date that parses: a date is never invented. An entry without a usable link is skipped and
counted.
"""

from __future__ import annotations

import calendar
import codecs
import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin

import feedparser
from lxml import etree

from crawler.errors import SourceFailure
from crawler.extract.html import blocks
from crawler.normalize.text import clean
from crawler.normalize.urls import canonical_url

MAX_FEED_BYTES = 8 * 1024 * 1024
MAX_ENTRIES = 2000
MAX_TITLE_CHARS = 2000
MAX_SUMMARY_CHARS = 50_000


class FeedError(SourceFailure):
    """This feed could not be read; the reason says why. Other feeds are not affected."""


@dataclass(frozen=True)
class FeedEntry:
    link: str  # canonical
    title: str | None
    summary: str | None
    published_at: datetime | None  # UTC; None when the feed gives no parseable date
    guid: str | None


@dataclass(frozen=True)
class Feed:
    url: str
    title: str | None
    entries: tuple[FeedEntry, ...]
    notes: tuple[str, ...] = field(default=())  # what was tolerated (e.g. a wrong encoding)
    skipped: tuple[str, ...] = field(default=())  # entries left out, each with its reason


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_DOCTYPE_EXTERNAL = re.compile(
    rb"<!DOCTYPE\s+[^\s\[>]+(?:\s+(?:SYSTEM\s+(?:\"[^\"]*\"|'[^']*')|"
    rb"PUBLIC\s+(?:\"[^\"]*\"|'[^']*')\s+(?:\"[^\"]*\"|'[^']*')))?\s*>",
    re.I,
)
_XML_ENCODING = re.compile(rb"\A(<\?xml[^>]*?encoding\s*=\s*)([\"'])[^\"']*\2", re.I)
_FIRST_TAG = re.compile(rb"<\s*([A-Za-z][\w:.-]*)")
# Any start or end tag (a letter right after "<", so "a < b" and "<5 mg" stay text); escaped
# once more than the feed format asks for, it reads "&lt;p&gt;".
_HTMLISH = re.compile(r"<\s*/?\s*[A-Za-z][\w:-]*(?:\s[^<>]*)?/?\s*>")
_ESCAPED_HTMLISH = re.compile(r"&lt;\s*/?\s*[A-Za-z][\w:-]*(?:\s[^<>&]*)?/?\s*&gt;")
_HTML_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)
_FEED_ROOTS = {"rss", "feed", "rdf:rdf", "rdf", "channel"}
_TOLERATED = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


def parse_feed(data: bytes, url: str) -> Feed:
    """The feed's entries; FeedError names what is wrong with a feed that cannot be read."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"feed must be bytes, not {type(data).__name__}")
    data = bytes(data)
    if len(data) > MAX_FEED_BYTES:
        raise FeedError(f"feed is {len(data)} bytes, over the {MAX_FEED_BYTES}-byte limit")
    data = _as_utf8(data)
    if not data.strip():
        raise FeedError("feed is empty")
    data = _screen_doctype(data)
    _refuse_non_feed(data)
    if b"<!doctype" in data[: _prolog_end(data)].lower():  # a DOCTYPE the screen could not read
        raise FeedError("feed has a document type declaration that cannot be screened")
    parsed = feedparser.parse(
        data,
        response_headers={"content-location": url, "content-type": "application/xml"},
        sanitize_html=False,  # the summary is read as text below, never shown as HTML
        resolve_relative_uris=False,
    )
    notes: list[str] = []
    if parsed.get("bozo"):
        problem = parsed.get("bozo_exception")
        if not isinstance(problem, _TOLERATED):
            raise FeedError(f"feed is not well-formed XML: {_describe(problem)}")
        notes.append(_describe(problem))
    if not parsed.get("version"):
        raise FeedError("not an RSS or Atom feed")
    entries: list[FeedEntry] = []
    skipped: list[str] = []
    for number, raw in enumerate(parsed.entries, 1):
        if len(entries) >= MAX_ENTRIES:
            skipped.append(f"entries after the first {MAX_ENTRIES} left out")
            break
        try:
            entries.append(_entry(raw, url))
        except ValueError as exc:
            skipped.append(f"entry {number}: {exc}")
    feed_title = _text(parsed.feed.get("title"), "feed title", MAX_TITLE_CHARS, skip_errors=True)
    return Feed(url=url, title=feed_title, entries=tuple(entries), notes=tuple(notes), skipped=tuple(skipped))


def _entry(raw, base: str) -> FeedEntry:
    # dict.get on the keys feedparser stores, not FeedParserDict.get: that one maps aliases on
    # every call (a tenth of the parse), and its fallback between the two date keys is deprecated
    get = dict.get
    guid = get(raw, "id")
    link = get(raw, "link") or (guid if get(raw, "guidislink") else None)
    if not link:
        raise ValueError("no link")
    return FeedEntry(
        link=canonical_url(_absolute(link, base)),
        title=_text(get(raw, "title"), "title", MAX_TITLE_CHARS),
        summary=_text(get(raw, "summary"), "summary", MAX_SUMMARY_CHARS),
        published_at=_when(get(raw, "published_parsed") or get(raw, "updated_parsed")),
        guid=clean(guid, field="guid", max_chars=MAX_TITLE_CHARS) if guid else None,
    )


def _absolute(link: str, base: str) -> str:
    link = link.strip()
    return link if link.startswith(("https://", "http://")) else urljoin(base, link)


def _when(parsed) -> datetime | None:
    """feedparser's UTC struct_time as an aware datetime; None for none or an absurd year."""
    if not parsed:
        return None
    try:
        moment = datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    except (OverflowError, ValueError, OSError, TypeError):
        return None
    return moment if 1990 <= moment.year <= 2100 else None


def _text(value: object, what: str, max_chars: int, *, skip_errors: bool = False) -> str | None:
    """Plain text of a feed field that may hold HTML, escaped once or twice."""
    if value is None:
        return None
    text = str(value)
    try:
        for _ in range(3):  # HTML, or HTML escaped once more than the feed format asks for
            if _HTMLISH.search(text):
                text = _html_text(text)
            elif _ESCAPED_HTMLISH.search(text):
                text = html.unescape(text)
            else:
                break
        return clean(text, field=what, max_chars=max_chars)
    except ValueError:
        if skip_errors:
            return None
        raise


def _html_text(fragment: str) -> str:
    parser = etree.HTMLParser(remove_comments=True, remove_pis=True, no_network=True, collect_ids=False)
    root = etree.fromstring(f"<html><body><div>{fragment}</div></body></html>", parser=parser)
    if root is None:
        return fragment
    return "\n".join(blocks(root))


def _as_utf8(data: bytes) -> bytes:
    """UTF-16/32 documents (with their byte-order mark) as UTF-8, their declaration to match."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom) :].decode(codec)
            except UnicodeDecodeError as exc:
                raise FeedError(f"feed is not valid {codec.upper()}: {exc.reason}") from None
            out = text.encode("utf-8", errors="replace")
            return _XML_ENCODING.sub(rb"\1\2utf-8\2", out, count=1)
    if b"\x00" in data[:64]:
        raise FeedError("feed holds NUL bytes (UTF-16 or UTF-32 without a byte-order mark, or binary)")
    return data.removeprefix(codecs.BOM_UTF8)


def _screen_doctype(data: bytes) -> bytes:
    start = _prolog_doctype(data)
    if start is None:
        return data
    external = _DOCTYPE_EXTERNAL.match(data, start)
    if external is None:  # an internal subset: entity declarations, parameter entities
        raise FeedError("feed declares a DTD with an internal subset (entities are refused)")
    return data[:start] + data[external.end() :]


def _refuse_non_feed(data: bytes) -> None:
    head = data[:4096].lstrip()
    if head[:1] in (b"{", b"["):
        raise FeedError("not a feed: a JSON document")
    first = _first_element(data)
    if first in _FEED_ROOTS:
        return
    if first == "html" or b"<html" in head.lower():
        title = _HTML_TITLE.search(data[:65536])
        shown = (
            clean(title.group(1).decode("utf-8", "replace"), field="title", max_chars=10**6)
            if title
            else None
        )
        if shown and re.match(r"(?i)access denied|.*\bapology\b|forbidden|too many requests", shown):
            raise FeedError(f"block page instead of a feed: {shown[:80]!r}")
        raise FeedError(f"not a feed: an HTML page{f' ({shown[:80]!r})' if shown else ''}")
    if first is None:
        raise FeedError("not a feed: no XML element")
    raise FeedError(f"not an RSS or Atom feed: the document is <{first[:40]}>")


def _first_element(data: bytes) -> str | None:
    """The name of the first element, after the prolog's declaration, comments and PIs."""
    position = _prolog_end(data)
    match = _FIRST_TAG.match(data, position) if position < len(data) else None
    return match.group(1).decode("ascii", "replace").lower() if match else None


def _prolog_doctype(data: bytes) -> int | None:
    """Where a document type declaration starts in the prolog, if one does. A linear scan: a
    regex with a lazy comment inside a repeated group backtracks exponentially on many comments."""
    position = 0
    while True:
        position = data.find(b"<", position)
        if position == -1 or data[position + 1 : position + 2] not in (b"!", b"?"):
            return None
        if data[position : position + 9].upper() == b"<!DOCTYPE":
            return position
        if data.startswith(b"<!--", position):
            end, skip = data.find(b"-->", position + 4), 3
        elif data.startswith(b"<?", position):
            end, skip = data.find(b"?>", position + 2), 2
        else:
            end, skip = data.find(b">", position + 2), 1
        if end == -1:
            return None
        position = end + skip


def _prolog_end(data: bytes) -> int:
    """Where the first element starts (len(data) when none does): a linear scan past the XML
    declaration, comments, processing instructions and declarations."""
    position = 0
    while True:
        position = data.find(b"<", position)
        if position == -1:
            return len(data)
        if data.startswith(b"<!--", position):
            end, skip = data.find(b"-->", position + 4), 3
        elif data.startswith(b"<?", position):
            end, skip = data.find(b"?>", position + 2), 2
        elif data.startswith(b"<!", position):
            end, skip = data.find(b">", position + 2), 1
        else:
            return position
        if end == -1:
            return len(data)
        position = end + skip


def _describe(problem: object) -> str:
    if problem is None:
        return "unknown problem"
    text = str(problem).strip().splitlines()[0] if str(problem).strip() else type(problem).__name__
    return f"{type(problem).__name__}: {text[:200]}"
