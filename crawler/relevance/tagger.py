"""Relevance tags for a text, each with the phrases that triggered it and where they stand.

A tag is applied when at least one of its matches is a use of the term (context.judge): never on a
text whose only mentions are negated ("does not contain exosomes") or unrelated ("apple stem
cell extract"). An abbreviation in brackets right after a match of the same tag shares that match's
verdict: in "the definition of human cells, tissues, ... products (HCT/Ps)" both are a citation.
A tag's `implies` (lexicon.toml) adds a roll-up tag such as `regenerative`, which then carries the
phrases of the tags that implied it.
"""

from __future__ import annotations

from dataclasses import dataclass

from crawler.relevance.context import Judgement, Verdict, judge
from crawler.relevance.matcher import Match, get_matcher
from crawler.relevance.normalize import display


@dataclass(frozen=True, slots=True)
class Tag:
    """One relevance tag of a text.

    `phrases` are the distinct phrases that triggered it, as they appear in the text (first
    appearance, whitespace collapsed), in order of appearance; `evidence[i]` is the (start, end)
    offset of the first accepted occurrence of `phrases[i]` in the text. `implied_by` names the
    tags that implied this one (empty when it was matched directly only).
    """

    tag: str
    phrases: tuple[str, ...]
    evidence: tuple[tuple[int, int], ...]
    implied_by: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class JudgedMatch:
    """A match with its verdict: what `tag_text` decided about one occurrence, for review."""

    match: Match
    text: str  # as it appears, whitespace collapsed
    judgement: Judgement


def _is_abbreviation_of(text: str, previous: Match | None, match: Match) -> bool:
    if previous is None or previous.tag != match.tag:
        return False
    return text[previous.end : match.start].strip() == "(" and text[match.end : match.end + 1] == ")"


def _judge_all(text: str, *, stop_early: bool) -> list[JudgedMatch]:
    """Judge matches in order. With stop_early, a phrase already accepted is not judged again."""
    matcher = get_matcher()
    lexicon = matcher.lexicon
    judged: list[JudgedMatch] = []
    accepted: set[tuple[str, str]] = set()
    previous: dict[str, tuple[Match, Judgement | None]] = {}  # per tag: last match, its verdict if judged
    for match in matcher.find(text):
        surface = display(text[match.start : match.end])
        key = (match.tag, match.key)
        prior = previous.get(match.tag)
        if prior is not None and _is_abbreviation_of(text, prior[0], match):
            judgement = prior[1] or judge(text, prior[0].start, prior[0].end, match.tag, lexicon)
        elif stop_early and key in accepted:
            previous[match.tag] = (match, None)
            continue
        else:
            judgement = judge(text, match.start, match.end, match.tag, lexicon)
        previous[match.tag] = (match, judgement)
        if judgement.verdict is Verdict.USE:
            accepted.add(key)
        judged.append(JudgedMatch(match, surface, judgement))
    return judged


def explain(text: str) -> tuple[JudgedMatch, ...]:
    """Every match in `text` with its verdict and reason (for review and tests)."""
    return tuple(_judge_all(text, stop_early=False))


def tag_text(text: str) -> tuple[Tag, ...]:
    """The relevance tags of `text`, in lexicon order."""
    lexicon = get_matcher().lexicon
    first: dict[str, dict[str, tuple[str, tuple[int, int]]]] = {}  # tag -> folded phrase -> first use
    for item in _judge_all(text, stop_early=True):
        if item.judgement.verdict is not Verdict.USE:
            continue
        phrases = first.setdefault(item.match.tag, {})
        phrases.setdefault(item.match.key, (item.text, (item.match.start, item.match.end)))

    implied: dict[str, list[str]] = {}
    for spec in lexicon.tags:
        if spec.name in first:
            for target in spec.implies:
                implied.setdefault(target, []).append(spec.name)

    tags: list[Tag] = []
    for spec in lexicon.tags:
        sources = implied.get(spec.name, [])
        if spec.name not in first and not sources:
            continue
        merged: dict[str, tuple[str, tuple[int, int]]] = {}
        for name in (spec.name, *sources):
            for key, value in first.get(name, {}).items():
                if key not in merged or value[1] < merged[key][1]:
                    merged[key] = value
        ordered = sorted(merged.values(), key=lambda value: value[1])
        tags.append(
            Tag(
                spec.name,
                tuple(surface for surface, _ in ordered),
                tuple(span for _, span in ordered),
                tuple(sources),
            )
        )
    return tuple(tags)
