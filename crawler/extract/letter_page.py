"""Extract one warning letter from its fda.gov page: a pure function of the page's bytes and URL.

The page structure is the one described in ../shared/data/fda/README.md: a Drupal page whose
`<title>` is "Company - CMS# - MM/DD/YYYY | FDA", an `h1.content-title`, header fields as dt/dd pairs
(`Delivery Method:`, `Product:`, `Reference #:`, `Recipient:`, `Issuing Office:`) and the letter
itself in `div[role=main]`. Where the README says a detail is inferred, both shapes are read:

* an address as Drupal address-module spans (address-line1, locality, administrative-area,
  postal-code, country) or as plain `<br>` lines ("City, ST 12345" on the line before the country);
* product categories as several dd's, as list items, or comma / line separated in one dd;
* response and close-out letters as a dt/dd pair ("Close Out Letter:") or as a small table or list
  whose rows hold a link and a date;
* the hidden "Recipient Name" / "Recipient Title" labels in their own element or run into the value.

The bytes are read as UTF-8 (what fda.gov serves); invalid bytes become U+FFFD and C0 control
bytes are dropped before parsing. Nothing on the page is executed or followed: scripts, styles,
forms, frames and hidden elements are never read as text, links are only resolved against the
letter's canonical fda.gov URL, and only http(s) links are kept. Every text goes through
`crawler.normalize.text.clean`.

A page that is not a healthy letter page raises SourceFailure with the reason: larger than
MAX_PAGE_BYTES, an Akamai "Access Denied" / apology page, a page with no letter (no h1.content-title
and no letter-shaped title, no `div[role=main]`, no header fields and no "WARNING LETTER" heading),
or a truncated page. The truncation rule: a complete page either ends with `</html>` (trailing
whitespace and comments allowed) or has content after the letter body (`div[role=main]`; FDA pages
always follow it with the "Content current as of" block and the footer). A page with neither was
cut before the letter's end: its text would be a different, shorter letter, so it is refused.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from urllib.parse import unquote, urljoin, urlsplit

from lxml import etree

from crawler.errors import SourceFailure
from crawler.extract.html import (
    MAX_PAGE_BYTES,  # noqa: F401  (re-exported: the letter page limit)
    TITLE_SUFFIX,
    blocks,
    ends_complete,
    has_class,
    parse_page,
    refuse_block_page,
)
from crawler.normalize.dates import MONTHS, date_line, make_date
from crawler.normalize.letters import letter_url, marcs_cms_number
from crawler.normalize.offices import canonical_office
from crawler.normalize.text import clean

MAX_BODY_CHARS = 500_000
MAX_EMAILS = 20
MAX_RELATED = 50
#: How many of the body's first paragraphs may hold the date line and the reference line.
HEAD_PARAGRAPHS = 8

_PARAGRAPH_MARK = "\ue000"  # a private-use character: not whitespace, not a control, kept by clean()
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,299}$")

_LETTER_TITLE = re.compile(
    r"^(?P<company>.+?)\s+-\s+(?:(?P<cms>\d{4,9})?\s*-\s+)?(?P<date>\d{1,2}/\d{1,2}/\d{4})$"
)
_H1_MARCS = re.compile(r"\s*\bMARCS[\s-]*CMS\b.*$", re.I | re.S)
_MARCS_NUMBER = re.compile(r"\bMARCS[\s-]*CMS\s*#?\s*(\d{4,9})\b", re.I)
_ANY_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b|\b([a-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})\b", re.I)
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
_REFERENCE_LINE = re.compile(
    r"^\[?\s*(?:(?:warning\s+letter|wl|ref(?:erence)?|marcs[\s-]*cms|cms)\b\.?\s*(?:#|no\.?|number)?\s*:?\s*)?"
    r"#?\s*(?P<ref>(?:[a-z]{1,6}[\s-]?)?\d[\da-z-]*(?:\s\d[\da-z-]*)?)\s*\]?$",
    re.I,
)
_SALUTATION = re.compile(r"^(?:dear\b|to whom\b|gentlemen\b|ladies\b|sir\b|madam\b)", re.I)
# The heading line: "WARNING LETTER", or "Warning Letter 320-25-48" (not prose about warning letters).
_WARNING_LETTER = re.compile(r"^\W*warning\s+letter\b(?!s)", re.I)
_EMAIL = re.compile(r"[a-z0-9][a-z0-9._%+-]{0,63}@[a-z0-9](?:[a-z0-9-]{0,62}\.)+[a-z]{2,24}", re.I)
_EMAIL_EXACT = re.compile(r"^" + _EMAIL.pattern + r"$", re.I)
_US_CITY_LINE = re.compile(
    r"^(?P<locality>[^,]+),\s*(?P<region>[a-z][a-z .]*?)\s+(?P<postal>\d{5}(?:-\d{4})?)$", re.I
)
_HIDDEN_LABEL = re.compile(r"^recipient\s*(?P<which>name|title)\s*:?\s*(?P<value>.*)$", re.I | re.S)
_PRODUCT_SPLIT = re.compile(r"\s*[,;]\s*")
#: Category names that hold a comma themselves: never split (FDA's site section names).
_COMMA_PRODUCTS = ("vaccines, blood, and biologics", "vaccines, blood & biologics")
_CLOSEOUT = re.compile(r"\bclose[\s-]*out\b", re.I)
_RESPONSE = re.compile(r"\bresponse\b", re.I)
_WORD_LETTER = re.compile(r"\bletters?\b", re.I)

_HEADER_LABELS = {
    "delivery method": "delivery",
    "product": "product",
    "products": "product",
    "product type": "product",
    "product types": "product",
    "reference #": "reference",
    "reference": "reference",
    "reference number": "reference",
    "reference no.": "reference",
    "reference no": "reference",
    "recipient": "recipient",
    "recipients": "recipient",
    "issuing office": "office",
}


def _has_class(name: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


_X_FOLLOWING = etree.XPath("boolean(following::*)")
_X_ADDRESS = etree.XPath(f".//*[{_has_class('address')}]")
_X_MAILTO = etree.XPath(".//a[starts-with(translate(normalize-space(@href), 'MAILTO', 'mailto'), 'mailto:')]")
_X_LI = etree.XPath(".//li")
_X_TIME = etree.XPath(".//time[@datetime]")
_JOB_TITLE = re.compile(
    r"\b(chief|officer|president|owner|director|manager|founder|partner|administrator|"
    r"ceo|cfo|coo|cso|chairman|chairwoman|principal|proprietor|managing member|pharmacist)\b",
    re.IGNORECASE,
)
# A person's name: 2 to 6 words of letters (initials, hyphens, apostrophes, a degree after a comma).
_PERSON = re.compile(r"^(?:[A-Z][\w'.-]*\.?\s+){1,5}[A-Z][\w'.-]*\.?(?:,\s*[A-Za-z.]{2,12})*$")
_ADDRESS_PARTS = {
    part: etree.XPath(f".//*[{_has_class(part)}]")
    for part in (
        "address-line1",
        "address-line2",
        "locality",
        "administrative-area",
        "postal-code",
        "country",
    )
}


@dataclass(frozen=True)
class LetterPage:
    """One warning letter as its own page shows it. None / () means "the page does not say"."""

    slug: str
    url: str  # the canonical https://www.fda.gov URL of the slug, whichever host served the page
    title: str | None  # the page title without its " | FDA" suffix
    company_name: str | None
    marcs_cms_number: str | None
    letter_date: date | None
    issuing_office_raw: str | None
    issuing_office: str | None
    delivery_method: str | None
    products: tuple[str, ...]
    reference_number: str | None
    recipient_name: str | None
    recipient_title: str | None
    address_line1: str | None  # the street lines (address-line1, address-line2) joined with ", "
    locality: str | None
    region: str | None
    postal_code: str | None
    country: str | None
    emails: tuple[str, ...]  # the recipient's, lowercased, in page order
    body_text: str  # paragraphs of div[role=main], whitespace-normalized, joined with "\n\n"
    response_letters: tuple[tuple[date | None, str], ...]
    closeout_letters: tuple[tuple[date | None, str], ...]
    content_hash: str  # sha256 hex of body_text (UTF-8)


def parse_letter_page(html: bytes, url: str) -> LetterPage:
    """Parse a saved or fetched letter page; raises SourceFailure when it is not a healthy letter page."""
    root, data = parse_page(html, "letter page")
    parts = _locate(root)
    refuse_block_page(
        root,
        "a letter",
        real_title=_LETTER_TITLE,
        raw_title=parts.raw_title,
        content_marked=bool(parts.bodies or parts.h1s),
    )
    slug = _slug(url)
    body_el = parts.bodies[0] if parts.bodies else None
    if not ends_complete(data) and (body_el is None or not _X_FOLLOWING(body_el)):
        where = "before the letter body" if body_el is None else "inside the letter body (div[role=main])"
        raise SourceFailure(f"letter page is truncated: it ends without </html>, {where}")

    title = _page_title(parts.raw_title)
    title_match = _LETTER_TITLE.match(title) if title else None
    h1s = parts.h1s
    if not h1s and not title_match:
        raise SourceFailure(
            "not a warning-letter page: no h1.content-title and no 'Company - CMS# - date' title"
        )
    if body_el is None:
        raise SourceFailure("not a warning-letter page: no letter body (div[role=main])")
    paragraphs = _paragraphs(body_el)
    if not paragraphs:
        raise SourceFailure("letter body (div[role=main]) is empty")
    body_text = "\n\n".join(paragraphs)

    fields = _header_fields(parts.dts)
    head = _letter_head(paragraphs)
    if not fields and not any(_WARNING_LETTER.match(p) for p in head):
        raise SourceFailure("not a warning-letter page: no header fields and no WARNING LETTER heading")

    h1_text = _clean(" ".join(blocks(h1s[0])), "h1") if h1s else None
    company = _clean(_H1_MARCS.sub("", h1_text), "company") if h1_text else None
    if not company and title_match:
        company = _clean(title_match.group("company"), "company")
    cms = marcs_cms_number(slug)
    if cms is None and title_match and title_match.group("cms"):
        cms = title_match.group("cms")
    if cms is None and h1_text:
        marcs = _MARCS_NUMBER.search(h1_text)
        cms = marcs.group(1) if marcs else None

    letter_date = next((d for d in map(date_line, head) if d), None)
    if letter_date is None and title_match:
        letter_date = date_line(title_match.group("date"))

    recipient = _recipient(fields.get("recipient", []))
    office_raw = _office(fields.get("office", []))
    reference = _first_text(fields.get("reference", [])) or _body_reference(head)
    related = _related_letters(parts.links, letter_url(slug))
    return LetterPage(
        slug=slug,
        url=letter_url(slug),
        title=title,
        company_name=company,
        marcs_cms_number=cms,
        letter_date=letter_date,
        issuing_office_raw=office_raw,
        issuing_office=canonical_office(office_raw),
        delivery_method=_first_text(fields.get("delivery", [])),
        products=_products(fields.get("product", [])),
        reference_number=reference,
        recipient_name=recipient["name"],
        recipient_title=recipient["title"],
        address_line1=recipient["address_line1"],
        locality=recipient["locality"],
        region=recipient["region"],
        postal_code=recipient["postal_code"],
        country=recipient["country"],
        emails=recipient["emails"],
        body_text=body_text,
        response_letters=tuple(item for kind, item in related if kind == "response"),
        closeout_letters=tuple(item for kind, item in related if kind == "closeout"),
        content_hash=hashlib.sha256(body_text.encode("utf-8")).hexdigest(),
    )


# --- page level ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Parts:
    """Where a letter page keeps what is read from it, found in one pass over the tree."""

    raw_title: str
    bodies: list[etree._Element]  # div[role=main]
    h1s: list[etree._Element]  # h1.content-title
    dts: list[etree._Element]  # header labels: not in the body, a nav or a footer
    links: list[etree._Element]  # a[@href] outside the body, navs, footers and the site banner


def _locate(root: etree._Element) -> _Parts:
    """One C-level walk over the tags that matter (lxml's iter with tag names), instead of an
    XPath per part: measured, the XPaths were about a quarter of a letter page's extraction."""
    bodies, h1s, dts, anchors = [], [], [], []
    outside_dt: set[etree._Element] = set()  # a dt below one of these is not a header label
    banners: set[etree._Element] = set()
    raw_title = None
    for el in root.iter("title", "div", "h1", "dt", "a", "nav", "footer", "header"):
        tag = el.tag
        if tag == "a":
            if el.get("href") is not None:
                anchors.append(el)
        elif tag == "dt":
            dts.append(el)
        elif tag == "div":
            if el.get("role") == "main":
                bodies.append(el)
                outside_dt.add(el)
        elif tag == "h1":
            if has_class(el, "content-title"):
                h1s.append(el)
        elif tag == "title":
            if raw_title is None:
                raw_title = "".join(el.itertext())
        elif tag == "header":
            if el.get("role") == "banner":
                banners.add(el)
        else:  # nav, footer
            outside_dt.add(el)
    # what lies below those, gathered by C-level iteration (not an ancestor walk per element)
    hidden_from_dt = {el for scope in outside_dt for el in scope.iter("a", "dt")}
    hidden_from_links = hidden_from_dt | {el for scope in banners for el in scope.iter("a")}
    return _Parts(
        raw_title=raw_title or "",
        bodies=bodies,
        h1s=h1s,
        dts=[dt for dt in dts if dt not in hidden_from_dt],
        links=[a for a in anchors if a not in hidden_from_links],
    )


def _page_title(raw: str) -> str | None:
    """The <title> without its " | FDA" suffix; whitespace collapsed before any regex runs on it."""
    if len(raw) > 20_000:
        raise SourceFailure("letter page: page title is longer than 20000 characters")
    title = _clean(raw, "page title", 20_000)
    return _clean(TITLE_SUFFIX.sub("", title), "page title") if title else None


def _slug(url: str) -> str:
    shown = clean(str(url)[:120], field="url") or ""
    try:
        parts = urlsplit(str(url).strip())
    except ValueError:
        raise SourceFailure(f"not a warning-letter URL: {shown!r}") from None
    if parts.scheme not in ("http", "https") or "/warning-letters/" not in parts.path:
        raise SourceFailure(f"not a warning-letter URL: {shown!r}")
    slug = parts.path.rstrip("/").rsplit("/", 1)[-1].lower()
    if not _SLUG.match(slug):
        raise SourceFailure(f"warning-letter URL has no valid slug: {shown!r}")
    return slug


# --- text ----------------------------------------------------------------------------------------


def _paragraphs(body_el: etree._Element) -> list[str]:
    """The body's blocks, each whitespace-normalized, cleaned in one `clean` call (a hot path).

    The blocks are joined with a private-use character that `clean` keeps, then split again.
    """
    joined = _PARAGRAPH_MARK.join(b.replace(_PARAGRAPH_MARK, "") for b in blocks(body_el))
    try:
        text = clean(joined, field="letter body", max_chars=MAX_BODY_CHARS) or ""
    except ValueError as exc:
        raise SourceFailure(f"letter page: {exc}") from None
    return [p for p in (part.strip() for part in text.split(_PARAGRAPH_MARK)) if p]


def _lines(el: etree._Element, skip: frozenset = frozenset()) -> list[str]:
    lines = []
    for block in blocks(el, skip):
        for line in block.split("\n"):
            cleaned = _clean(line, "header text")
            if cleaned:
                lines.append(cleaned)
    return lines


def _clean(value: object, field: str, max_chars: int = 2000) -> str | None:
    try:
        return clean(value, field=field, max_chars=max_chars)
    except ValueError as exc:
        raise SourceFailure(f"letter page: {exc}") from None


# --- header fields ---------------------------------------------------------------------------------


def _header_fields(dts: list[etree._Element]) -> dict[str, list[etree._Element]]:
    """Known dt labels mapped to their dd's (the dd siblings up to the next dt); first label wins."""
    fields: dict[str, list[etree._Element]] = {}
    for dt in dts:
        label = " ".join(" ".join(blocks(dt)).split()).lower().rstrip(":").strip()
        key = _HEADER_LABELS.get(label)
        if key is None or key in fields:
            continue
        dds = []
        for sibling in dt.itersiblings():
            if sibling.tag == "dt":
                break
            if sibling.tag == "dd":
                dds.append(sibling)
        fields[key] = dds
    return fields


def _first_text(dds: list[etree._Element]) -> str | None:
    for dd in dds:
        lines = _lines(dd)
        if lines:
            return _clean(" ".join(lines), "header field")
    return None


def _products(dds: list[etree._Element]) -> tuple[str, ...]:
    values: list[str] = []
    for dd in dds:
        items = _X_LI(dd)
        texts = [" ".join(_lines(li)) for li in items] if items else _lines(dd)
        for text in texts:
            parts = [text] if text.lower() in _COMMA_PRODUCTS else _PRODUCT_SPLIT.split(text)
            for part in parts:
                value = _clean(part, "product")
                if value and value not in values:
                    values.append(value)
    return tuple(values)


def _office(dds: list[etree._Element]) -> str | None:
    """The office name: the first line of the first dd, its address left out."""
    for dd in dds:
        lines = _lines(dd, frozenset(_X_ADDRESS(dd)))
        if lines:
            return lines[0]
    return None


def _recipient(dds: list[etree._Element]) -> dict:
    found: dict = dict.fromkeys(
        ("name", "title", "address_line1", "locality", "region", "postal_code", "country")
    )
    emails: list[str] = []
    address_done = False
    people: list[str] = []  # lines under the company that may name the addressee
    for dd in dds:
        for link in _X_MAILTO(dd):
            _add_emails(emails, unquote(link.get("href", "").strip()[len("mailto:") :]).split("?")[0])
        addresses = _X_ADDRESS(dd)
        lines = _lines(dd, frozenset(addresses))
        for line in lines:
            _add_emails(emails, line)
        lines = [line for line in lines if not _EMAIL.search(line)]
        joined = " ".join(lines)
        label = _HIDDEN_LABEL.match(joined)
        if label:
            key = label.group("which").lower()
            if found[key] is None:
                found[key] = _clean(label.group("value"), f"recipient {key}")
            continue
        if address_done:
            continue
        if addresses:
            found.update(_address(addresses[0]))
            address_done = True
            people = lines[1:]
        elif len(lines) > 1:  # company line, then the address as plain lines
            found.update(_address_from_lines(lines[1:]))
            address_done = True
    found["emails"] = tuple(emails[:MAX_EMAILS])
    _untangle_title(found, people)
    return found


def _untangle_title(found: dict, people: list[str]) -> None:
    """Some pages put the addressee's job title under the "Recipient Name" label, with no title
    field, and print the person's name under the company. Then the label's value is the title,
    and the person is that line, when exactly one line there reads as a name."""
    name = found["name"]
    if not name or found["title"] is not None or not _JOB_TITLE.search(name):
        return
    found["title"], found["name"] = name, None
    names = [line for line in people if _PERSON.match(line)]
    if len(names) == 1:
        found["name"] = _clean(names[0], "recipient name")


def _add_emails(emails: list[str], text: str) -> None:
    for match in _EMAIL.finditer(text or ""):
        email = match.group(0).lower()
        if _EMAIL_EXACT.match(email) and email not in emails:
            emails.append(email)


def _address(el: etree._Element) -> dict:
    parts = {name: _part_text(el, name) for name in _ADDRESS_PARTS}
    if not any(parts.values()):
        return _address_from_lines(_lines(el))
    street = ", ".join(p for p in (parts["address-line1"], parts["address-line2"]) if p)
    return {
        "address_line1": street or None,
        "locality": parts["locality"],
        "region": parts["administrative-area"],
        "postal_code": parts["postal-code"],
        "country": parts["country"],
    }


def _part_text(el: etree._Element, name: str) -> str | None:
    for part in _ADDRESS_PARTS[name](el):
        text = _clean(" ".join(_lines(part)), f"address {name}")
        if text:
            return text
    return None


def _address_from_lines(lines: list[str]) -> dict:
    """Plain address lines: street lines, then "City, ST 12345" or a city, then the country."""
    out = dict.fromkeys(("address_line1", "locality", "region", "postal_code", "country"))
    lines = list(lines)
    if not lines:
        return out
    if len(lines) > 1 and not _US_CITY_LINE.match(lines[-1]):
        out["country"] = lines.pop()
    if lines:
        city = _US_CITY_LINE.match(lines[-1])
        if city:
            lines.pop()
            out.update(locality=city["locality"], region=city["region"], postal_code=city["postal"])
        elif len(lines) > 1:
            out["locality"] = lines.pop()
    out["address_line1"] = ", ".join(lines) or None
    return out


# --- body --------------------------------------------------------------------------------------------


def _letter_head(paragraphs: list[str]) -> list[str]:
    """The body's opening lines up to the salutation: where the date and the reference are."""
    head = []
    for paragraph in paragraphs[:HEAD_PARAGRAPHS]:
        if _SALUTATION.match(paragraph):
            break
        head.append(paragraph)
    return head


def _body_reference(head: list[str]) -> str | None:
    for line in head:
        if len(line) > 60 or date_line(line):
            continue
        match = _REFERENCE_LINE.match(line)
        if match:
            return match.group("ref")
    return None


# --- response and close-out letters -------------------------------------------------------------------


def _related_letters(links: list[etree._Element], base: str) -> list[tuple[str, tuple[date | None, str]]]:
    """Links to response / close-out letters near the header, with their dates."""
    found: list[tuple[str, tuple[date | None, str]]] = []
    for link in links:
        if not link.get("href"):
            continue
        row = next((a for a in link.iterancestors() if a.tag in ("tr", "li", "dd")), None)
        dt = None
        if row is not None and row.tag == "dd":
            dt = next((s for s in row.itersiblings(preceding=True) if s.tag == "dt"), None)
        # Cheap test on the raw text (C-level itertext) before cleaning anything: every kind needs
        # "letter" and "close"/"response" somewhere in its context; most links are navigation.
        raw = "".join(
            el_text
            for el in (row if row is not None else link, dt)
            if el is not None
            for el_text in el.itertext()
        )
        low = raw.lower()
        if "letter" not in low or ("close" not in low and "response" not in low):
            continue
        link_text = " ".join(_lines(link))
        context = [link_text]  # the link's own words first, then its dt label, then its row
        if row is not None:
            if dt is not None:
                context.append(" ".join(_lines(dt)))
            context.append(" ".join(_lines(row)))
        kind = _related_kind(context)
        if kind is None:
            continue
        href = _safe_link(link.get("href", ""), base)  # after the cheap test: pages have many links
        if href is None:
            continue
        when = _find_date(link_text)
        if when is None and row is not None:
            when = _find_date(" ".join(_lines(row))) or _time_date(row)
        item = (kind, (when, href))
        if item not in found:
            found.append(item)
        if len(found) >= MAX_RELATED:
            break
    return found


def _related_kind(context: list[str]) -> str | None:
    for text in context:
        if _CLOSEOUT.search(text) and _WORD_LETTER.search(text):
            return "closeout"
        if _RESPONSE.search(text) and _WORD_LETTER.search(text):
            return "response"
    return None


def _safe_link(href: str, base: str) -> str | None:
    href = (clean(href, field="link", max_chars=4000) if len(href) <= 4000 else None) or ""
    if not href or href.startswith("#"):
        return None
    try:
        absolute = urljoin(base, href)
        parts = urlsplit(absolute)
    except ValueError:  # e.g. "Invalid IPv6 URL"
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return absolute


def _find_date(text: str) -> date | None:
    for match in _ANY_DATE.finditer(text or ""):
        if match.group(1):
            found = make_date(match.group(3), match.group(1), match.group(2))
        else:
            found = make_date(match.group(6), MONTHS.get(match.group(4).lower()), match.group(5))
        if found:
            return found
    return None


def _time_date(el: etree._Element) -> date | None:
    for time in _X_TIME(el):
        match = _ISO_DATE.match(time.get("datetime", "").strip())
        if match:
            found = make_date(*match.groups())
            if found:
                return found
    return None
