"""The product names a letter names, in order of first appearance, deduplicated.

These names are published next to a real business, so extraction is deliberately narrow and
only takes names the text itself marks as names:

1. Trademark-marked names: 1 to `max_words` capitalised words right before ®, ™, ℠, (R) or (TM)
   ("XoGlo®", "Invitra WJ™"). FDA pages flattened to text often glue a superscript TM to the
   name ("Invitra CBSCTM"); a glued "TM" counts only after a mixed-case word ("XoGloTM") or after
   an all-capitals word of two or more characters that follows another name word ("Invitra
   CBSCTM"), so "ATM" is never a product. A capitalised word glued after the sign continues the
   name ("XoGlo®Pro" is "XoGlo Pro"), and so does a product-line word after the sign and a space
   ("XoGlo® Pro"); a name in capitals marked part by part ("CELSIUS® ASTRO VIBE™") is one name.
2. Names listed right after a lowercase "product(s)" and a cue from lexicon.toml ("exosome
   products, XoGlo and XoGlo Pro"; "product, “Exo Glow”"), on one line. Every item must end
   the list cleanly (punctuation, a bracket, or ", and" + something that is not a name): a
   capitalised word followed by running text ("products, Kimera Labs would ...") is a sentence,
   not a name, and is dropped.

Words in `not_names` (articles, pronouns, agency words) never belong to a name, a
possessive ("Kimera's XoGlo®") ends the name before it, and a marked name right after "dba" or
right before a legal form ("Kimera Labs®, Inc.") is a company, not a product. Names are compared
case-insensitively for deduplication ("Amnio2X®" then "Amnio2x®" is one product, shown as first
written).
"""

from __future__ import annotations

import functools
import re

from crawler.relevance.lexicon import ProductRules, load_lexicon
from crawler.relevance.normalize import straighten

_SIGN = "®™℠"
_MARK = re.compile(rf"[{_SIGN}]|\((?:R|TM)\)|(?<=[A-Za-z0-9])TM(?![A-Za-z0-9])")
_WORD = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9+&'’]|-(?=[A-Za-z0-9]))*")
_SUFFIX = re.compile(r"[A-Z][A-Za-z0-9]*(?![A-Za-z0-9])")
_QUOTES = {"“": "”", '"': '"', "‘": "’"}
_SENTENCE_PUNCTUATION = frozenset(".,;:!?")
_WORD_ENDS = frozenset(("", " ", ".", ",", ";", ")", "\n"))
_OPENERS = "([{“‘\"'/"
_LOOKBACK = 200
#: Product-line words that continue a name after its sign and a space ("XoGlo® Pro", "Genova® Plus").
_LINE_WORDS = frozenset({"Pro", "Plus", "Max", "Ultra", "Lite", "Light", "MD", "XL", "XR", "Forte", "Extra"})


def _possessive(word: str) -> bool:
    return straighten(word).endswith("'s")


def _namelike(word: str, rules: ProductRules) -> bool:
    return (
        bool(_WORD.fullmatch(word))
        and (word[0].isupper() or word[0].isdigit())
        and (straighten(word) not in rules.not_names)
    )


def _has_letter(name: str) -> bool:
    return any(char.isalpha() for char in name)


def _company(text: str, start: int, end: int, rules: ProductRules) -> bool:
    """Whether the marked name at [start, end) is a company: after "dba", or before ", Inc."."""
    before = " ".join(text[max(0, start - 40) : start].casefold().split())
    if any(before.endswith(" " + marker) or before == marker for marker in rules.company_before):
        return True
    after = text[end : end + 40].casefold().lstrip(" ,")
    return any(
        after.startswith(marker) and after[len(marker) : len(marker) + 1] in _WORD_ENDS
        for marker in rules.company_after
    )


def _mark_end(text: str, position: int) -> int:
    """Past an optional trademark sign at `position` (and a word glued after a sign)."""
    mark = _MARK.match(text, position)
    if mark is None:
        return position
    end = mark.end()
    if mark.group() in _SIGN:
        glued = _SUFFIX.match(text, end)
        if glued is not None:
            end = glued.end()
    return end


_LINE_WORD = re.compile(r" ([A-Z][A-Za-z]{1,5})(?![A-Za-z0-9])")


def _line_word(text: str, position: int) -> re.Match[str] | None:
    """A product-line word right after a sign and one space ("XoGlo® Pro"), else None."""
    match = _LINE_WORD.match(text, position)
    return match if match is not None and match.group(1) in _LINE_WORDS else None


def _occurrences(text: str, needle: str) -> list[int]:
    found = []
    position = text.find(needle)
    while position >= 0:
        found.append(position)
        position = text.find(needle, position + 1)
    return found


def _marks(text: str) -> list[re.Match[str]]:
    """Every trademark sign in `text`, in order. str.find locates candidates at C speed (a regex
    scan of the whole text was the slowest step); the regex only confirms each one."""
    candidates: list[int] = []
    for needle in (*_SIGN, "(R)", "(TM)", "TM"):
        if needle in text:
            candidates.extend(_occurrences(text, needle))
    marks = []
    for position in sorted(set(candidates)):
        mark = _MARK.match(text, position)
        if mark is not None and (not marks or position >= marks[-1].end()):
            marks.append(mark)
    return marks


def _marked(text: str, rules: ProductRules) -> list[tuple[int, int, str]]:
    """(start, end, name) of every trademark-marked name."""
    found: list[tuple[int, int, str]] = []
    for mark in _marks(text):
        head = text[max(0, mark.start() - _LOOKBACK) : mark.start()]
        head = head[head.rfind("\n") + 1 :].replace("\xa0", " ")  # same length: offsets hold
        words: list[str] = []
        for word in reversed(head.split(" ")):
            opened = word.lstrip(_OPENERS)  # "(XoGlo®", "“XoGlo®": the name starts after the bracket
            if len(words) == rules.max_words or not _namelike(opened, rules) or _possessive(opened):
                break
            words.append(opened)
            if opened != word:
                break
        if not words:
            continue
        words.reverse()
        start = mark.start() - len(" ".join(words))
        sign = mark.group()
        if sign == "TM":  # a flattened superscript glued to the last word
            base = words[-1]
            mixed = any(char.islower() for char in base)
            if len(base) < 2 or (not mixed and len(words) < 2):
                continue
        end = mark.end()
        if sign in _SIGN:
            glued = _SUFFIX.match(text, end) or _line_word(text, end)
            if glued is not None:
                words.append(glued.group().strip())
                end = glued.end()
        if (
            found
            and found[-1][1] + 1 == start
            and text[start - 1] == " "
            and found[-1][2].isupper()
            and (" ".join(words).isupper())
        ):
            # "CELSIUS® ASTRO VIBE™": a name set in capitals, marked part by part, is one name;
            # mixed-case neighbours ("Exo Labs® Co-Pilot®") stay two
            start, _, before = found.pop()
            words.insert(0, before)
        name = " ".join(words)
        if _has_letter(name) and not _company(text, start, end, rules):
            found.append((start, end, name))
    return found


def _item(text: str, position: int, rules: ProductRules) -> tuple[int, str] | None:
    """One list item at `position`: (end, name), the end past any trademark sign; or None."""
    opening = text[position : position + 1]
    if opening in _QUOTES:
        closing = text.find(_QUOTES[opening], position + 1, position + 80)
        if closing < 0:
            return None
        inner = text[position + 1 : closing]
        words = inner.split(" ")
        if (
            "\n" in inner
            or not 1 <= len(words) <= rules.max_words
            or not _namelike(words[0], rules)
            or any(not _WORD.fullmatch(word) for word in words)
            or _SENTENCE_PUNCTUATION.intersection(inner)
        ):
            return None
        return _mark_end(text, closing + 1), inner
    words: list[str] = []
    end = position
    while True:
        word = _WORD.match(text, end + (1 if words else 0))
        if word is None or not _namelike(word.group(), rules):
            break
        if len(words) == rules.max_words:
            return None  # a longer run of capitalised words is a title or a sentence
        words.append(word.group())
        end = word.end()
        if text[end : end + 1] not in (" ", "\xa0"):
            break
    if not words or _possessive(words[-1]) or not _has_letter(" ".join(words)):
        return None
    return _mark_end(text, end), " ".join(words)


@functools.cache
def _cue_pattern(cues: tuple[str, ...]) -> re.Pattern[str]:
    words = "|".join(re.escape(cue) for cue in sorted(cues, key=len, reverse=True) if cue[0].isalpha())
    marks = "".join(re.escape(cue) for cue in cues if not cue[0].isalpha())
    return re.compile(
        rf"products?(?:[{marks}](?: (?:{words}))?| (?:{words})) +" if marks else rf"products? (?:{words}) +"
    )


def _listed(text: str, rules: ProductRules) -> list[tuple[int, int, str]]:
    """(start, end, name) of names listed after "product(s)" and a cue."""
    found: list[tuple[int, int, str]] = []
    pattern = _cue_pattern(rules.cues)
    for candidate in _occurrences(text, "product"):
        cue = pattern.match(text, candidate)
        if cue is None or (candidate and text[candidate - 1].isalpha()):
            continue
        position = cue.end()
        items: list[tuple[int, int, str]] = []
        while True:
            item = _item(text, position, rules)
            if item is None:
                break
            end, name = item
            rest = text[end : end + 8]
            separator = next(
                (s for s in (", and ", ", or ", ", ", " and ", " or ") if rest.startswith(s)), None
            )
            if separator is not None and _item(text, end + len(separator), rules) is not None:
                items.append((position, end, name))
                position = end + len(separator)
                continue
            if separator is None and rest[:1] == " " and rest[1:2].islower():
                break  # running text: a sentence, not a name
            if separator is not None and "," not in separator:
                break  # "X and its ...": a sentence
            items.append((position, end, name))
            break
        found.extend(items)
    return found


def product_names(text: str) -> tuple[str, ...]:
    """The product names `text` names, deduplicated case-insensitively, in order of first appearance."""
    rules = load_lexicon().products
    marked = _marked(text, rules)
    spans = [(start, end) for start, end, _ in marked]
    candidates = list(marked)
    for start, end, name in _listed(text, rules):
        if not any(start < other_end and other_start < end for other_start, other_end in spans):
            candidates.append((start, end, name))
    candidates.sort(key=lambda item: item[0])
    names: dict[str, str] = {}
    for _, _, name in candidates:
        names.setdefault(straighten(name).casefold(), name)
    return tuple(names.values())
