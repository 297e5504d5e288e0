"""Extract a clinic's web page: title, visible text without boilerplate, its links. Pure functions.

The text is what a visitor reads as the page's content: scripts, styles, forms, hidden elements,
navigation, header, footer, cookie and consent banners, sidebars, share buttons and ads are left
out, and when the page marks its main content (`main`, `article`, `[role=main]`) only that is read.
Its SHA-256 is the page's `content_hash`, so a rotating ad, a nonce or a changed menu is no change.

Links are read from the whole page (menus are where "Treatments" and "Pricing" live), resolved,
canonical, with their anchor text. Any encoding: the declared one, else a detected one
(crawler.extract.html.decode_page); NUL and other control bytes are dropped.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from lxml import etree

from crawler.errors import SourceFailure
from crawler.extract.html import MAX_PAGE_BYTES, blocks, decode_page, parse_text, strip_controls, title_text
from crawler.normalize.text import clean
from crawler.normalize.urls import canonical_url

MAX_TEXT_CHARS = 1_000_000
MAX_LINKS = 2000
MAX_SITEMAP_URLS = 50_000

_BOILERPLATE_TAGS = {"nav", "header", "footer", "aside", "form", "dialog"}
_BOILERPLATE_ROLES = {
    "navigation",
    "banner",
    "contentinfo",
    "complementary",
    "search",
    "dialog",
    "alertdialog",
}
_BOILERPLATE_WORDS = frozenset(
    [
        "cookie",
        "cookies",
        "consent",
        "gdpr",
        "newsletter",
        "popup",
        "modal",
        "advert",
        "advertisement",
        "ads",
        "ad",
        "promo",
        "social",
        "share",
        "sharing",
        "breadcrumb",
        "breadcrumbs",
        "sidebar",
        "navbar",
        "nav",
        "footer",
        "masthead",
        "skip",
    ]
)
# A class that says what its element HAS ("has-sidebar", "with-footer") is a layout, not the thing.
_STATE_PREFIXES = ("has-", "has_", "with-", "with_", "no-", "no_", "is-", "is_")
_SEPARATORS = re.compile(r"[-_]+")
_CONTENT_TAGS = frozenset({"main", "article"})
_X_LINKS = etree.XPath("//a[@href]")
_X_LANG = etree.XPath("string(/html/@lang)")


@dataclass(frozen=True)
class ClinicPage:
    url: str
    title: str | None
    text: str
    content_hash: str
    lang: str | None
    encoding: str | None
    links: tuple[tuple[str, str], ...]  # (canonical URL, its anchors joined by " | "), in page order


def parse_clinic_page(
    html: bytes, url: str, encoding: str | None = "utf-8", *, with_links: bool = True
) -> ClinicPage:
    """Parse a fetched page; SourceFailure when it is too large, empty or not HTML at all.
    `with_links=False` leaves the links out (a page at the crawl's depth limit: none is followed)."""
    if not isinstance(html, bytes | bytearray | memoryview):
        raise TypeError(f"html must be bytes, not {type(html).__name__}")
    if len(html) > MAX_PAGE_BYTES:
        raise SourceFailure(f"page is {len(html)} bytes, over the {MAX_PAGE_BYTES}-byte limit")
    decoded, used = decode_page(strip_controls(html), encoding or "utf-8")
    root = parse_text(decoded, "page")
    title = _title(root)
    # before the boilerplate goes: menus hold the treatment links
    links = tuple(_links(root, url)) if with_links else ()
    content = _content(root)
    _drop_boilerplate(root, content)  # never removes the content, nor what holds it
    if len(content) > 1:  # the one holding most text (a page of several articles: their container)
        scope = max(content, key=_text_length)
    else:
        scope = content[0] if content else root.find("body")
    if scope is None:
        scope = root
    lines: list[str] = []
    for block in blocks(scope):
        for line in block.split("\n"):
            text = " ".join(line.split())
            if text and (not lines or lines[-1] != text):
                lines.append(text)
    try:
        text = (
            clean("\n".join(lines).replace("\n", "\ue001"), field="page text", max_chars=MAX_TEXT_CHARS) or ""
        )
    except ValueError as exc:
        raise SourceFailure(f"page: {exc}") from None
    text = text.replace("\ue001", "\n")
    return ClinicPage(
        url=canonical_url(url, keep_scheme=True),
        title=title,
        text=text,
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        lang=clean(_X_LANG(root)[:35], field="lang") if _X_LANG(root) else None,
        encoding=used,
        links=links,
    )


def sitemap_urls(data: bytes) -> list[str]:
    """The page URLs a sitemap (or sitemap index) lists; [] for anything that is not one."""
    if len(data) > 10 * 1024 * 1024 or b"<!DOCTYPE" in data[:2048].upper() or b"<!ENTITY" in data[:4096]:
        return []
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=False)
    try:
        root = etree.fromstring(data, parser=parser)
    except (etree.XMLSyntaxError, ValueError):
        return []
    urls = []
    for loc in root.iter("{*}loc"):
        text = (loc.text or "").strip()
        try:
            urls.append(canonical_url(text))
        except ValueError:
            continue
        if len(urls) >= MAX_SITEMAP_URLS:
            break
    return urls


def _title(root: etree._Element) -> str | None:
    try:
        return clean(title_text(root)[:2000], field="title") or None
    except ValueError:
        return None


def _drop_boilerplate(root: etree._Element, content: list[etree._Element]) -> None:
    """Remove navigation, banners and the like. Never an element that holds the page's content
    (a layout wrapper "has-sidebar" around <main>); a header or footer inside the content (an
    article's own heading or byline) stays."""
    holders = {ancestor for el in content for ancestor in el.iterancestors()} | set(content)
    inside = set(content)  # a header or footer with one of these above it is the content's own
    doomed = []
    # A Python walk over the elements: measured, an XPath selecting the candidates cost more than
    # ten times as much. Only an element with a boilerplate tag, a role, an id or a class can be.
    for el in root.iter(etree.Element):
        if el in holders or not (el.attrib or el.tag in _BOILERPLATE_TAGS):
            continue
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in _BOILERPLATE_TAGS or el.get("role") in _BOILERPLATE_ROLES:
            if not (tag in ("header", "footer") and any(a in inside for a in el.iterancestors())):
                doomed.append(el)
            continue
        if tag not in ("html", "body") and _marked_boilerplate(el):
            doomed.append(el)
    for el in doomed:
        parent = el.getparent()
        if parent is None:
            continue
        tail = el.tail
        if tail and tail.strip():  # the text after the removed element stays where it was
            previous = el.getprevious()
            if previous is not None:
                previous.tail = (previous.tail or "") + tail
            else:
                parent.text = (parent.text or "") + tail
        parent.remove(el)


def _content(root: etree._Element) -> list[etree._Element]:
    """The page's content elements (main, article, role=main), in document order."""
    return [el for el in root.iter(etree.Element) if el.tag in _CONTENT_TAGS or el.get("role") == "main"]


def _marked_boilerplate(el: etree._Element) -> bool:
    """Whether an id or class names boilerplate: "cookie-banner", "site-footer", "share_buttons",
    not "has-sidebar" or "content" ."""
    marker = f"{el.get('id') or ''} {el.get('class') or ''}".lower()
    for token in marker.split():
        if token.startswith(_STATE_PREFIXES):
            continue
        if _BOILERPLATE_WORDS.intersection(_SEPARATORS.split(token)):
            return True
    return False


def _text_length(el: etree._Element) -> int:
    return sum(len(b) for b in blocks(el))


def _links(root: etree._Element, base: str) -> list[tuple[str, str]]:
    found: dict[str, str] = {}
    parts = urlsplit(base)
    origin = f"{parts.scheme}://{parts.netloc}"
    for link in _X_LINKS(root):
        href = (link.get("href") or "").strip()
        if not href or href.startswith(("#", "mailto:", "tel:", "javascript:", "data:")) or len(href) > 2000:
            continue
        # a root-relative link (most of a site's menu) needs no urljoin
        absolute = origin + href if href[0] == "/" and href[1:2] != "/" else urljoin(base, href)
        try:
            target = canonical_url(absolute, keep_scheme=True)
        except ValueError:
            continue
        anchor = " ".join("".join(link.itertext()).split())[:300]
        known = found.get(target)
        if known is None:
            found[target] = anchor
        elif anchor and anchor not in known.split(" | ") and len(known) < 1000:
            # every anchor of a URL: a menu's "FAQ" and the text's "Read our exosome FAQ"
            found[target] = f"{known} | {anchor}" if known else anchor
        if len(found) >= MAX_LINKS:
            break
    return list(found.items())
