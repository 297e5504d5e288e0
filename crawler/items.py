"""What spiders yield: typed items, one dataclass per kind of thing seen."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: importing an item does not import every extractor
    from crawler.extract.alert_page import AlertPage
    from crawler.extract.clinic_page import ClinicPage
    from crawler.extract.feed import FeedEntry
    from crawler.extract.letter_page import LetterPage
    from crawler.extract.listings import ListingEntry
    from crawler.normalize.letters import ListingRow
    from crawler.relevance.tagger import Tag


@dataclass(frozen=True)
class ListedLetterItem:
    """One letter as FDA's listing shows it (the first row the crawl saw of it)."""

    slug: str
    row: ListingRow


@dataclass(frozen=True)
class LetterPageItem:
    """A letter's own page, extracted. `asked`: the letter the request was for (a redirect can
    lead to another's page). The relevance tags and product names of its text are added by
    crawler.pipelines.letter_tags."""

    asked: str
    page: LetterPage
    tags: tuple[Tag, ...] = ()
    product_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class LetterPageFailedItem:
    """A letter page that could not be had or read: that letter's page error, not the crawl's."""

    slug: str
    reason: str


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
    """A page of a clinic's own site, extracted, with its HTML (for the snapshot) and the treatment
    links the spider chose to follow (None at the depth limit: its links were not read). In a feed
    export (`scrapy crawl clinic_sites -O pages.jsonl`) the HTML is base64: it is bytes, in the
    page's own encoding."""

    clinic_key: str
    site_domain: str  # the clinic's registrable domain: what its home page may say of itself
    page: ClinicPage
    html: bytes = field(metadata={"serializer": lambda raw: base64.b64encode(raw).decode("ascii")})
    etag: str | None = None
    last_modified: str | None = None
    links: tuple[tuple[str, str], ...] | None = None
    home: bool = False


@dataclass(frozen=True)
class PageCheckedItem:
    """A stored page asked for again and answered 304 Not Modified: only its check time moves."""

    url: str
