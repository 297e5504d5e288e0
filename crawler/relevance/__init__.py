"""Relevance of a text to exowatch: tags (exosome, stem_cell, hct_p, regenerative, ...) with the
phrases that triggered them, and the product names the text names.

The vocabulary is data (lexicon.toml, each entry with its source); the code is split by job:

    normalize.py  fold a text for matching, keep the map back to original offsets
    lexicon.py    load and validate lexicon.toml once (LexiconError names the bad entry)
    matcher.py    one Aho-Corasick automaton over every phrase, built once; whole words only
    context.py    negation and unrelated-use rules around one match
    tagger.py     tag_text(): matches + verdicts -> Tag records
    products.py   product_names(): trademark-marked and listed product names

Usage::

    from crawler.relevance import assess
    result = assess(letter_text)
    result.tag_names        # ("exosome", "stem_cell", "amniotic", "regenerative")
    result.tags[0].phrases  # ("exosome",)
    result.products         # ("XoGlo", "XoGlo Pro", "Amnio2X")
"""

from __future__ import annotations

from dataclasses import dataclass

from crawler.relevance.context import Judgement, Verdict
from crawler.relevance.lexicon import Lexicon, LexiconError, load_lexicon
from crawler.relevance.matcher import Match, get_matcher
from crawler.relevance.products import product_names
from crawler.relevance.tagger import JudgedMatch, Tag, explain, tag_text

__all__ = [
    "JudgedMatch",
    "Judgement",
    "Lexicon",
    "LexiconError",
    "Match",
    "Relevance",
    "Tag",
    "Verdict",
    "assess",
    "explain",
    "get_matcher",
    "load_lexicon",
    "product_names",
    "tag_text",
]


@dataclass(frozen=True, slots=True)
class Relevance:
    """The relevance of one text: its tags and the product names it names."""

    tags: tuple[Tag, ...]
    products: tuple[str, ...]

    @property
    def tag_names(self) -> tuple[str, ...]:
        return tuple(tag.tag for tag in self.tags)


def assess(text: str) -> Relevance:
    """Tags and product names of `text` (a letter body, a notice, a page's extracted text)."""
    return Relevance(tag_text(text), product_names(text))
