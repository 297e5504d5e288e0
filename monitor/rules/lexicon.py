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
from pathlib import Path

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


def _order(hit: Hit) -> tuple[int, int]:
    return hit.start, -hit.end


PRODUCT_CATEGORIES = frozenset({"exosome", "brand"})


class LexiconError(ValueError):
    """The lexicon file is wrong; the message names the group."""


@dataclass(frozen=True, slots=True)
class Hit:
    category: str
    phrase: str
    start: int
    end: int


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
            automaton.add_word(key, (len(key), tuple(entries)))
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
            for form in forms:
                if form.spaced:
                    add(Hit(form.category, form.phrase, start, end))
                elif before_word:
                    continue
                elif form.prefix:  # extend to the end of the word
                    add(
                        Hit(
                            form.category,
                            form.phrase,
                            start,
                            word_rest(lowered, end).end() if after_word else end,
                        )
                    )
                elif not after_word:
                    add(Hit(form.category, form.phrase, start, end))
        hits.sort(key=_order)
        return hits


def lower_text(text: str) -> str:
    """`text` lower-cased with the same length (a few characters, such as İ, grow when lowered:
    those are lowered one by one), so offsets in it are offsets in `text`."""
    lowered = text.lower()
    if len(lowered) != len(text):
        lowered = "".join(c.lower()[:1] or c for c in text)
    return lowered


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
