"""Extract one FDA safety alert page (MedWatch, CBER safety and consumer pages, recall notices).

A pure function of the page's bytes and its canonical URL. The structures are those described in
../shared/data/fda/README.md: the LCDS Drupal page of fda.gov, the title in `h1.content-title`, the
text in `div[role=main]`. Read from the text:

* the posted date: MedWatch's `[Posted MM/DD/YYYY]`, or CBER's date line in either form
  ("December 6, 2019" or "Date: July 22, 2020"), among the first paragraphs;
* MedWatch's labelled sections AUDIENCE, ISSUE, BACKGROUND and RECOMMENDATION, wherever present,
  with the label in bold or not, upper or title case, its text on the same line or in the next
  paragraphs; a section runs to the next label, a "[date - kind - FDA]" line or MedWatch's closing
  "... are encouraged to report ..." paragraph;
* the body text, and a hash of title and body (what "the text changed" means for a notice).

`alert_links` lists the alert pages an index page links to. Failures are SourceFailure, as for
letter pages: a block page, a truncated page, a page without content.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from urllib.parse import urljoin, urlsplit

from lxml import etree

from crawler.errors import SourceFailure
from crawler.extract.html import (
    TITLE_SUFFIX,
    blocks,
    ends_complete,
    parse_page,
    refuse_block_page,
    title_text,
)
from crawler.normalize.dates import date_line
from crawler.normalize.text import clean
from crawler.normalize.urls import canonical_url

MAX_BODY_CHARS = 500_000
MAX_LINKS = 2000
#: How many of the body's first paragraphs may hold the posted date.
DATE_PARAGRAPHS = 6
SECTIONS = ("audience", "issue", "background", "recommendation")

_PARAGRAPH_MARK = "\ue000"  # a private-use character: not whitespace, kept by clean()
_X_H1 = etree.XPath("//h1[contains(concat(' ', normalize-space(@class), ' '), ' content-title ')]")
_X_ANY_H1 = etree.XPath("//h1")
_X_BODY = etree.XPath("//div[@role='main']")
_X_FALLBACK_BODY = etree.XPath("//main | //article")
_X_FOLLOWING = etree.XPath("boolean(following::*)")
_X_CONTENT_LINKS = etree.XPath(
    "//a[@href][not(ancestor::nav) and not(ancestor::header[@role='banner']) and not(ancestor::footer)]"
)

_LABEL = re.compile(r"^(audience|issue|background|recommendations?)\s*:\s*(.*)$", re.I | re.S)
_SECTION_END = re.compile(
    r"^(?:\[|(?:health\s*care|healthcare)\s+professionals\s+and\s+patients\s+are\s+encouraged\s+to\s+report)",
    re.I,
)


@dataclass(frozen=True)
class AlertPage:
    url: str
    title: str | None
    posted_date: date | None
    audience: str | None
    issue: str | None
    background: str | None
    recommendation: str | None
    body_text: str
    content_hash: str


def parse_alert_page(html: bytes, url: str) -> AlertPage:
    """Parse a fetched alert page; SourceFailure when it is not a healthy content page."""
    root, data = parse_page(html, "alert page")
    refuse_block_page(root, "an alert page")
    bodies = _X_BODY(root) or _X_FALLBACK_BODY(root)
    body = bodies[0] if bodies else None
    if not ends_complete(data) and (body is None or not _X_FOLLOWING(body)):
        raise SourceFailure("alert page is truncated: it ends without </html>, before the end of its text")
    if body is None:
        raise SourceFailure("not an alert page: no content (div[role=main])")
    paragraphs = _paragraphs(body)
    if not paragraphs:
        raise SourceFailure("alert page content (div[role=main]) is empty")
    title = _title(root)
    body_text = "\n\n".join(paragraphs)
    sections = _sections(paragraphs)
    return AlertPage(
        url=canonical_url(url),
        title=title,
        posted_date=next(filter(None, map(date_line, paragraphs[:DATE_PARAGRAPHS])), None),
        body_text=body_text,
        content_hash=hashlib.sha256(f"{title or ''}\n\n{body_text}".encode()).hexdigest(),
        **sections,
    )


def alert_links(html: bytes, page_url: str, path_prefixes: tuple[str, ...]) -> list[tuple[str, str | None]]:
    """(canonical URL, link text) of the pages under `path_prefixes` that an index page links to,
    on the index page's own host, outside navigation, header and footer; each once, in page order."""
    root, _ = parse_page(html, "index page")
    refuse_block_page(root, "an index page")
    here = canonical_url(page_url)
    host = urlsplit(here).hostname
    found: dict[str, str | None] = {}
    for link in _X_CONTENT_LINKS(root):
        href = (link.get("href") or "").strip()
        if not href or href.startswith("#") or len(href) > 4000:
            continue
        try:
            target = canonical_url(urljoin(here, href))
        except ValueError:
            continue
        parts = urlsplit(target)
        if parts.hostname != host or target == here or target in found:
            continue
        if not any(parts.path.startswith(prefix) for prefix in path_prefixes):
            continue
        try:
            text = clean(" ".join(blocks(link)), field="link text", max_chars=2000)
        except ValueError:
            text = None
        found[target] = text
        if len(found) >= MAX_LINKS:
            break
    return list(found.items())


def _title(root: etree._Element) -> str | None:
    for candidates in (_X_H1(root), _X_ANY_H1(root)):
        for h1 in candidates:
            text = _clean(" ".join(blocks(h1)), "title")
            if text:
                return text
    raw = title_text(root)[:20_000]
    title = _clean(raw, "page title", 20_000)
    return _clean(TITLE_SUFFIX.sub("", title), "title") if title else None


def _paragraphs(body: etree._Element) -> list[str]:
    """The body's blocks, each whitespace-normalized, cleaned in one `clean` call."""
    joined = _PARAGRAPH_MARK.join(b.replace(_PARAGRAPH_MARK, "") for b in blocks(body))
    text = _clean(joined, "alert text", MAX_BODY_CHARS) or ""
    return [p for p in (part.strip() for part in text.split(_PARAGRAPH_MARK)) if p]


def _sections(paragraphs: list[str]) -> dict[str, str | None]:
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for paragraph in paragraphs:
        label = _LABEL.match(paragraph)
        if label:
            name = label.group(1).lower().rstrip("s")
            if name in found:  # a second label of one kind: the first one stands
                current = None
                continue
            current = found[name] = []
            if label.group(2).strip():
                current.append(label.group(2).strip())
            continue
        if current is None:
            continue
        if _SECTION_END.match(paragraph):
            current = None
            continue
        current.append(paragraph)
    return {name: ("\n".join(found[name]) or None) if name in found else None for name in SECTIONS}


def _clean(value: object, field: str, max_chars: int = 2000) -> str | None:
    try:
        return clean(value, field=field, max_chars=max_chars)
    except ValueError as exc:
        raise SourceFailure(f"alert page: {exc}") from None
