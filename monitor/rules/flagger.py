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
from dataclasses import dataclass, field, replace
from operator import itemgetter

from monitor.rules.lexicon import Hit, load_lexicon, lower_text
from monitor.rules.model import PageModel, context_document, load_model, model_text

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
# The page model's say (monitor/rules/model.py): a page that names an exosome product is an offer
# when the model's probability reaches MODEL_THRESHOLD, chosen on the development part for
# precision (MODEL_CARD.md); SITE_THRESHOLD when another page of the site offers them.
MODEL_THRESHOLD = 0.7
SITE_THRESHOLD = 0.5
PRICED_THRESHOLD = 0.3  # the rules' offer with a price beside the mention stands above this
# On a page the model judged an offer, a route or condition this near a mention is the offer's:
# such pages are mostly articles about the treatment, not menus where the next item is another.
CLAIM_REACH = 280
# What the rules know for certain, whatever the model says: a page selling for research use only,
# and a provider saying it does not offer exosome products.
VETOES = frozenset(
    {
        "not an offer: sold for research use, not for people",
        "the page says it does not offer exosome products",
    }
)
# Sites whose offers are weak or indirect by the policy: they sell to providers or send patients on.
INDIRECT_SITES = {"vendor": "supplier", "broker": "broker", "directory": "directory"}


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
    model: float | None = None  # the page model's probability, when it was asked
    decided_by: str = "rules"  # or "page model"

    def as_dict(self) -> dict:
        return {
            "flag": self.flag,
            "severity": self.severity,
            "reason": self.reason,
            "decided_by": self.decided_by,
            "model_probability": None if self.model is None else round(self.model, 4),
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


@dataclass(frozen=True)
class Reading:
    """What the lexicon found on a page: the rules decide on it, and the page model reads it."""

    text: str
    lowered: str
    by: Mapping[str, list[Hit]]  # each category's hits in text order
    products: list[Hit]  # exosome and brand mentions, in text order
    counts: Mapping[str, int]  # distinct phrases of each category, page and title

    def signals(self) -> dict[str, int]:
        """Counts the page model weighs: each category's distinct phrases, and how many of a
        product's cues stand near a mention."""
        near = {
            f"{category}_near": sum(1 for h in self.by.get(category, ()) if _near_any(h, self.products))
            for category in ("route", "condition", "reassurance", "cosmetic", "offer", "price", "disclaimer")
        }
        return {**self.counts, **near, "mentions": len(self.products)}


def read_page(text: str, title: str | None = None) -> Reading | None:
    """The lexicon's reading of a page, or None when it names no exosome product."""
    lexicon = load_lexicon()
    lowered = lower_text(text)
    if not lexicon.may_name_a_product(lowered):
        return None
    by = lexicon.find_by_category(text, lowered)
    products = by.get("exosome", []) + by.get("brand", [])
    if not products:
        return None
    products.sort(key=_start)
    # positions in the text: the title's hits only count, never stand near
    counts = _distinct_phrases(by, lexicon.find_by_category(title) if title else {})
    return Reading(text, lowered, by, products, counts)


def assess_page(
    text: str,
    *,
    title: str | None = None,
    url: str | None = None,
    site_kind: str | None = None,
    site_offers: bool = False,
    fda: FdaIndex | None = None,
    model: PageModel | None | bool = True,
) -> Verdict:
    """The verdict on one page: flag or not, its severity, and each finding with its evidence.

    `url`, `title` and `site_kind` are the page's context (a `/treatments/exosome/` page of a
    clinic is an offer page); `site_offers`: another page of the same site offers exosome products
    (its price list, its booking page), which makes this page's mentions offers on less evidence.
    `model`: the page model (True: the shipped one; False or None: the rules alone)."""
    reading = read_page(text, title)
    if reading is None:
        return _NO_PRODUCT
    ruled = assess_reading(reading)
    if model is True:
        model = load_model()
    if not model or ruled.reason in VETOES:
        return _with_fda(ruled, text, fda)
    signals = reading.signals()
    context = context_document(url, title, site_kind, signals, (ruled.severity, ruled.reason))
    probability = model.probability(model_text(text, reading.products), context)
    threshold = SITE_THRESHOLD if site_offers else MODEL_THRESHOLD
    priced = ruled.flag and ruled.severity != "low" and signals["price_near"] > 0
    if priced and PRICED_THRESHOLD <= probability < threshold:
        # a price beside the mention is an offer: only a model sure of the contrary outweighs it
        return _with_fda(replace(ruled, model=probability), text, fda)
    if probability < threshold:
        why = ruled.reason if not ruled.flag else "the page model outweighs the offer wording"
        reason = f"{why} (page model {probability:.2f} < {threshold})"
        return Verdict(False, "none", reason=reason, model=probability, decided_by="page model")
    indirect = [INDIRECT_SITES[site_kind]] if site_kind in INDIRECT_SITES else []
    graded = grade_offer(reading, indirect=indirect)
    reason = f"{graded.reason} (page model {probability:.2f})"
    decided = replace(graded, reason=reason, model=probability, decided_by="page model")
    return _with_fda(decided, text, fda)


def assess_reading(reading: Reading) -> Verdict:
    """The rules' verdict on a page the lexicon has read."""
    text, by, products, counts = reading.text, reading.by, reading.products, reading.counts
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
    indirect = _reads_indirect(counts)
    if indirect or not offered_near:
        if not offered_near and offer_score == 0 and not indirect:
            return Verdict(False, "none", reason="exosomes named, but nothing is offered")
        kinds = [c for c in INDIRECT if counts.get(c, 0)] or ["implied service"]
        findings.append(_finding("exosome_indirect", text, products[0], [], extra=kinds))
    else:
        findings = _claims(reading, offered_near)
    severity = max((f.severity for f in findings), key=SEVERITY_ORDER.__getitem__)
    return Verdict(True, severity, tuple(findings), reason=findings[0].rule_id)


def grade_offer(reading: Reading, *, indirect: Sequence[str] = ()) -> Verdict:
    """The verdict on a page already judged to be an offer (by the page model, which reads what
    the offer wording misses): its claims graded as the rules grade an offer, every mention
    counting as offered; `indirect` (a supplier's or a directory's page) makes it a weak offer."""
    counts = reading.counts
    if not indirect and _reads_indirect(counts):
        indirect = [c for c in INDIRECT if counts.get(c, 0)] or ["implied service"]
    if indirect:
        findings = [_finding("exosome_indirect", reading.text, reading.products[0], [], extra=indirect)]
    else:
        findings = _claims(reading, reading.products, reach=CLAIM_REACH)
    severity = max((f.severity for f in findings), key=SEVERITY_ORDER.__getitem__)
    return Verdict(True, severity, tuple(findings), reason=findings[0].rule_id)


def _claims(reading: Reading, offered: Sequence[Hit], *, reach: int | None = None) -> list[Finding]:
    """What an offer claims, each with its evidence: a route or a condition in the item of an
    offered mention (high), a reassurance anywhere (high), else cosmetic words near an offered
    mention (medium), else an implied service (low)."""
    text, lowered, by, products = reading.text, reading.lowered, reading.by, reading.products
    findings: list[Finding] = []
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
        for product in offered:
            if product not in spans:
                spans[product] = (
                    _item_span(text, product)
                    if reach is None
                    else (max(0, product.start - reach), product.end + reach)
                )
            begin, end = spans[product]
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
        for product in offered:
            near = [h for h in by.get("cosmetic", []) if _near(product, [h])]
            if near:
                findings.append(_finding("exosome_cosmetic", text, product, near))
                break
    if not findings:
        findings.append(_finding("exosome_indirect", text, offered[0], [], extra=["implied service"]))
    return findings


def _reads_indirect(counts: Mapping[str, int]) -> bool:
    """A supplier's, broker's or directory's wording, or an implied service: a weak offer."""
    return sum(counts.get(c, 0) for c in INDIRECT) >= 2 or counts.get("implied", 0) >= 1


def _with_fda(verdict: Verdict, text: str, fda: FdaIndex | None) -> Verdict:
    """A flagged page that names what an FDA letter or notice names: the finding that cites it."""
    if fda is None or not verdict.flag:
        return verdict
    findings = list(verdict.findings)
    for name, start, end in fda.find(text):
        cites = tuple(fda.names[name])
        findings.append(
            _finding("fda_named_product", text, Hit("brand", name, start, end), [], extra=[name], cites=cites)
        )
    severity = max((f.severity for f in findings), key=SEVERITY_ORDER.__getitem__)
    return replace(verdict, severity=severity, findings=tuple(findings))


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


def _near_any(hit: Hit, products: Sequence[Hit]) -> bool:
    return _near_start(hit.start, list(map(_start, products)))


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
