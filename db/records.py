"""What the store accepts: plain, typed, already-normalized records (no ORM objects, no raw HTML)."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)  # no slots: the store reads vars(record), the cheapest view of its fields
class LetterRecord:
    """One warning letter as a source saw it. None means "this source does not say"."""

    slug: str
    url: str
    marcs_cms_number: str | None = None
    company_name: str | None = None
    posted_date: date | None = None
    letter_date: date | None = None
    issuing_office: str | None = None
    issuing_office_raw: str | None = None
    subject: str | None = None
    response_letter_date: date | None = None
    closeout_letter_date: date | None = None
    # from the letter's own page: filled by the crawler, None from listing exports
    delivery_method: str | None = None
    products: list[str] | None = None
    reference_number: str | None = None
    recipient_name: str | None = None
    recipient_title: str | None = None
    address_line1: str | None = None
    locality: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    emails: list[str] | None = None
    response_letters: list[dict] | None = None  # [{"date": "YYYY-MM-DD", "url": ...}]
    closeout_letters: list[dict] | None = None
    body_text: str | None = None
    content_hash: str | None = None
    tags: list[str] | None = None
    tag_phrases: dict[str, list[str]] | None = None
    product_names: list[str] | None = None
    page_fetched_at: datetime | None = None


#: Fields that record a letter's lifecycle: a source that states them overrides what is stored.
LETTER_LIFECYCLE_FIELDS = frozenset({"response_letter_date", "closeout_letter_date"})

#: Fields whose values are too large for an event summary: a change shows as {"changed": true}.
LETTER_QUIET_FIELDS = frozenset({"body_text"})
#: When a field changes only because we looked again, it is no news.
LETTER_UNTRACKED_FIELDS = frozenset({"page_fetched_at"})


@dataclass(frozen=True)
class NoticeRecord:
    """One FDA safety notice as a crawl saw it: its feed entries and, when fetched, its page."""

    url: str  # canonical (crawler.normalize.urls)
    title: str | None = None
    published_at: datetime | None = None  # the feed's date, UTC; None when no feed gave one
    summary: str | None = None  # the feed's description, as text
    posted_date: date | None = None  # the page's own date line
    notice_type: str | None = None
    feeds: list[str] | None = None  # the feeds that carried it; merged as a union, never shrinks
    audience: str | None = None
    issue: str | None = None
    background: str | None = None
    recommendation: str | None = None
    body_text: str | None = None
    content_hash: str | None = None
    tags: list[str] | None = None
    tag_phrases: dict[str, list[str]] | None = None
    product_names: list[str] | None = None
    page_fetched_at: datetime | None = None


#: A notice is news again only when its text changes (the page's title and body, as hashed).
NOTICE_EVENT_FIELDS = frozenset({"title", "content_hash"})
NOTICE_QUIET_FIELDS = frozenset({"body_text", "summary", "audience", "issue", "background", "recommendation"})
NOTICE_UNTRACKED_FIELDS = frozenset({"page_fetched_at"})
NOTICE_UNION_FIELDS = frozenset({"feeds"})


@dataclass(frozen=True)
class ClinicRecord:
    """One clinic as the listings show it, resolved to one key (crawler.normalize.clinics)."""

    clinic_key: str  # registrable domain; else "tel:+E164"; else "name:<name key>|<postcode>"
    name: str | None = None
    domain: str | None = None
    website: str | None = None
    phone: str | None = None  # E.164
    street: str | None = None
    locality: str | None = None
    region: str | None = None
    postcode: str | None = None
    country: str | None = None  # ISO 3166 alpha-2
    latitude: float | None = None
    longitude: float | None = None
    listings: list[str] | None = None  # the listing sources that carry it; a union, never shrinks
    names: list[str] | None = None  # every name it is listed under; a union


CLINIC_UNION_FIELDS = frozenset({"listings", "names"})


@dataclass(frozen=True)
class PageRecord:
    """One clinic page as fetched: its extracted text and what is needed to ask for it again."""

    url: str  # canonical
    clinic_id: int | None = None
    title: str | None = None
    text: str | None = None
    content_hash: str | None = None
    lang: str | None = None
    encoding: str | None = None
    links: list[list[str]] | None = None  # the treatment links it led to: [[url, anchor], ...]
    etag: str | None = None
    last_modified: str | None = None
    fetched_at: datetime | None = None
    checked_at: datetime | None = None


#: A page is news when its text changes; validators and times are bookkeeping.
PAGE_EVENT_FIELDS = frozenset({"content_hash"})
PAGE_QUIET_FIELDS = frozenset({"text", "links"})
PAGE_UNTRACKED_FIELDS = frozenset({"etag", "last_modified", "fetched_at", "checked_at", "encoding"})


@dataclass(frozen=True)
class HtmlSnapshot:
    """A page's raw HTML as `page_snapshots` keeps it: gzip (level 6, no timestamp: the same bytes
    compress the same), with its size and the encoding it was read with. Made where the page is
    parsed (the crawl's extraction worker), so the crawl process never compresses."""

    gzip: bytes
    size: int
    encoding: str | None

    @classmethod
    def of(cls, html: bytes, encoding: str | None) -> HtmlSnapshot:
        return cls(gzip.compress(html, compresslevel=6, mtime=0), len(html), encoding)
