"""What spiders yield: typed items, one dataclass per kind of thing seen."""

from __future__ import annotations

from dataclasses import dataclass

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
