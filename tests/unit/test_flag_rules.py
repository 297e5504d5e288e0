"""The flagging rules and their lexicon: pure functions over a page's text."""

from __future__ import annotations

import pytest

from monitor.rules import assess_page
from monitor.rules.flagger import RULES, FdaIndex
from monitor.rules.lexicon import Lexicon, LexiconError, load_lexicon


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        ("Exosome Hair Restoration. We inject exosomes into the scalp. $800 per session. Book now.", "high"),
        ("Exosome IV drip for long COVID fatigue at our clinic. Book your consultation.", "high"),
        ("Our exosome therapy is FDA registered and has no side effects. Call us today.", "high"),
        (
            "Exosome joint injections for knee arthritis. $1,200. Book now. *Exosomes are not FDA approved.",
            "high",
        ),
        ("ExoGlow Facial: exosome serum after microneedling. $350 per session. Book now.", "medium"),
        ("Terapia con exosomas intravenosa en Tijuana. Precio: $2,500 USD. Agenda tu cita.", "high"),
        ("엑소좀 피부 재생 시술 - 가격 30만원. 지금 예약하세요.", "medium"),
        ("エクソソーム点滴療法 料金 30,000円 ご予約はこちら", "high"),
        ("Wholesale exosome vials for practitioners. Professional use only. Become a reseller.", "low"),
        ("Best exosome clinics in Dallas: our guide to the top 10 providers near you.", "low"),
    ],
)
def test_offers_are_flagged_with_their_severity(text, severity):
    verdict = assess_page(text, model=False)
    assert verdict.flag and verdict.severity == severity, verdict


@pytest.mark.parametrize(
    "text",
    [
        "Do exosome facials work? Dermatologists warn there is little evidence. What you should know.",
        "Phase 1 clinical trial of exosomes for ARDS. Recruiting. Eligibility: adults. NCT04276987.",
        "Research Scientist, Exosome Biology. We are hiring. Responsibilities: ... Salary. Apply now.",
        "ExoDx is an exosome-based liquid biopsy: a urine test to detect prostate cancer early.",
        "Clinic sued over exosome injections. According to the lawsuit, patients who received exosome IV "
        "infusions were hospitalized. The clinic charged $5,000 per session, reporters found.",
        "Do you offer exosome injections? No. We do not offer exosome injections. We offer PRP. Book now.",
        "PRP hair restoration with microneedling. $600 per session. Book now.",
        "Stem cell transplant (bone marrow) for leukemia at our hospital. Book a consultation.",
    ],
)
def test_what_is_not_an_offer_is_not_flagged(text):
    verdict = assess_page(text, model=False)
    assert not verdict.flag, verdict
    assert verdict.severity == "none" and verdict.reason


def test_evidence_points_into_the_text():
    text = "Welcome!\n" * 30 + "Our exosome IV infusions: $1,500 per session. Book now.\n" + "Thanks.\n" * 30
    finding = assess_page(text, model=False).findings[0]
    assert finding.rule_id in RULES and finding.rule_version == RULES[finding.rule_id][0]
    assert text[finding.start : finding.end].split() == finding.snippet.split()
    assert "exosome IV" in finding.snippet


def test_a_page_naming_a_product_of_an_fda_letter_is_escalated_with_the_citation():
    cite = {
        "kind": "warning_letter",
        "key": "kimera-labs-inc-649343-09012023",
        "url": "https://x",
        "title": "Kimera",
    }
    verdict = assess_page(
        "XoGlo exosome facial after microneedling, $400 per session. Book now.",
        model=False,
        fda=FdaIndex({"xoglo": [cite]}),
    )
    assert verdict.severity == "high"
    assert verdict.findings[-1].rule_id == "fda_named_product" and verdict.findings[-1].cites == (cite,)


def test_the_lexicon_has_sources_and_refuses_bad_groups():
    assert load_lexicon().version >= 1
    with pytest.raises(LexiconError, match="no source"):
        Lexicon([{"category": "exosome", "phrases": ["x"]}], 1)
    with pytest.raises(LexiconError, match="unknown category"):
        Lexicon([{"category": "nope", "phrases": ["x"], "source": "s"}], 1)
    with pytest.raises(LexiconError, match="bad phrase"):
        Lexicon([{"category": "exosome", "phrases": ["*"], "source": "s"}], 1)


def test_matching_is_whole_word_prefix_and_script_aware():
    lexicon = load_lexicon()
    found = {(h.category, "x") for h in lexicon.find("nonexosomal")}
    assert ("exosome", "x") not in found  # inside a word
    hits = [h for h in lexicon.find("Exosomes injected; 엑소좀을 주사") if h.category in ("exosome", "route")]
    assert [h.phrase for h in hits] == ["exosome*", "inject*", "엑소좀", "주사"], hits


def test_offsets_stay_the_page_own_after_lowering_turkish_capital_i():
    from monitor.rules.lexicon import lower_text

    text = "İSTANBUL KLİNİK: EKSOZOM tedavisi, İV"
    lowered = lower_text(text)
    assert len(lowered) == len(text) and lowered == "".join(c.lower()[:1] for c in text)
    hits = load_lexicon().find(text)
    assert [(h.category, text[h.start : h.end]) for h in hits] == [("exosome", "EKSOZOM"), ("route", "İV")]


def test_a_disclaimer_asking_if_exosomes_are_fda_approved_is_not_a_reassurance():
    offer = "Exosome facial at our clinic. Book now, $300 per session. "
    disclaimer = "Are exosomes FDA-approved? No. There are currently no FDA-approved exosome products."
    verdict = assess_page(offer + disclaimer, model=False)
    assert "exosome_reassurance" not in [f.rule_id for f in verdict.findings]
    assert verdict.severity == "medium"
    answered = assess_page(offer + "Is it FDA approved? Yes, our exosomes are FDA approved.", model=False)
    assert [f.rule_id for f in answered.findings] == ["exosome_reassurance"]


def test_evidence_snippets_start_and_end_on_word_boundaries():
    words = " ".join(f"word{n:03d}" for n in range(60))
    verdict = assess_page(f"{words} We offer exosome injections for knee arthritis. {words}", model=False)
    for finding in verdict.findings:
        first, last = finding.snippet.split()[0], finding.snippet.split()[-1]
        assert first in words.split() or first == "We", finding.snippet
        assert last in words.split() or last.endswith("."), finding.snippet


def test_the_demos_evidence_lines_begin_and_end_on_words():
    from monitor.demo import clip, snippet_excerpt

    snippet = "x" * 10 + " alpha bravo charlie delta echo foxtrot golf Exosome IV therapy " + "hotel india " * 20
    shown = snippet_excerpt(snippet, ["Exosome"], width=60)
    words = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf")
    assert shown.startswith("...") and shown[3:].split()[0] in words
    assert shown.endswith("...") and shown[:-3].split()[-1] in ("hotel", "india")
    assert clip("한국어 텍스트 " * 20, 30).endswith("...")  # no spaces near: cut where it must
