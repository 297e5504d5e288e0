"""Find lexicon phrases in a text: one Aho-Corasick automaton, built once, whole words only.

The automaton holds every folded phrase form (see normalize.py) and scans the folded text in one
pass; a regex alternation over the same phrases is many times slower (bench/lexicon.py). Matches
come back with offsets into the ORIGINAL text. Where two phrases of one tag overlap, the longest
leftmost wins ("mesenchymal stem cells" over "stem cells"); different tags never shadow each
other ("umbilical cord blood stem cells" is both umbilical_cord and stem_cell).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import ahocorasick

from crawler.relevance.lexicon import Lexicon, load_lexicon
from crawler.relevance.normalize import fold, fold_phrase


@dataclass(frozen=True, slots=True)
class Match:
    """One whole-word occurrence of a lexicon phrase."""

    tag: str
    phrase: str  # the entry's canonical phrase in the lexicon
    key: str  # the folded form that matched
    start: int  # offsets in the original text
    end: int


@dataclass(frozen=True, slots=True)
class _Form:
    tag: str
    phrase: str
    key: str
    exact: str | None  # for case-sensitive entries: the form with its case, folded otherwise


class Matcher:
    """An Aho-Corasick automaton over every phrase form of a lexicon."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        automaton = ahocorasick.Automaton()
        for entry in lexicon.entries:
            for form in entry.forms:
                key = fold_phrase(form)
                exact = fold_phrase(form, casefold=False) if entry.case_sensitive else None
                automaton.add_word(key, (len(key), _Form(entry.tag, entry.phrase, key, exact)))
        automaton.make_automaton()
        self._automaton = automaton

    def find(self, text: str) -> tuple[Match, ...]:
        """Every match in `text`, sorted by start offset; per tag, overlaps resolved longest-first."""
        folded = fold(text)
        haystack = folded.text
        size = len(haystack)
        found: list[tuple[int, int, _Form]] = []
        for last, (length, form) in self._automaton.iter(haystack):
            start = last - length + 1
            end = last + 1
            if start > 0 and haystack[start - 1].isalnum():
                continue
            if end < size and haystack[end].isalnum():
                continue
            found.append((start, -length, form))
        if not found:
            return ()
        found.sort(key=lambda item: (item[0], item[1]))
        reach: dict[str, int] = {}  # per tag: the end of the last kept match
        matches: list[Match] = []
        for start, negative_length, form in found:
            if start < reach.get(form.tag, 0):
                continue
            begin, end = folded.original_span(start, start - negative_length)
            if form.exact is not None and fold_phrase(text[begin:end], casefold=False) != form.exact:
                continue
            reach[form.tag] = start - negative_length
            matches.append(Match(form.tag, form.phrase, form.key, begin, end))
        return tuple(matches)


@functools.cache
def get_matcher(path: str | None = None) -> Matcher:
    """The matcher for the lexicon at `path` (default: the packaged one), built once per process."""
    return Matcher(load_lexicon(path))
