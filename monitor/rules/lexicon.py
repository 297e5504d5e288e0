"""Load monitor/rules/lexicon.toml into one Aho-Corasick automaton, and find its phrases in a text.

Matching is case-insensitive (`str.lower`, which keeps offsets: evidence points into the page's
own text), whole words for Latin-script phrases, anywhere for scripts written without spaces; a
trailing "*" makes a phrase a word prefix; a phrase with a space matches with a hyphen too.
Each group needs a category, phrases and a source; anything else is an error naming the group.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import NamedTuple

import ahocorasick

LEXICON_PATH = Path(__file__).with_name("lexicon.toml")
CATEGORIES = frozenset(
    {
        "exosome", "brand", "route", "condition", "reassurance", "disclaimer", "cosmetic", "offer", "price",
        "supplier", "broker", "directory", "refusal", "news", "research", "diagnostics", "job",
        "regulator", "sceptical", "forum", "plant", "not_human", "implied", "asked",
    }
)  # fmt: skip


_word_rest = re.compile(r"[^\W_]*").match


PRODUCT_CATEGORIES = frozenset({"exosome", "brand"})


class LexiconError(ValueError):
    """The lexicon file is wrong; the message names the group."""


class Hit(NamedTuple):
    """One phrase found: a tuple, because a page has hundreds and a dataclass costs twice as much."""

    category: str
    phrase: str
    start: int
    end: int


# How a form is matched, in the order find() tests them.
_ANYWHERE, _PREFIX, _WORD = 0, 1, 2
_by_start = attrgetter("start")
_by_end = attrgetter("end")


@dataclass(frozen=True, slots=True)
class _Form:
    category: str
    phrase: str
    prefix: bool  # a word prefix ("inject*")
    spaced: bool  # matched anywhere (no word boundaries in its script)


class Lexicon:
    def __init__(self, groups: list[dict], version: int) -> None:
        self.version = version
        self.phrases: dict[str, list[str]] = {}
        forms: dict[str, list[_Form]] = {}
        for index, group in enumerate(groups):
            category = group.get("category")
            if category not in CATEGORIES:
                raise LexiconError(f"group {index + 1}: unknown category {category!r}")
            if not group.get("source"):
                raise LexiconError(f"group {index + 1} ({category}): no source")
            unknown = set(group) - {"category", "phrases", "source", "note"}
            if unknown:
                raise LexiconError(f"group {index + 1} ({category}): unknown keys {sorted(unknown)}")
            for phrase in group.get("phrases", []):
                if not isinstance(phrase, str) or not phrase.strip("* "):
                    raise LexiconError(f"group {index + 1} ({category}): bad phrase {phrase!r}")
                self.phrases.setdefault(category, []).append(phrase)
                base = phrase.rstrip("*").lower()
                for key in {base, base.replace(" ", "-")}:
                    entry = _Form(category, phrase, phrase.endswith("*"), not _word_script(key))
                    if entry not in forms.setdefault(key, []):
                        forms[key].append(entry)
        automaton = ahocorasick.Automaton()
        products = ahocorasick.Automaton()
        for key, entries in forms.items():
            matches = tuple(
                (e.category, e.phrase, _ANYWHERE if e.spaced else _PREFIX if e.prefix else _WORD)
                for e in entries
            )
            automaton.add_word(key, (len(key), matches))
            if any(entry.category in PRODUCT_CATEGORIES for entry in entries):
                products.add_word(key, len(key))
        automaton.make_automaton()
        products.make_automaton()
        self._automaton = automaton
        self._products = products

    def may_name_a_product(self, lowered: str) -> bool:
        """A cheap first look (C speed, stops at the first candidate): can the lower-cased text
        name an exosome product at all? Most pages cannot, and skip the full pass."""
        return next(self._products.iter(lowered), None) is not None

    def find(self, text: str, lowered: str | None = None) -> list[Hit]:
        """Every hit in `text`, in order; offsets are the text's own. `lowered`: lower_text(text)."""
        if lowered is None:
            lowered = lower_text(text)
        size = len(lowered)
        hits: list[Hit] = []
        add = hits.append
        word_rest = _word_rest
        for last, (length, forms) in self._automaton.iter(lowered):
            start, end = last - length + 1, last + 1
            before_word = start > 0 and lowered[start - 1].isalnum()
            after_word = end < size and lowered[end].isalnum()
            for category, phrase, how in forms:
                if how == _ANYWHERE:
                    add(Hit(category, phrase, start, end))
                elif before_word:
                    continue
                elif how == _PREFIX:  # extend to the end of the word
                    add(Hit(category, phrase, start, word_rest(lowered, end).end() if after_word else end))
                elif not after_word:
                    add(Hit(category, phrase, start, end))
        # by start, the longest first: two stable C-level sorts instead of a Python key function
        hits.sort(key=_by_end, reverse=True)
        hits.sort(key=_by_start)
        return hits


def lower_text(text: str) -> str:
    """`text` lower-cased with the same length (one character, İ, grows when lowered:
    it is lowered to its first), so offsets in it are offsets in `text`."""
    # U+0130 (Turkish dotted capital I) is the only character whose lower case is two characters
    return text.replace("\u0130", "i").lower() if "\u0130" in text else text.lower()


def _word_script(text: str) -> bool:
    """Whether a phrase is written in a script with spaces between words (Latin, Greek, Cyrillic);
    signs ("$", "€") are matched anywhere too."""
    return any(c.isalnum() for c in text) and all(ord(c) < 0x0900 for c in text)


@functools.lru_cache(maxsize=4)
def load_lexicon(path: str | None = None) -> Lexicon:
    file = Path(path) if path else LEXICON_PATH
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LexiconError(f"{file}: {exc}") from None
    version = data.get("lexicon", {}).get("version")
    if not isinstance(version, int):
        raise LexiconError(f"{file}: [lexicon] version must be an integer")
    return Lexicon(data.get("group", []), version)
