"""Turn a listing row's raw strings into a LetterRecord keyed by the letter's URL slug."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from crawler.normalize.offices import canonical_office
from crawler.normalize.text import clean, parse_listing_date
from db.records import LetterRecord

FDA_ORIGIN = "https://www.fda.gov"
LETTERS_PATH = "/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/"
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,299}$")
# <name>-<CMS number>-<MMDDYYYY>[-n]: the usual shape of a letter slug.
_CMS_BEFORE_DATE = re.compile(r"-(\d{5,7})-(\d{8})(?:-\d{1,3})?$")
_SIX_DIGITS = re.compile(r"(?:^|-)(\d{6})(?=-|$)")


@dataclass(frozen=True)
class ListingRow:
    """One row of a warning-letter listing, as raw strings (or dates, from spreadsheets)."""

    url: str | None
    posted_date: object = None
    letter_date: object = None
    company: object = None
    issuing_office: object = None
    subject: object = None
    response_letter: object = None
    closeout_letter: object = None


def letter_slug(url: str) -> str:
    """The last path segment of a letter's URL, relative or absolute, on fda.gov only."""
    parts = urlsplit(url.strip())
    if parts.scheme and parts.scheme not in ("http", "https"):
        raise ValueError(f"letter URL {url[:80]!r} is not http(s)")
    if parts.netloc and parts.netloc.lower() not in ("www.fda.gov", "fda.gov"):
        raise ValueError(f"letter URL {url[:80]!r} is not on fda.gov")
    if "/warning-letters/" not in parts.path:
        raise ValueError(f"letter URL {url[:80]!r} is not under /warning-letters/")
    slug = parts.path.rstrip("/").rsplit("/", 1)[-1].lower()
    if not _SLUG.match(slug):
        raise ValueError(f"letter URL {url[:80]!r} has no valid slug")
    return slug


def marcs_cms_number(slug: str) -> str | None:
    """The MARCS-CMS number in a slug, where it has one (some slugs carry only a date)."""
    match = _CMS_BEFORE_DATE.search(slug)
    if match:
        return match.group(1)
    numbers = _SIX_DIGITS.findall(slug)
    return numbers[-1] if numbers else None


def letter_url(slug: str) -> str:
    return f"{FDA_ORIGIN}{LETTERS_PATH}{slug}"


def letter_from_listing(row: ListingRow, *, slug: str | None = None) -> LetterRecord:
    """Validate and normalize one listing row; raises ValueError naming the bad field."""
    if slug is None:
        if not row.url or not row.url.strip():
            raise ValueError("no letter URL")
        slug = letter_slug(row.url)
    office_raw = clean(row.issuing_office, field="issuing office")
    return LetterRecord(
        slug=slug,
        url=letter_url(slug),
        marcs_cms_number=marcs_cms_number(slug),
        company_name=clean(row.company, field="company"),
        posted_date=parse_listing_date(row.posted_date, field="posted date"),
        letter_date=parse_listing_date(row.letter_date, field="letter issue date"),
        issuing_office=canonical_office(office_raw),
        issuing_office_raw=office_raw,
        subject=clean(row.subject, field="subject"),
        response_letter_date=parse_listing_date(row.response_letter, field="response letter date"),
        closeout_letter_date=parse_listing_date(row.closeout_letter, field="close-out letter date"),
    )
