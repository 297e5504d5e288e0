"""What spiders yield: typed items, one dataclass per kind of thing seen."""

from __future__ import annotations

from dataclasses import dataclass

from crawler.extract.alert_page import AlertPage
from crawler.extract.feed import FeedEntry
from crawler.extract.letter_page import LetterPage
from crawler.normalize.letters import ListingRow


@dataclass(frozen=True)
class ListingItem:
    """The rows of one page of FDA's warning-letter listing, each with its letter's slug.

    One item per page, not per row: every item costs Scrapy a pass through its item machinery."""

    rows: tuple[tuple[str, ListingRow], ...]


@dataclass(frozen=True)
class LetterPageItem:
    """A letter's own page, extracted."""

    page: LetterPage


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
