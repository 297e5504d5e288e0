"""What spiders yield: typed items, one dataclass per kind of thing seen."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: importing an item does not import every extractor
    from crawler.extract.alert_page import AlertPage
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
