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
text (HTML removed, also when double-escaped: FDA's food-safety feed writes "Hoque &amp;amp; Sons"),
the publication time in UTC or None when the feed gives no date that parses: a date is never
invented. Dates are read here, not by feedparser, in the shapes FDA's feeds use: Drupal's
`<pubDate><time datetime="...Z">Fri, 05/03/2019 - 15:21</time></pubDate>` (the attribute, else the
text as fda.gov's Eastern time) and RFC 822 with a zone name (EDT, EST and the other US zones; an
unknown or missing zone is None, where feedparser would say UTC). The feed's own URL is kept as
given. An entry without a usable link is skipped and counted.
"""

from __future__ import annotations

import calendar
import codecs
import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import urljoin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
# An HTML character reference with its semicolon. html.unescape alone would also read legacy
# names without one ("&notice" as "¬ice", "&copy 2024"), which plain text is full of.
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")

# RFC 822 dates as feeds write them: "Fri, 03 May 2024 16:56:00 EDT", "3 May 2024 16:56 -0400".
_RFC822 = re.compile(
    r"^(?:[A-Za-z]{3,9},?\s*)?(\d{1,2})\s+([A-Za-z]{3,9})\.?\s+(\d{4}|\d{2})\s+"
    r"(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([+-]\d{4}|[A-Za-z]{1,5}))?$"
)
# Drupal's text inside <time>: "Fri, 05/03/2019 - 15:21", fda.gov's local (Eastern) time.
_DRUPAL = re.compile(r"^(?:[A-Za-z]{3,9},\s*)?(\d{1,2})/(\d{1,2})/(\d{4})\s*-\s*(\d{1,2}):(\d{2})$")
_MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
)}  # fmt: skip
#: Hours from UTC of the zone names RFC 822 knows and of the other US zones. Military letters
#: other than Z, and names not here, are no zone: RFC 2822 says they carry no information.
ZONE_HOURS = {
    "UT": 0, "UTC": 0, "GMT": 0, "Z": 0,
    "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
    "AKST": -9, "AKDT": -8, "HST": -10, "HDT": -9, "AST": -4, "ADT": -3, "CHST": 10, "SST": -11,
}  # fmt: skip
#: Names of a US zone without saying standard or daylight time: the local clock of that zone.
ZONE_REGIONS = {
    "ET": "America/New_York", "CT": "America/Chicago", "MT": "America/Denver",
    "PT": "America/Los_Angeles",
}  # fmt: skip
FDA_ZONE = "America/New_York"


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
        published_at=_published(raw),
        guid=clean(guid, field="guid", max_chars=MAX_TITLE_CHARS) if guid else None,
    )


def _absolute(link: str, base: str) -> str:
    link = link.strip()
    return link if link.startswith(("https://", "http://")) else urljoin(base, link)


def _published(raw) -> datetime | None:
    """The entry's publication time: a Drupal `<time datetime>` first, then the text of the
    published date, then of the updated one. feedparser keeps an element it does not know under
    its name: `time` is the dict of its attributes, or its text when it has none (and then the
    published date it stood in reads "")."""
    get = dict.get
    stamp = get(raw, "time")
    if isinstance(stamp, dict):
        moment = _plausible(_iso(stamp.get("datetime")))
        if moment is not None:
            return moment
    candidates = (
        (get(raw, "published"), get(raw, "published_parsed")),
        (stamp if isinstance(stamp, str) else None, None),
        (get(raw, "updated"), get(raw, "updated_parsed")),
    )
    for text, parsed in candidates:
        moment = _plausible(_date_text(text, parsed)) if text else None
        if moment is not None:
            return moment
    return None


def _date_text(text: str, parsed) -> datetime | None:
    """Our reading of the shapes FDA writes; feedparser's (`parsed`) only for other shapes, as its
    RFC 822 reader takes an unknown zone name for UTC."""
    text = " ".join(str(text).split())
    if match := _RFC822.match(text):
        return _rfc822(match)
    if match := _DRUPAL.match(text):
        month, day, year, hour, minute = map(int, match.groups())
        return _local(FDA_ZONE, year, month, day, hour, minute, 0)
    return _iso(text) or _struct(parsed)


def _rfc822(match: re.Match) -> datetime | None:
    """An RFC 822 date in UTC; None without a zone we know (a guessed zone is a wrong time)."""
    day, month_name, year, hour, minute, second, zone = match.groups()
    month = _MONTHS.get(month_name[:3].lower())
    year_number = int(year) + (0 if len(year) == 4 else 2000 if int(year) < 50 else 1900)
    if month is None or zone is None:
        return None
    parts = (year_number, month, int(day), int(hour), int(minute), int(second or 0))
    if zone[0] in "+-":
        offset = (int(zone[1:3]) * 60 + int(zone[3:5])) * (-1 if zone[0] == "-" else 1)
        return _fixed(parts, offset)
    if zone.upper() in ZONE_HOURS:
        return _fixed(parts, ZONE_HOURS[zone.upper()] * 60)
    if zone.upper() in ZONE_REGIONS:
        return _local(ZONE_REGIONS[zone.upper()], *parts)
    return None


def _fixed(parts: tuple[int, ...], offset_minutes: int) -> datetime | None:
    try:
        return datetime(*parts, tzinfo=timezone(timedelta(minutes=offset_minutes))).astimezone(UTC)
    except (ValueError, OverflowError):  # 31 February, 25 o'clock, a day's offset, the year 1 in UTC
        return None


def _local(zone: str, *parts: int) -> datetime | None:
    """A wall-clock time of an IANA zone in UTC (None if the zone data is not installed)."""
    try:
        return datetime(*parts, tzinfo=ZoneInfo(zone)).astimezone(UTC)
    except (ValueError, OverflowError, ZoneInfoNotFoundError):
        return None


def _iso(text: object) -> datetime | None:
    """An ISO 8601 time with its offset ("2019-05-03T19:21:28Z") in UTC; None without one."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
        return moment.astimezone(UTC) if moment.tzinfo is not None else None
    except (ValueError, OverflowError):
        return None


def _struct(parsed) -> datetime | None:
    """feedparser's UTC struct_time as an aware datetime."""
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    except (OverflowError, ValueError, OSError, TypeError):
        return None


def _plausible(moment: datetime | None) -> datetime | None:
    """None for an absurd year: a feed's typo must not sort before or after every real notice."""
    return moment if moment is not None and 1990 <= moment.year <= 2100 else None


def _text(value: object, what: str, max_chars: int, *, skip_errors: bool = False) -> str | None:
    """Plain text of a feed field that may hold HTML, escaped once or twice. Text without markup
    is HTML too (RSS says so): its character references are read once, "Hoque &amp; Sons" being
    "Hoque & Sons"; the HTML parser reads them where there is markup."""
    if value is None:
        return None
    text = str(value)
    try:
        markup = False
        for _ in range(3):  # HTML, or HTML escaped once more than the feed format asks for
            if _HTMLISH.search(text):
                text, markup = _html_text(text), True
            elif _ESCAPED_HTMLISH.search(text):
                text = _unescape(text)
            else:
                break
        if not markup:
            text = _unescape(text)
        return clean(text, field=what, max_chars=max_chars)
    except ValueError:
        if skip_errors:
            return None
        raise


def _unescape(text: str) -> str:
    return _ENTITY.sub(lambda match: html.unescape(match.group()), text) if "&" in text else text


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
