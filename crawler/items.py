"""What spiders yield: typed items, one dataclass per kind of thing seen."""

from __future__ import annotations

from dataclasses import dataclass

from crawler.extract.letter_page import LetterPage
from crawler.normalize.letters import ListingRow


@dataclass(frozen=True)
class ListingItem:
    """A row of FDA's warning-letter listing, with the letter's slug."""

    slug: str
    row: ListingRow


@dataclass(frozen=True)
class LetterPageItem:
    """A letter's own page, extracted."""

    page: LetterPage
