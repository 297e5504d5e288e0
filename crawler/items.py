"""What spiders yield: typed items, one dataclass per kind of thing seen."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: importing an item does not import every extractor
    from crawler.extract.alert_page import AlertPage
    from crawler.extract.clinic_page import ClinicPage
    from crawler.extract.feed import FeedEntry
    from crawler.extract.letter_page import LetterPage
    from crawler.extract.listings import ListingEntry
    from crawler.relevance.tagger import Tag
    from db.records import HtmlSnapshot


@dataclass(frozen=True)
class LetterPageItem:
    """A letter's own page, extracted, with the relevance tags and product names of its text.
    (Kept by the spider for its store pipeline, not yielded: see crawler.spiders.fda_warning_letters.)"""

    page: LetterPage
    tags: tuple[Tag, ...]
    product_names: tuple[str, ...]


@dataclass(frozen=True)
class NoticeFeedItem:
    """The entries of one feed (canonical feed URL), one item per feed."""

    feed: str
    entries: tuple[FeedEntry, ...]


@dataclass(frozen=True)
class NoticeIndexItem:
    """The alert pages an index page links to: (canonical URL, link text)."""

    index: str
    links: tuple[tuple[str, str | None], ...]


@dataclass(frozen=True)
class NoticePageItem:
    """A notice's own page, extracted."""

    page: AlertPage


@dataclass(frozen=True)
class ListingEntriesItem:
    """The clinic entries of one listing page (or one list file)."""

    source: str
    entries: tuple[ListingEntry, ...]
    country: str | None = None  # the source's country for entries that do not say


@dataclass(frozen=True)
class ClinicPageItem:
    """A clinic page as fetched and extracted, with what is needed to ask for it again."""

    clinic_key: str
    page: ClinicPage
    html: HtmlSnapshot  # the raw HTML, compressed where the page was parsed
    etag: str | None
    last_modified: str | None
    links: tuple[tuple[str, str], ...] | None  # the treatment links it led to; None: not read


@dataclass(frozen=True)
class PageCheckedItem:
    """A stored page asked for again and answered 304 Not Modified."""

    url: str


@dataclass(frozen=True)
class ClinicSelfItem:
    """What a clinic's own home page says of it (schema.org): fills what the listings left out."""

    clinic_key: str
    entry: ListingEntry
