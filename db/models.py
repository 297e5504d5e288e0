"""The tables analysts query. Names are stable: README.md documents every table and column.

Natural keys are NOT NULL and UNIQUE, so the database itself refuses a second copy of a record.
Every tracked record carries `first_seen_at`, `updated_at` and `revision` (1 on insert, +1 per
change); what changed and when is in `events`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from db.types import JSONDocument, UTCDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; BIGINT elsewhere.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Tracked:
    """Columns every deduplicated record has."""

    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revision: Mapped[int] = mapped_column(Integer, default=1)


class WarningLetter(Tracked, Base):
    """One FDA warning letter, keyed by the slug of its fda.gov URL."""

    __tablename__ = "warning_letters"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(300), unique=True)
    url: Mapped[str] = mapped_column(Text)
    marcs_cms_number: Mapped[str | None] = mapped_column(String(16), index=True)
    company_name: Mapped[str | None] = mapped_column(Text)
    posted_date: Mapped[date | None] = mapped_column(Date, index=True)
    letter_date: Mapped[date | None] = mapped_column(Date)
    issuing_office: Mapped[str | None] = mapped_column(Text, index=True)
    issuing_office_raw: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(Text)
    response_letter_date: Mapped[date | None] = mapped_column(Date)
    closeout_letter_date: Mapped[date | None] = mapped_column(Date)
    # from the letter's own page (migration 0002)
    delivery_method: Mapped[str | None] = mapped_column(Text)
    products: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    reference_number: Mapped[str | None] = mapped_column(Text)
    recipient_name: Mapped[str | None] = mapped_column(Text)
    recipient_title: Mapped[str | None] = mapped_column(Text)
    address_line1: Mapped[str | None] = mapped_column(Text)
    locality: Mapped[str | None] = mapped_column(Text)
    region: Mapped[str | None] = mapped_column(Text)
    postal_code: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(Text)
    emails: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    response_letters: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    closeout_letters: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    body_text: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    tags: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    tag_phrases: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    product_names: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    page_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # presence in FDA's listing, kept by full listing crawls (no event but delisting)
    last_listed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    listing_missing_count: Mapped[int] = mapped_column(Integer, server_default="0")
    delisted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # the letter page could not be read (migration 0007): why, and when it last failed; cleared
    # when a later crawl reads it (no event: source health tells it)
    page_error: Mapped[str | None] = mapped_column(Text)
    page_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Notice(Tracked, Base):
    """One FDA safety notification, MedWatch alert or press item, keyed by its canonical URL."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    title: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    summary: Mapped[str | None] = mapped_column(Text)
    # from the alert page and the feeds (migration 0003)
    posted_date: Mapped[date | None] = mapped_column(Date, index=True)
    notice_type: Mapped[str | None] = mapped_column(Text)
    feeds: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    audience: Mapped[str | None] = mapped_column(Text)
    issue: Mapped[str | None] = mapped_column(Text)
    background: Mapped[str | None] = mapped_column(Text)
    recommendation: Mapped[str | None] = mapped_column(Text)
    body_text: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    tags: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    tag_phrases: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    product_names: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    page_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Clinic(Tracked, Base):
    """A clinic, med spa or salon; `clinic_key` is its domain, else phone, else name + postcode."""

    __tablename__ = "clinics"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    clinic_key: Mapped[str] = mapped_column(String(400), unique=True)
    name: Mapped[str | None] = mapped_column(Text)
    domain: Mapped[str | None] = mapped_column(String(255), index=True)
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    postcode: Mapped[str | None] = mapped_column(String(32))
    country: Mapped[str | None] = mapped_column(String(2))
    # migration 0004
    website: Mapped[str | None] = mapped_column(Text)
    street: Mapped[str | None] = mapped_column(Text)
    locality: Mapped[str | None] = mapped_column(Text)
    region: Mapped[str | None] = mapped_column(Text)
    listings: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    names: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Page(Tracked, Base):
    """A clinic web page; `content_hash` is of the extracted text, so markup noise is no change."""

    __tablename__ = "pages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinics.id"), index=True)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # migration 0004
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    lang: Mapped[str | None] = mapped_column(Text)
    encoding: Mapped[str | None] = mapped_column(Text)
    links: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # migration 0005: the flagger's findings on the current text, and what it assessed
    findings: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    assessed: Mapped[str | None] = mapped_column(Text)  # "<content_hash> <rules version>"


class PageSnapshot(Base):
    """The raw HTML of a page as fetched when its text changed: the evidence behind a flag."""

    __tablename__ = "page_snapshots"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id"), index=True)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    encoding: Mapped[str | None] = mapped_column(Text)
    html_gzip: Mapped[bytes] = mapped_column(LargeBinary)
    html_bytes: Mapped[int] = mapped_column(Integer)


class Flag(Base):
    """One rule's finding about one clinic: opened, escalated, resolved, with its evidence."""

    __tablename__ = "flags"
    __table_args__ = (UniqueConstraint("clinic_id", "rule_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    rule_id: Mapped[str] = mapped_column(String(100))
    rule_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    evidence: Mapped[Any] = mapped_column(JSONDocument)
    page_id: Mapped[int | None] = mapped_column(BigId)  # migration 0005: the page it was found on
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Event(Base):
    """The append-only spine: what happened, to which record, in commit order of `id`."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_subject", "subject_type", "subject_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(64), index=True)
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int | None] = mapped_column(BigId)
    subject_key: Mapped[str] = mapped_column(Text)
    summary: Mapped[Any] = mapped_column(JSONDocument)


class Delivery(Base):
    """One send of one digest on one channel, covering events first_event_id..last_event_id."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(100), index=True)
    first_event_id: Mapped[int] = mapped_column(BigId)
    last_event_id: Mapped[int] = mapped_column(BigId)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    message_id: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)


class RobotsTxt(Base):
    """A host's robots.txt as last read, so that crawls within a day do not ask for it again
    (RFC 9309 2.4 allows a cached copy for up to 24 hours). Only answers that decide something
    are kept: a 2xx body, or an empty body for a 4xx (no robots.txt: everything allowed); a 5xx,
    429 or network error is asked again by the next crawl."""

    __tablename__ = "robots_txt"

    netloc: Mapped[str] = mapped_column(String(300), primary_key=True)  # host[:port], as crawled
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class CrawlRun(Base):
    """One run of one source (a spider, or a file import): when, outcome, and counts."""

    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(200), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))
    records_seen: Mapped[int] = mapped_column(Integer, default=0)
    records_new: Mapped[int] = mapped_column(Integer, default=0)
    records_changed: Mapped[int] = mapped_column(Integer, default=0)
    records_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    requests: Mapped[int] = mapped_column(Integer, server_default="0")  # migration 0002
    errors: Mapped[int] = mapped_column(Integer, server_default="0")
    attempt: Mapped[int] = mapped_column(Integer, server_default="1")
    stats: Mapped[Any] = mapped_column(JSONDocument, nullable=True)  # migration 0004
    runner: Mapped[str | None] = mapped_column(String(200), nullable=True)  # migration 0006
