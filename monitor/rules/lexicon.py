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
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple

import ahocorasick
import ahocorasick_rs

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


_by_start = itemgetter(2)  # Hit.start: itemgetter is the cheaper key on a named tuple
_by_end = itemgetter(3)  # Hit.end


@dataclass(frozen=True, slots=True)
class _Form:
    category: str
    phrase: str
    prefix: bool  # a word prefix ("inject*")


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
                    entry = _Form(category, phrase, phrase.endswith("*"))
                    if entry not in forms.setdefault(key, []):
                        forms[key].append(entry)
        keys = sorted(forms)
        # The full pass: ahocorasick_rs hands back every match at once from Rust (no Python step per
        # automaton state), about twice pyahocorasick's iteration here. Match i is keys[i].
        self._matcher = ahocorasick_rs.AhoCorasick(keys, matchkind=ahocorasick_rs.MatchKind.Standard)
        self._categories = tuple(sorted({e.category for entries in forms.values() for e in entries}))
        slots = {category: slot for slot, category in enumerate(self._categories)}
        # Per automaton key: whether it matches anywhere (its script has no spaces between words;
        # the same for all of a key's forms), and its forms as (slot, category, phrase, prefix).
        self._keys = [
            (
                not _word_script(key),
                tuple((slots[e.category], e.category, e.phrase, e.prefix) for e in forms[key]),
            )
            for key in keys
        ]
        # The first look for a product stops at the first candidate (pyahocorasick's lazy iterator).
        products = ahocorasick.Automaton()
        for key in keys:
            if any(entry.category in PRODUCT_CATEGORIES for entry in forms[key]):
                products.add_word(key, len(key))
        products.make_automaton()
        self._products = products

    def may_name_a_product(self, lowered: str) -> bool:
        """A cheap first look (C speed, stops at the first candidate): can the lower-cased text
        name an exosome product at all? Most pages cannot, and skip the full pass."""
        return next(self._products.iter(lowered), None) is not None

    def find(self, text: str, lowered: str | None = None) -> list[Hit]:
        """Every hit in `text`, by start (the longest first); offsets are the text's own.
        `lowered`: lower_text(text)."""
        hits = [hit for found in self.find_by_category(text, lowered).values() for hit in found]
        hits.sort(key=_by_end, reverse=True)  # two stable C-level sorts, no Python key function
        hits.sort(key=_by_start)
        return hits

    def find_by_category(self, text: str, lowered: str | None = None) -> dict[str, list[Hit]]:
        """Every hit in `text`, grouped by category, each group by start (the longest first)."""
        if lowered is None:
            lowered = lower_text(text)
        size = len(lowered)
        # The hot loop of the flagger (a hit costs about a microsecond here): one list per category,
        # hits built with tuple.__new__ (no Python frame), boundaries tested only where they count.
        lists: list[list[Hit]] = [[] for _ in self._categories]
        appends = [found.append for found in lists]
        new, word_rest, keys = tuple.__new__, _word_rest, self._keys
        for index, start, end in self._matcher.find_matches_as_indexes(lowered, overlapping=True):
            anywhere, forms = keys[index]
            if anywhere:
                for slot, category, phrase, _ in forms:
                    appends[slot](new(Hit, (category, phrase, start, end)))
                continue
            if start and lowered[start - 1].isalnum():
                continue  # inside a word
            if end < size and lowered[end].isalnum():  # only a prefix may go on: to its word's end
                for slot, category, phrase, prefix in forms:
                    if prefix:
                        appends[slot](new(Hit, (category, phrase, start, word_rest(lowered, end).end())))
                continue
            for slot, category, phrase, _ in forms:
                appends[slot](new(Hit, (category, phrase, start, end)))
        grouped = {self._categories[slot]: found for slot, found in enumerate(lists) if found}
        for found in grouped.values():  # matches come by end: nearly sorted already
            if len(found) > 1:
                found.sort(key=_by_end, reverse=True)
                found.sort(key=_by_start)
        return grouped


def lower_text(text: str) -> str:
    """`text` lower-cased with the same length (one character, İ, grows when lowered:
    it is lowered to its first), so offsets in it are offsets in `text`."""
    # U+0130 (Turkish dotted capital I) is the only character whose lower case is two characters
    return text.replace("\u0130", "i").lower() if "\u0130" in text else text.lower()


def _word_script(text: str) -> bool:
    """Whether a phrase is written in a script with spaces between words (Latin, Greek, Cyrillic);
    signs ("$", "€") are matched anywhere too, and so are Hebrew and Arabic-script phrases, whose
    articles and prepositions join the word ("بالإكسوزوم": with the exosome)."""
    return any(c.isalnum() for c in text) and all(ord(c) < 0x0590 for c in text)


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
