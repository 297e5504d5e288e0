"""Does a page offer exosome products, and how seriously? Pure functions over a page's text.

The policy (what a flag means):

* high: a provider offers exosomes by a route other than the skin's surface (injection, IV,
  infusion, intrathecal, intranasal, nebulized...), or for a disease or condition, or with a
  regulatory or safety reassurance ("FDA approved", "no side effects");
* medium: a provider offers topical or cosmetic exosome treatments (facials, serums after
  microneedling, scalp and hair), and nothing of the high kind;
* low: a weak or indirect offer: an implied service, a supplier, a medical-travel broker, a
  directory article without a provider;
* no flag: news, explainers, research and trials, regulators, diagnostics, job adverts, refusals,
  and pages that never name an exosome product. A disclaimer ("not FDA approved") cancels nothing.

How the rules read a page: every lexicon phrase is found in one Aho-Corasick pass
(monitor/rules/lexicon.py). An exosome mention is an offer when offer wording (prices, booking,
"we offer", sessions) stands near it and the page does not read as reporting, research, a job
advert or a regulator's page; routes, conditions and cosmetic words count only NEAR an exosome
mention (a clinic offering IV vitamins and an exosome facial is not offering exosome IVs).
Each finding carries its rule id and version, the phrases, and an evidence snippet with its
offsets in the page text. Rule ids are stored with flags: never rename one; bump its version
when its logic changes.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter

from monitor.rules.lexicon import Hit, load_lexicon, lower_text

#: rule id -> (version, severity)
RULES: dict[str, tuple[int, str]] = {
    "exosome_route": (1, "high"),
    "exosome_condition": (1, "high"),
    "exosome_reassurance": (2, "high"),
    "exosome_cosmetic": (1, "medium"),
    "exosome_indirect": (1, "low"),
    "fda_named_product": (1, "high"),
}
SEVERITY_ORDER = {"none": 0, "low": 1, "medium": 2, "high": 3}

NEAR = 280  # characters: "near" an exosome mention
SNIPPET = 140  # characters of context on each side of the evidence
NOT_AN_OFFER = ("news", "research", "diagnostics", "job", "regulator", "sceptical", "forum")
INDIRECT = ("supplier", "broker", "directory", "implied")
# A route, condition or reassurance with one of these just before it is denied, not claimed:
# "needle-free, no injections", "there is no FDA-approved exosome product".
_DENIED = re.compile(
    r"(?:\b(?:no|not|without|never|nor|none|zero|instead of|alternative to|rather than|isn't|aren't|"
    r"don't|doesn't|do not|does not|cannot|can't|free of|sin|senza|sem|yok|ohne|kein\w*)\b|needle[- ]free|"
    r"non[- ]invasive)[^.!?\n]{0,30}$"
)  # searched in the lower-cased text only: no re.I (measured, it nearly tripled each search)
# "serum infusion", "oxygen infusion facial": a cosmetic infusion, not an intravenous one.
_COSMETIC_INFUSION = re.compile(
    r"(?:serum|facial|skin|hydra\w*|oxygen|glow|collagen|vitamin c|peptide)\s*$"
)  # lower-cased text only, as _DENIED
NEGATION_REACH = 40  # characters before a hit where a denial counts
HEADING_CHARS = 80  # a line this short that names the product is a heading: its next line belongs to it


@dataclass(frozen=True)
class Finding:
    rule_id: str
    rule_version: int
    severity: str
    phrases: tuple[str, ...]
    snippet: str
    start: int  # offsets of the snippet in the page text
    end: int
    cites: tuple[Mapping[str, str], ...] = ()  # FDA letters and notices that name what the page names

    def as_dict(self) -> dict:
        return {
            "rule_id": self.rule_id,
            "rule_version": self.rule_version,
            "severity": self.severity,
            "phrases": list(self.phrases),
            "snippet": self.snippet,
            "start": self.start,
            "end": self.end,
            "cites": [dict(c) for c in self.cites],
        }


@dataclass(frozen=True)
class Verdict:
    flag: bool
    severity: str
    findings: tuple[Finding, ...] = ()
    reason: str = ""  # why not flagged, or what kind of offer

    def as_dict(self) -> dict:
        return {
            "flag": self.flag,
            "severity": self.severity,
            "reason": self.reason,
            "findings": [f.as_dict() for f in self.findings],
        }


@dataclass
class FdaIndex:
    """Product and firm names from stored FDA warning letters and notices, lower-cased, each with
    what names it: {"xoglo": [{"kind": "warning_letter", "key": slug, "url": ..., "title": ...}]}."""

    names: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def find(self, text: str) -> list[tuple[str, int, int]]:
        lowered = text.lower()
        found = []
        for name in self.names:
            for match in re.finditer(rf"(?<![\w]){re.escape(name)}(?![\w])", lowered):
                found.append((name, match.start(), match.end()))
                break
        return found


_NO_PRODUCT = Verdict(False, "none", reason="no exosome product named")  # most pages: made once


def assess_page(
    text: str, *, title: str | None = None, url: str | None = None, fda: FdaIndex | None = None
) -> Verdict:
    """The verdict on one page: flag or not, its severity, and each finding with its evidence."""
    lexicon = load_lexicon()
    lowered = lower_text(text)
    if not lexicon.may_name_a_product(lowered):
        return _NO_PRODUCT
    by = lexicon.find_by_category(text, lowered)  # each category's hits in text order
    products = by.get("exosome", []) + by.get("brand", [])
    if not products:
        return _NO_PRODUCT
    products.sort(key=_start)
    # positions in the text: the title's hits only count, never stand near
    counts = _distinct_phrases(by, lexicon.find_by_category(title) if title else {})
    offer_starts = list(map(_start, by.get("offer", ())))
    price_starts = list(map(_start, by.get("price", ())))
    offer_score = counts.get("offer", 0) + min(len(price_starts), 3)
    not_offer = sum(n for category, n in counts.items() if category in NOT_AN_OFFER)

    if counts.get("not_human"):
        return Verdict(False, "none", reason="not an offer: sold for research use, not for people")
    refused = [
        r
        for r in by.get("refusal", []) + by.get("asked", [])
        if any(abs(p.start - r.start) < NEAR for p in products)
    ]
    offered_near = [
        p for p in products if _near_start(p.start, offer_starts) or _near_start(p.start, price_starts)
    ]
    if refused and not [
        p
        for p in offered_near
        if _near_start(p.start, price_starts) and all(abs(p.start - r.start) >= NEAR for r in refused)
    ]:
        return Verdict(False, "none", reason="the page says it does not offer exosome products")
    if not_offer >= 2 and not_offer > offer_score:
        kinds = sorted((c for c in NOT_AN_OFFER if counts.get(c)), key=lambda c: -counts[c])
        return Verdict(False, "none", reason=f"not an offer: reads as {', '.join(kinds[:2])}")
    if counts.get("diagnostics", 0) >= 2 and not any(
        _near(p, by.get("route", [])) or _near(p, by.get("cosmetic", [])) for p in products
    ):
        return Verdict(False, "none", reason="not an offer: exosome diagnostics")
    plants = by.get("plant", [])
    if plants and not counts.get("offer") and all(_near(p, plants) for p in products):
        return Verdict(False, "none", reason="plant-derived 'exosomes' in a product, no provider")
    if not offered_near and offer_score >= 2 and not_offer < 2:
        offered_near = products[:1]  # a short provider page: the offer (prices, booking) stands apart

    findings: list[Finding] = []
    indirect = sum(counts.get(c, 0) for c in INDIRECT) >= 2 or counts.get("implied", 0) >= 1
    if indirect or not offered_near:
        if not offered_near and offer_score == 0 and not indirect:
            return Verdict(False, "none", reason="exosomes named, but nothing is offered")
        kinds = [c for c in INDIRECT if counts.get(c, 0)] or ["implied service"]
        findings.append(_finding("exosome_indirect", text, products[0], [], extra=kinds))
    else:
        disclaimers = by.get("disclaimer", [])
        reassurance = [
            r
            for r in by.get("reassurance", [])
            if not _inside_any(r, disclaimers) and not _denied(lowered, r) and not _asked(lowered, r)
        ]
        spans: dict[Hit, tuple[int, int]] = {}  # each offered mention's item, found once
        for rule, category in (("exosome_route", "route"), ("exosome_condition", "condition")):
            triggers = by.get(category)
            if not triggers:
                continue
            for product in offered_near:
                begin, end = spans.get(product) or spans.setdefault(product, _item_span(text, product))
                near = [
                    h
                    for h in triggers
                    if begin <= h.start < end
                    and not _denied(lowered, h)
                    and not (category == "route" and _cosmetic_infusion(lowered, h))
                ]
                if near:
                    findings.append(_finding(rule, text, product, near))
                    break
        if reassurance:
            findings.append(_finding("exosome_reassurance", text, products[0], reassurance[:3]))
        if not findings:
            for product in offered_near:
                near = [h for h in by.get("cosmetic", []) if _near(product, [h])]
                if near:
                    findings.append(_finding("exosome_cosmetic", text, product, near))
                    break
        if not findings:
            findings.append(
                _finding("exosome_indirect", text, offered_near[0], [], extra=["implied service"])
            )
    if fda is not None and findings:
        for name, start, end in fda.find(text):
            cites = tuple(fda.names[name])
            findings.append(
                _finding(
                    "fda_named_product", text, Hit("brand", name, start, end), [], extra=[name], cites=cites
                )
            )
    severity = max((f.severity for f in findings), key=SEVERITY_ORDER.__getitem__)
    return Verdict(True, severity, tuple(findings), reason=findings[0].rule_id)


def _item_span(text: str, product: Hit) -> tuple[int, int]:
    """The part of the page that speaks of this mention: its line (a menu item, a price row, a
    paragraph), and the next line too when the mention's line is a heading. A route or a condition
    counts only there: a menu's "PRP, injected into the scalp" is not the exosome item above it."""
    begin = text.rfind("\n", 0, product.start) + 1
    end = text.find("\n", product.end)
    end = len(text) if end == -1 else end
    if end - begin < HEADING_CHARS and end < len(text):
        following = text.find("\n", end + 1)
        end = len(text) if following == -1 else following
    return max(begin, product.start - NEAR), min(end, product.end + NEAR)


def _denied(lowered: str, hit: Hit) -> bool:
    """Whether the words just before a hit deny it ("no injections", "no FDA-approved ...")."""
    return bool(_DENIED.search(lowered, max(0, hit.start - NEGATION_REACH), hit.start))


# "Are exosomes FDA-approved? No. ...": a claim asked, not made, unless the answer is yes.
_ASKED = re.compile(r"[^.!?\n]{0,40}\?")
_YES = re.compile(r"\s*(?:yes|yes,|absolutely|of course|sí|si|sim|はい|네|예)\b")


def _asked(lowered: str, hit: Hit) -> bool:
    """Whether a reassurance is the subject of a question the page does not answer yes."""
    question = _ASKED.match(lowered, hit.end)
    return question is not None and not _YES.match(lowered, question.end())


def _cosmetic_infusion(lowered: str, hit: Hit) -> bool:
    return hit.phrase in ("infusion*", "infuse*") and bool(
        _COSMETIC_INFUSION.search(lowered, max(0, hit.start - 25), hit.start)
    )


_start = itemgetter(2)  # Hit.start, as a C-level key


_Grouped = Mapping[str, Sequence[Hit]]


def _distinct_phrases(page: _Grouped, title: _Grouped) -> dict[str, int]:
    """How many different phrases of each category the page and its title hold."""
    phrases = {category: set(map(_phrase, found)) for category, found in page.items()}
    for category, found in title.items():
        phrases.setdefault(category, set()).update(map(_phrase, found))
    return {category: len(names) for category, names in phrases.items()}


_phrase = itemgetter(1)  # Hit.phrase


def _near(anchor: Hit, others: Sequence[Hit]) -> bool:
    """Whether one of `others` (in text order, as the lexicon finds them) starts within NEAR of
    `anchor`: a binary search, so a long page with many mentions stays linear-ish."""
    return _near_start(anchor.start, list(map(_start, others)))


def _near_start(position: int, starts: Sequence[int]) -> bool:
    index = bisect_left(starts, position - NEAR)
    return index < len(starts) and starts[index] <= position + NEAR


def _inside_any(hit: Hit, spans: Sequence[Hit]) -> bool:
    return any(span.start <= hit.start and hit.end <= span.end for span in spans)


WORD_REACH = 30  # characters a snippet may grow to start or end on a word boundary


def _word_start(text: str, begin: int) -> int:
    """`begin`, moved back to the start of the word it cuts (not past WORD_REACH: scripts
    without spaces have no such boundary)."""
    if begin == 0 or text[begin - 1].isspace():
        return begin
    space = max(
        text.rfind(" ", max(0, begin - WORD_REACH), begin),
        text.rfind("\n", max(0, begin - WORD_REACH), begin),
    )
    return space + 1 if space != -1 else begin


def _word_end(text: str, stop: int) -> int:
    """`stop`, moved on to the end of the word it cuts (as `_word_start`)."""
    if stop >= len(text) or text[stop].isspace():
        return stop
    window = text[stop : stop + WORD_REACH]
    ends = [i for i in (window.find(" "), window.find("\n")) if i != -1]
    return stop + min(ends) if ends else stop


def _finding(
    rule_id: str,
    text: str,
    product: Hit,
    triggers: Sequence[Hit],
    *,
    extra: Sequence[str] = (),
    cites: tuple[Mapping[str, str], ...] = (),
) -> Finding:
    version, severity = RULES[rule_id]
    start = min([product.start, *(t.start for t in triggers)])
    end = max([product.end, *(t.end for t in triggers)])
    begin = _word_start(text, max(0, start - SNIPPET))
    stop = _word_end(text, min(len(text), end + SNIPPET))
    phrases = tuple(
        dict.fromkeys([text[product.start : product.end], *(text[t.start : t.end] for t in triggers), *extra])
    )
    snippet = " ".join(text[begin:stop].split())
    return Finding(rule_id, version, severity, phrases, snippet, begin, stop, cites)
