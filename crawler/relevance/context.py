"""Judge one match in its context: a use of the term, a negated one, or an unrelated one.

The cues are data (lexicon.toml, [negation] and [[unrelated]]); this module only reads small
windows of text around a match, so its cost is per match, not per byte.

* URL: a match inside a URL or an e-mail address is not a use ("...notification-exosome-products").
* Negation prefix / suffix, attached to the match: "non-exosomal", "exosome-free".
* Negation window (NegEx style): a cue within `window_tokens` words before the match, in the same
  sentence, with no terminator ("but", "however", ...) between them, and not part of a
  pseudo-negation ("no FDA-approved exosome products" asserts the products exist).
* Unrelated context: a cue within a few words before or after the match in the same clause
  ("apple stem cell", "stem cell extract", "RNA exosome", "the definition of HCT/Ps").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from crawler.relevance.lexicon import Cue, Lexicon, cue_words

_LOOKAROUND = 240  # characters of context read on each side; more than any window needs
_SENTENCE_END = re.compile(r"[.!?;:](?=\s)|\n")
_CLAUSE_END = re.compile(r"[.!?;:](?=\s)|[\n,()\[\]{}\"“”]")


class Verdict(StrEnum):
    USE = "use"
    NEGATED = "negated"
    UNRELATED = "unrelated"


@dataclass(frozen=True, slots=True)
class Judgement:
    verdict: Verdict
    reason: str = ""  # e.g. "negation 'not'", "unrelated plant_source 'apple'", "url"


_USE = Judgement(Verdict.USE)


def _last_boundary(pattern: re.Pattern[str], text: str) -> int:
    end = 0
    for found in pattern.finditer(text):
        end = found.end()
    return end


def _occurs(cue: Cue, words: tuple[str, ...] | list[str]) -> bool:
    size = len(cue)
    return any(tuple(words[i : i + size]) == cue for i in range(len(words) - size + 1))


def _negation_cue(words: tuple[str, ...], lexicon: Lexicon) -> str | None:
    negation = lexicon.negation
    for index in range(len(words) - 1, -1, -1):  # words after the last terminator only
        if words[index] in negation.terminators:
            words = words[index + 1 :]
            break
    blocked = [False] * len(words)
    for pseudo in negation.pseudo:
        size = len(pseudo)
        for i in range(len(words) - size + 1):
            if words[i : i + size] == pseudo:
                blocked[i : i + size] = [True] * size
    first = max(0, len(words) - negation.window_tokens)
    for cue in negation.before:
        size = len(cue)
        for i in range(first, len(words) - size + 1):
            if words[i : i + size] == cue and not any(blocked[i : i + size]):
                return " ".join(cue)
    return None


def _in_url(text: str, start: int, end: int) -> bool:
    head = text[max(0, start - _LOOKAROUND) : start]
    rest = text[end : end + _LOOKAROUND]
    token = (
        ("" if not head or head[-1].isspace() else head.split()[-1])
        + text[start:end]
        + ("" if not rest or rest[0].isspace() else rest.split()[0])
    ).casefold()
    return "://" in token or token.startswith("www.") or "@" in token


def judge(text: str, start: int, end: int, tag: str, lexicon: Lexicon) -> Judgement:
    """Whether the match text[start:end] of `tag` is a use of the term, negated, or unrelated."""
    if _in_url(text, start, end):
        return Judgement(Verdict.UNRELATED, "url")
    negation = lexicon.negation
    before = text[max(0, start - _LOOKAROUND) : start]
    after = text[end : end + _LOOKAROUND]

    attached = before.casefold()
    for prefix in negation.prefixes:
        for joiner in ("-", " ", "\u2010", "\u2011"):
            head = attached[: -len(prefix) - 1]
            if attached.endswith(prefix + joiner) and not head[-1:].isalnum():
                return Judgement(Verdict.NEGATED, f"negation prefix {prefix!r}")
    following = after.casefold()
    for suffix in negation.suffixes:
        tail = following[len(suffix) + 1 : len(suffix) + 2]
        if following[:1] in "-\u2010\u2011" and following[1:].startswith(suffix) and not tail.isalnum():
            return Judgement(Verdict.NEGATED, f"negation suffix {suffix!r}")

    sentence = before[_last_boundary(_SENTENCE_END, before) :]
    cue = _negation_cue(cue_words(sentence), lexicon)
    if cue is not None:
        return Judgement(Verdict.NEGATED, f"negation {cue!r}")

    clause_before: tuple[str, ...] | None = None
    clause_after: tuple[str, ...] | None = None
    for context in lexicon.unrelated:
        if tag not in context.tags:
            continue
        if context.before and context.window_before:
            if clause_before is None:
                clause_before = cue_words(before[_last_boundary(_CLAUSE_END, before) :])
            window = clause_before[-context.window_before :]
            for cue in context.before:
                if _occurs(cue, window):
                    return Judgement(Verdict.UNRELATED, f"unrelated {context.name} {' '.join(cue)!r}")
        if context.after and context.window_after:
            if clause_after is None:
                stop = _CLAUSE_END.search(after)
                clause_after = cue_words(after[: stop.start() if stop else len(after)])
            window = clause_after[: context.window_after]
            for cue in context.after:
                if _occurs(cue, window):
                    return Judgement(Verdict.UNRELATED, f"unrelated {context.name} {' '.join(cue)!r}")
    return _USE
