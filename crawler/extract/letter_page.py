"""Extract one warning letter from its fda.gov page: a pure function of the page's bytes and URL.

Fields are found by what they hold, not by one assumed layout. Real fda.gov pages (saved in
tests/fixtures/fda/real/letters) have the title block `p.content-type-label` "WARNING LETTER" +
`h1.content-title` "Company MARCS-CMS 686504 — <time datetime>", and `div.col-md-8[role=main]`
holding the header `dl`s (Delivery Method, Reference #, Product, Recipient, Issuing Office) between
`hr`s, then the letter. Older renderings put the header `dl`s outside div[role=main]; copies saved
by others may lack fda.gov's chrome and div[role=main] (then the article, else the body, holds the
letter, which starts at its WARNING LETTER heading or date line). Every `dl` before the letter's
first paragraph is header, wherever it stands. Where a detail varies, every shape seen is read:

* the letter date from the h1's `<time datetime>`, else the letter's date line, else the title;
* the MARCS-CMS number from the h1, else the title, else the slug;
* the reference from "Reference #:", else a head line ("WL # 623476", "Warning Letter CMS # 630316",
  "CBER 24-686504", "[OBPO 22-630712]", "320-26-23"), read line by line: fda.gov often sets the
  heading, the reference and even the salutation in one paragraph with `<br>`s;
* an address as Drupal address-module spans (address-line1, locality, administrative-area,
  postal-code, country) or as plain `<br>` lines ("City, ST 12345" on the line before the country);
* product categories as several dd's, as list items, as lines or comma separated in one dd;
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
and no letter-shaped title, no letter text, no header fields and no "WARNING LETTER" heading), or a
truncated page. The truncation rule: a complete page either ends with `</html>` (trailing
whitespace and comments allowed) or has content after the element holding the letter (FDA pages
always follow div[role=main] with the "Content current as of" block). A page with neither was cut
before the letter's end: its text would be a different, shorter letter, so it is refused.
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
#: Without div[role=main], the page must hold at least this much text to be read as a letter.
MIN_LETTER_CHARS = 200
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
    r"^\[?\s*(?:(?:warning\s+letter|wl|ref(?:erence)?|marcs[\s-]*cms|cms|case|re)\b\.?\s*(?:#|no\.?|number)?\s*:?\s*)*"
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
        "address-line3",
        "dependent-locality",
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
        content_marked=bool(parts.main or parts.h1s),
    )
    slug = _slug(url)
    letter_el = parts.letter
    if not ends_complete(data) and (letter_el is None or not _X_FOLLOWING(letter_el)):
        where = "inside the letter body (div[role=main])" if parts.main else "before the letter body"
        raise SourceFailure(f"letter page is truncated: it ends without </html>, {where}")

    title = _page_title(parts.raw_title)
    title_match = _LETTER_TITLE.match(title) if title else None
    h1s = parts.h1s
    if not h1s and not title_match:
        raise SourceFailure(
            "not a warning-letter page: no h1.content-title and no 'Company - CMS# - date' title"
        )
    if letter_el is None:
        raise SourceFailure("not a warning-letter page: no letter body (div[role=main])")
    raw_blocks = blocks(letter_el, parts.not_letter)
    paragraphs = _paragraphs(raw_blocks)
    if not parts.main:  # a copy without fda.gov's main block: the letter starts at its heading
        paragraphs = paragraphs[_letter_start(paragraphs) :]
        if sum(map(len, paragraphs)) < MIN_LETTER_CHARS:
            raise SourceFailure(
                "not a warning-letter page: no letter body (div[role=main]) and no letter text"
            )
    if not paragraphs:
        raise SourceFailure("letter body (div[role=main]) is empty")
    body_text = "\n\n".join(paragraphs)

    fields = _header_fields(parts.dts)
    head = _letter_head(raw_blocks)
    if not fields and not any(_WARNING_LETTER.match(line) for line in head):
        raise SourceFailure("not a warning-letter page: no header fields and no WARNING LETTER heading")

    h1_text = _clean(" ".join(blocks(h1s[0])), "h1") if h1s else None
    company = _h1_company(h1s[0]) if h1s else None
    if not company and title_match:
        company = _clean(title_match.group("company"), "company")
    cms = _page_cms(h1_text, title_match) or marcs_cms_number(slug)

    letter_date = (
        (_time_date(h1s[0]) if h1s else None)
        or next((d for d in map(date_line, head) if d), None)
        or (date_line(title_match.group("date")) if title_match else None)
    )

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


def _h1_company(h1: etree._Element) -> str | None:
    """The company in the title block: its text without the "MARCS-CMS 686504 — <time>" part."""
    text = _clean(" ".join(blocks(h1, frozenset(h1.iter("time")))), "h1") or ""
    return _clean(_H1_MARCS.sub("", text).rstrip(" -\u2013\u2014"), "company")


def _page_cms(h1_text: str | None, title_match: re.Match | None) -> str | None:
    """The MARCS-CMS number the page states (h1 "MARCS-CMS 686504", else the title); the slug's
    number is the fallback: some slugs carry none, or a name after it."""
    marcs = _MARCS_NUMBER.search(h1_text) if h1_text else None
    if marcs:
        return marcs.group(1)
    if title_match and title_match.group("cms"):
        return title_match.group("cms")
    return None


# --- page level ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Parts:
    """Where a letter page keeps what is read from it, found in one pass over the tree."""

    raw_title: str
    main: bool  # the page has fda.gov's div[role=main]
    letter: etree._Element | None  # what holds the letter: div[role=main], else the article or body
    not_letter: frozenset  # elements in `letter` that are not the letter: header fields, page chrome
    h1s: list[etree._Element]  # h1.content-title
    dts: list[etree._Element]  # header labels: outside navs, footers, asides and the letter's text
    links: list[etree._Element]  # a[@href] outside the letter, navs, footers and the site banner


def _locate(root: etree._Element) -> _Parts:
    """Find the letter and its header fields by what they hold, not by one assumed layout.

    fda.gov puts the header `dl`s (Delivery Method, Product, Recipient, Issuing Office) inside
    div[role=main], before the letter; older renderings and other people's saved copies put them
    outside it, or have no div[role=main] at all (then the article, else the body, holds the
    letter). The `dl`s before the letter's first paragraph are header, wherever they stand, when
    one of them holds a known label; a `dl` after that paragraph is part of the letter.

    One C-level walk over the tags that matter (lxml's iter with tag names), not an XPath per part.
    """
    mains, articles, h1s, dts, anchors = [], [], [], [], []
    chrome: list[etree._Element] = []  # navs, footers, asides, the site banner
    headers: list[etree._Element] = []
    raw_title = None
    for el in root.iter("title", "div", "article", "h1", "dt", "a", "nav", "footer", "aside", "header"):
        tag = el.tag
        if tag == "a":
            if el.get("href") is not None:
                anchors.append(el)
        elif tag == "dt":
            dts.append(el)
        elif tag == "div":
            if el.get("role") == "main":
                mains.append(el)
        elif tag == "h1":
            if has_class(el, "content-title"):
                h1s.append(el)
        elif tag == "title":
            if raw_title is None:
                raw_title = "".join(el.itertext())
        elif tag == "article":
            articles.append(el)
        elif tag == "header":
            headers.append(el)
        else:  # nav, footer, aside
            chrome.append(el)
    letter = mains[0] if mains else _fallback_letter(root, articles)
    in_chrome = {el for scope in chrome for el in scope.iter("a", "dt")}
    # without div[role=main], the article or body also holds the page's chrome: not the letter
    page_chrome = (
        [] if mains or letter is None else [el for el in [*chrome, *headers, *h1s] if el is not letter]
    )
    outside = {el for scope in page_chrome for el in scope.iter("p", "dt")} | in_chrome
    header_dls = _header_dls(letter, outside) if letter is not None else set()
    not_letter: set[etree._Element] = {*header_dls, *page_chrome}
    in_letter = set(letter.iter("a", "dt")) if letter is not None else set()
    in_header = {el for dl in header_dls for el in dl.iter("a", "dt")}
    banners = {el for h in headers if h.get("role") == "banner" for el in h.iter("a")}
    return _Parts(
        raw_title=raw_title or "",
        main=bool(mains),
        letter=letter,
        not_letter=frozenset(not_letter),
        h1s=h1s,
        dts=[dt for dt in dts if dt not in in_chrome and (dt not in in_letter or dt in in_header)],
        links=[
            a
            for a in anchors
            if a not in in_chrome and a not in banners and (a not in in_letter or a in in_header)
        ],
    )


def _fallback_letter(root: etree._Element, articles: list[etree._Element]) -> etree._Element | None:
    """Without div[role=main]: fda.gov's article#main-content, else any article, else the body."""
    for article in articles:
        if article.get("id") == "main-content":
            return article
    if articles:
        return articles[0]
    return root.find("body")


def _header_dls(letter: etree._Element, outside: set) -> set[etree._Element]:
    """The `dl`s inside the letter's element that are the page's header: every `dl` before the
    letter's first paragraph (fda.gov adds unlabelled ones, e.g. "Secondary Issuing Offices"),
    when one of them holds a known label. `outside`: paragraphs and labels of the page's chrome."""
    found: set[etree._Element] = set()
    inside: set[etree._Element] = set()  # paragraphs within a header dl (addresses)
    for el in letter.iter("dl", "p"):
        if el in inside or el in outside:
            continue
        if el.tag == "p":
            if "".join(el.itertext()).strip():
                break
            continue
        found.add(el)
        inside.update(el.iter("p"))
    labelled = any(_label(dt) in _HEADER_LABELS for dl in found for dt in dl.iter("dt") if dt not in outside)
    return found if labelled else set()


def _label(dt: etree._Element) -> str:
    return " ".join(" ".join(blocks(dt)).split()).lower().rstrip(":").strip()


def _letter_start(paragraphs: list[str]) -> int:
    """Where the letter starts in a copy without fda.gov's main block: its WARNING LETTER heading,
    or the date and reference lines just before it ("April 30, 2024" / "Case #: 623475"), else its
    date line, among the first paragraphs; 0 when neither is there."""
    window = paragraphs[: HEAD_PARAGRAPHS * 2]
    for index, paragraph in enumerate(window):
        if _WARNING_LETTER.match(paragraph) and not paragraph.lower().startswith("warning letters"):
            start = index
            while start > 0 and index - start < 2 and _head_line(window[start - 1]):
                start -= 1
            return start
    for index, paragraph in enumerate(window):
        if date_line(paragraph):
            return index
    return 0


def _head_line(paragraph: str) -> bool:
    """A date or reference line of a letter's head."""
    return bool(date_line(paragraph)) or (len(paragraph) <= 60 and bool(_REFERENCE_LINE.match(paragraph)))


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


def _paragraphs(raw_blocks: list[str]) -> list[str]:
    """The body's blocks, each whitespace-normalized, cleaned in one `clean` call (a hot path).

    The blocks are joined with a private-use character that `clean` keeps, then split again.
    """
    joined = _PARAGRAPH_MARK.join(b.replace(_PARAGRAPH_MARK, "") for b in raw_blocks)
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
        key = _HEADER_LABELS.get(_label(dt))
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
    # street lines, and the neighbourhood (Drupal's dependent-locality: "Parque Industrial ...")
    street = ", ".join(
        p
        for p in (
            parts["address-line1"],
            parts["address-line2"],
            parts["address-line3"],
            parts["dependent-locality"],
        )
        if p
    )
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


def _letter_head(raw_blocks: list[str]) -> list[str]:
    """The body's opening lines up to the salutation: where the date and the reference are.

    Lines, not paragraphs: fda.gov often sets "WARNING LETTER<br>WL # 623476" in one paragraph,
    or the reference and the salutation ("CBER 24-686504<br><br>Dear Dr. Li:")."""
    head: list[str] = []
    for block in [b for b in raw_blocks if not b.isspace()][:HEAD_PARAGRAPHS]:
        for line in block.split("\n"):
            text = " ".join(line.split())
            if not text:
                continue
            if _SALUTATION.match(text) or len(head) >= HEAD_PARAGRAPHS * 2:
                return head
            head.append(_clean(text, "letter head") or "")
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
