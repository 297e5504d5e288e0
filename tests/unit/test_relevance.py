"""Relevance tags and product names (crawler.relevance), on the real FDA letters and on edge cases.

Decisions pinned here:
* whole words only: "exosomes" and "exosome-based" match, "nonexosomal" does not match at all,
  and "non-exosomal" matches but is negated by the attached "non" prefix;
* hyphens, dashes, line breaks and runs of spaces inside a phrase all equal one space;
* a tag is applied only if at least one mention is a use: the Kimera Labs letter mentions HCT/Ps
  only to say its amniotic fluid product is not one, so it is not tagged hct_p;
* `regenerative` is a roll-up implied by exosome, stem_cell, amniotic and umbilical_cord (not by
  hct_p: HCT/Ps include reproductive and ocular tissue), carrying their phrases.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from crawler.relevance import Relevance, Verdict, assess, explain, product_names, tag_text
from crawler.relevance.lexicon import DEFAULT_PATH, LexiconError, load_lexicon, parse_lexicon
from crawler.relevance.matcher import Matcher, get_matcher
from crawler.relevance.normalize import fold

LETTERS = Path(__file__).resolve().parents[1] / "fixtures" / "fda" / "letters"


def letter(name: str) -> str:
    path = LETTERS / name
    if path.suffix == ".json":
        return json.loads(path.read_text("utf-8"))["fullContent"]
    return path.read_text("utf-8")


def names(text: str) -> set[str]:
    return {tag.tag for tag in tag_text(text)}


def tag(text: str, name: str):
    return next(item for item in tag_text(text) if item.tag == name)


def verdicts(text: str) -> list[tuple[str, str, Verdict]]:
    return [(item.match.tag, item.text, item.judgement.verdict) for item in explain(text)]


# -- the five real letters ---------------------------------------------------------------------------

KIMERA = "letter_649343_kimera-labs-inc.json"
INVITRX = "letter_581182_invitrx-therapeutics-inc.json"
GRANULES = "letter_697115_granules-india-limited.json"
APIA = "letter_598015_apia-export-fish-packers-ltd.json"
TOBACCO = "letter_704589_chiefcottonmouth-com_tobacco.json"


def test_kimera_labs_exosome_letter() -> None:
    text = letter(KIMERA)
    result = assess(text)
    assert isinstance(result, Relevance)
    assert result.tag_names == ("exosome", "stem_cell", "amniotic", "regenerative")
    assert result.products == ("XoGlo", "XoGlo Pro", "Amnio2X")
    assert tag(text, "exosome").phrases == ("exosome",)
    assert tag(text, "stem_cell").phrases == ("stem cell",)  # "(b)(4) stem cell master line"
    assert tag(text, "amniotic").phrases == ("amniotic fluid",)
    regenerative = tag(text, "regenerative")
    assert regenerative.implied_by == ("exosome", "stem_cell", "amniotic")
    assert set(regenerative.phrases) == {"exosome", "amniotic fluid", "stem cell"}


def test_kimera_labs_is_not_tagged_hct_p_because_every_mention_is_a_denial() -> None:
    hct_p = [(text, verdict) for tag_name, text, verdict in verdicts(letter(KIMERA)) if tag_name == "hct_p"]
    assert hct_p == [
        (
            "human cells, tissues, or cellular or tissue based products",
            Verdict.UNRELATED,
        ),  # "the definition of"
        ("HCT/Ps", Verdict.UNRELATED),  # its abbreviation, in brackets, shares the verdict
        ("HCT/Ps", Verdict.NEGATED),  # "amniotic fluid, are not considered HCT/Ps"
    ]


def test_invitrx_hct_p_letter() -> None:
    text = letter(INVITRX)
    result = assess(text)
    assert result.tag_names == ("exosome", "hct_p", "amniotic", "umbilical_cord", "regenerative")
    assert result.products == ("Invitra CBSC", "Invitra WJ", "Invitra AF", "Invitra AT", "Invitra EX")
    assert tag(text, "exosome").phrases == ("exosome",)  # footnote 1: "your exosome product, Invitra EX"
    assert tag(text, "hct_p").phrases == (
        "human cells, tissues, or cellular or tissue-based products",
        "HCT/Ps",
        "HCT/P",
        "current good tissue practice",
        "CGTP",
        "Human Cells, Tissues, and Cellular and Tissue-Based Products",
    )
    assert tag(text, "umbilical_cord").phrases == ("umbilical cord blood", "umbilical cord", "cord blood")
    assert tag(text, "amniotic").phrases == ("amniotic fluid", "amniotic membrane", "amniotic")
    # hct_p does not imply regenerative: sperm banks and eye banks get HCT/P letters too
    assert tag(text, "regenerative").implied_by == ("exosome", "amniotic", "umbilical_cord")


def test_invitrx_url_mention_and_denials_do_not_count() -> None:
    rejected = {(t, v) for t, text, v in verdicts(letter(INVITRX)) if v is not Verdict.USE}
    assert rejected == {
        ("exosome", Verdict.UNRELATED),
        ("hct_p", Verdict.UNRELATED),
        ("hct_p", Verdict.NEGATED),
    }


@pytest.mark.parametrize("name", [GRANULES, APIA, TOBACCO])
def test_unrelated_letters_have_no_tags_and_no_products(name: str) -> None:
    assert assess(letter(name)) == Relevance((), ())


@pytest.mark.parametrize("name", [KIMERA, INVITRX])
def test_evidence_points_at_the_phrase_in_the_original_text(name: str) -> None:
    text = letter(name)
    for item in tag_text(text):
        assert len(item.phrases) == len(item.evidence)
        assert list(item.evidence) == sorted(item.evidence)
        for phrase, (start, end) in zip(item.phrases, item.evidence, strict=True):
            assert " ".join(text[start:end].split()) == phrase


# -- letter page excerpts (first ~2 KB of real fda.gov letters) ------------------------------------


@pytest.mark.parametrize(
    ("name", "tags", "products"),
    [
        (
            "fda_page_excerpt__biolab-sciences-inc-621465-08232022__pages_rendering_B.txt",
            {"amniotic", "regenerative"},
            (
                "Fluid GF",
                "Restore GF",
                "Fluid Flow",
                "Amnio Restore",
                "Stimuleyes",
                "MyOwnSkin",
                "MySkinRestore",
            ),
        ),
        (
            "fda_page_excerpt__invitrx-therapeutics-inc-630712-11092022__pages.txt",
            {"exosome", "umbilical_cord", "regenerative"},
            ("Invitra UC-MSC", "Invitra EX", "Invitra EV-OP"),
        ),
        (
            "fda_page_excerpt__neobiosis-llc-662985-06052024__pages_rendering_B.txt",
            {"amniotic", "umbilical_cord", "regenerative"},
            ("Purified Amniotic Fluid", "Wharton’s Jelly Cellular", "Wharton’s Jelly Acellular"),
        ),
        (
            "fda_page_excerpt__renatilabs-inc-646353-06012023__pages.txt",
            {"hct_p", "umbilical_cord", "regenerative"},
            ("WJMAX",),
        ),
        (
            "thirdparty_copy_excerpt__kimera-labs-inc-649343-09-01-2023__einpresswire.txt",
            {"exosome", "amniotic", "regenerative"},
            ("XoGlo", "XoGlo Pro", "Amnio2X"),
        ),
    ],
)
def test_letter_excerpts(name: str, tags: set[str], products: tuple[str, ...]) -> None:
    text = letter(name)
    assert names(text) == tags
    assert product_names(text) == products


# -- negation --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "This serum does not contain exosomes.",
        "This serum doesn't contain exosomes.",
        "No stem cells are used in our clinic.",
        "The product contains no human or animal stem cells.",
        "Our allografts are free of HCT/Ps.",
        "Made without amniotic fluid.",
        "Neither exosomes nor stem cells are used.",
        "We use our own formula instead of exosomes.",
        "a non-exosomal fraction",
        "an exosome-free medium",
        "an exosome\u2011depleted serum",
    ],
)
def test_negated_mentions_tag_nothing(text: str) -> None:
    assert tag_text(text) == ()
    assert {verdict for _, _, verdict in verdicts(text)} == {Verdict.NEGATED}


def test_one_use_is_enough_and_negation_stops_at_a_terminator() -> None:
    text = "We do not offer stem cells, but our exosome therapy is popular."
    assert names(text) == {"exosome", "regenerative"}
    text = "We never offered that, but we inject exosomes."
    assert names(text) == {"exosome", "regenerative"}


def test_negation_does_not_cross_a_sentence() -> None:
    assert names("This is not a drug.\nExosome injections for knees.") == {"exosome", "regenerative"}
    assert names("No refunds. Exosome facials weekly.") == {"exosome", "regenerative"}


def test_negation_window_is_six_words() -> None:
    assert names("Not one of the patients we treated received stem cells.") == {"stem_cell", "regenerative"}
    assert names("Not one of the patients received stem cells.") == set()


def test_pseudo_negation_asserts_the_product() -> None:
    assert names("There are currently no FDA-approved exosome products.") == {"exosome", "regenerative"}
    assert names("Stem cell injections: not only for athletes.") == {"stem_cell", "regenerative"}


def test_an_abbreviation_in_brackets_shares_the_verdict_of_its_long_form() -> None:
    text = "We sell no mesenchymal stem cells (MSCs) at all."
    assert verdicts(text) == [
        ("stem_cell", "mesenchymal stem cells", Verdict.NEGATED),
        ("stem_cell", "MSCs", Verdict.NEGATED),
    ]


# -- unrelated uses --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Apple stem cell extract smooths fine lines.",
        "Made with plant stem cells from the Swiss Alps.",
        "Enriched with plant-derived stem cells.",
        "Our serum uses stem cell extract for radiance.",
        "Alpine rose stem cells protect the skin.",
        "Rose stem cell-derived exosomes in a toner.",
        "The RNA exosome complex degrades messenger RNA.",
        "Reduced spinal cord blood flow was measured.",
        "The definition of HCT/P excludes secreted products.",
        "See https://www.fda.gov/vaccines-blood-biologics/public-safety-notification-exosome-products",
        "Write to exosome@example.com for details.",
    ],
)
def test_unrelated_uses_tag_nothing(text: str) -> None:
    assert tag_text(text) == ()
    assert {verdict for _, _, verdict in verdicts(text)} == {Verdict.UNRELATED}


def test_an_unrelated_cue_only_counts_in_the_same_clause() -> None:
    assert names("At our plant, stem cells are expanded for injection.") == {"stem_cell", "regenerative"}


# -- word boundaries, punctuation, hyphens, case ---------------------------------------------------


def test_word_boundaries() -> None:
    assert names("Exosomes for hair loss.") == {"exosome", "regenerative"}
    assert names("an exosome-based serum") == {"exosome", "regenerative"}
    assert names("a nonexosomal fraction") == set()  # no match at all: not a whole word
    assert verdicts("a nonexosomal fraction") == []
    assert names("stemcells and hct/pq and preamniotic") == set()


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("STEM CELLS", "STEM CELLS"),
        ("Stem-Cell therapy", "Stem-Cell"),
        ("stem\u2010cells", "stem\u2010cells"),
        ("stem\ncell", "stem cell"),
        ("stem  \n  cell", "stem cell"),
        ("stem \u2013 cells", "stem \u2013 cells"),
    ],
)
def test_case_hyphen_and_whitespace_variants(text: str, phrase: str) -> None:
    found = tag(text, "stem_cell")
    assert found.phrases == (phrase,)
    start, end = found.evidence[0]
    assert " ".join(text[start:end].split()) == phrase


def test_hct_p_spellings() -> None:
    for text in ("HCT/P", "HCT/Ps", "hct/ps", "HCT/P's", "361 HCT/Ps", "HCTPs"):
        assert "hct_p" in names(text), text
    assert tag("a 361 HCT/P product", "hct_p").phrases == ("361 HCT/P",)  # the longest phrase wins
    long_form = "human cells, tissues, and cellular and tissue\u2011based products"
    assert tag(long_form, "hct_p").phrases == (long_form,)


def test_case_sensitive_entries() -> None:
    assert names("MSCs and SVF") == {"stem_cell", "regenerative"}
    assert names("mscs and svf and Svf") == set()


def test_curly_apostrophes_and_invisible_characters() -> None:
    assert tag("Wharton’s jelly", "umbilical_cord").phrases == ("Wharton’s jelly",)
    found = tag("pure exo\u00adsomes", "exosome")
    assert found.phrases == ("exosomes",)
    assert found.evidence == ((5, 14),)


def test_offsets_survive_casefold_that_changes_length() -> None:
    text = "Straße  STRASSE exosomes"
    assert tag(text, "exosome").evidence == ((16, 24),)
    folded = fold(text)
    assert folded.text == "strasse strasse exosomes"
    assert folded.original_span(16, 24) == (16, 24)


def test_different_tags_do_not_shadow_each_other() -> None:
    assert names("human umbilical cord blood stem cells") == {"umbilical_cord", "stem_cell", "regenerative"}


def test_hct_p_alone_is_not_regenerative() -> None:
    text = (
        "Deviations/CFR/Regulations for Human Cells, Tissues & Cellular Products (HCT/Ps). Sperm Bank, Inc."
    )
    assert names(text) == {"hct_p"}


def test_regenerative_has_its_own_phrases_too() -> None:
    found = tag("A regenerative medicine advanced therapy (RMAT) designation.", "regenerative")
    assert found.phrases == ("regenerative medicine advanced therapy", "RMAT")
    assert found.implied_by == ()
    assert names("regenerative braking in electric cars") == set()


# -- product names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "products"),
    [
        ("We sell XoGlo® and XoGlo®Pro and XOGLO®.", ("XoGlo", "XoGlo Pro")),
        ("Try ExoSerum(TM) or CellBoost(R) today.", ("ExoSerum", "CellBoost")),
        ("the product XoGloTM is injected", ("XoGlo",)),
        ("our product, Invitra CBSCTM, is sterile", ("Invitra CBSC",)),
        ("our product, Invitra\xa0WJTM, and Exo\xa0Glow, too", ("Invitra WJ", "Exo Glow")),
        ("Withdraw cash at the ATM. The HTM and CTM rules.", ()),
        ("Kimera’s XoGlo® is sold", ("XoGlo",)),
        ("The FDA® logo", ()),
        ("Blackfly Investments, LLC dba Molecular® is", ()),
        ("Kimera Labs®, Inc. makes XoGlo®", ("XoGlo",)),
        ("Exo Labs® Co-Pilot® are sold", ("Exo Labs", "Co-Pilot")),
        # FDA recall titles: a name in capitals marked part by part, a product line after the sign
        ("CELSIUS® ASTRO VIBE™ Sparkling Beverage recalled", ("CELSIUS ASTRO VIBE",)),
        ("exosome products, XoGlo® and XoGlo® Pro.", ("XoGlo", "XoGlo Pro")),
        ("the Genova® Plus and Genova® Classic lines", ("Genova Plus", "Genova")),
        ("two lots (XoGlo® and “Exo Max™”) were", ("XoGlo", "Exo Max")),
        ("your exosome products, ExoFlo and Exo Glow, and other items", ("ExoFlo", "Exo Glow")),
        ("products, including “Cell Renew” and “Exo Shine”.", ("Cell Renew", "Exo Shine")),
        ("exosome products, Kimera Labs would continue to distribute", ()),
        ("our products, Exo Glow and its cousins", ()),
        ("your products, FDA investigators found", ()),
        ("Product:\nBiologics\nRecipient:", ()),
        ("collectively, “your products”", ()),
        ("products, One Two Three Four Five Six.", ()),
    ],
)
def test_product_names(text: str, products: tuple[str, ...]) -> None:
    assert product_names(text) == products


def test_products_are_deduplicated_case_insensitively_in_order_of_first_appearance() -> None:
    assert product_names("Amnio2X® then XoGlo® then Amnio2x® then XoGlo®") == ("Amnio2X", "XoGlo")


# -- the lexicon -----------------------------------------------------------------------------------


def test_every_lexicon_entry_and_context_has_a_source() -> None:
    lexicon = load_lexicon()
    assert {"exosome", "stem_cell", "hct_p", "regenerative"} <= {spec.name for spec in lexicon.tags}
    for entry in lexicon.entries:
        assert entry.source.strip(), entry
    assert lexicon.negation.source.strip()
    assert lexicon.products.source.strip()
    for context in lexicon.unrelated:
        assert context.source.strip(), context.name


def test_required_phrases_are_in_the_lexicon() -> None:
    forms = {form.casefold() for entry in load_lexicon().entries for form in entry.forms}
    for phrase in (
        "exosome",
        "exosomes",
        "extracellular vesicles",
        "stem cell",
        "stem cells",
        "hct/p",
        "hct/ps",
    ):
        assert phrase in forms
    assert "human cells, tissues, and cellular and tissue based products" in forms


def _raw() -> dict:
    return tomllib.loads(DEFAULT_PATH.read_text("utf-8"))


def test_a_missing_source_is_an_error_naming_the_entry() -> None:
    data = _raw()
    del data["tags"]["exosome"]["entries"][1]["source"]
    with pytest.raises(
        LexiconError, match=r"tags\.exosome\.entries\[1\] \('extracellular vesicle'\): missing 'source'"
    ):
        parse_lexicon(data, "lexicon.toml")


def test_an_unknown_key_is_an_error_naming_the_entry() -> None:
    data = _raw()
    data["tags"]["stem_cell"]["entries"][0]["sorce"] = "typo"
    with pytest.raises(
        LexiconError, match=r"tags\.stem_cell\.entries\[0\] \('stem cell'\): unknown key 'sorce'"
    ):
        parse_lexicon(data, "lexicon.toml")
    data = _raw()
    data["negation"]["windows"] = 3
    with pytest.raises(LexiconError, match=r"negation: unknown key 'windows'"):
        parse_lexicon(data, "lexicon.toml")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["tags"]["exosome"]["entries"][0]["variants"].append("EXOSOME"), "duplicates"),
        (lambda d: d["tags"]["stem_cell"]["entries"][0]["variants"].append("stem-cells"), "duplicates"),
        (lambda d: d["tags"]["exosome"]["entries"][0].update(source="  "), "'source' is empty"),
        (lambda d: d["tags"]["exosome"]["entries"][0].update(phrase="exosome."), "begin and end"),
        (lambda d: d["tags"]["exosome"].update(implies=["regen"]), "implies unknown tag 'regen'"),
        (lambda d: d["unrelated"][0].update(tags=["plants"]), "unknown tag 'plants'"),
        (lambda d: d["tags"].pop("hct_p"), "missing required tag 'hct_p'"),
        (lambda d: d["negation"].update(window_tokens=True), "'window_tokens' must be int"),
    ],
)
def test_malformed_lexicons_are_refused(change, message: str) -> None:
    data = _raw()
    change(data)
    with pytest.raises(LexiconError, match=message):
        parse_lexicon(data, "lexicon.toml")


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "lexicon.toml"
    bad.write_text("[tags\n", "utf-8")
    with pytest.raises(LexiconError, match="lexicon.toml: not valid TOML"):
        load_lexicon(str(bad))


def test_the_automaton_is_built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    matcher = get_matcher()
    assert get_matcher() is matcher
    assert load_lexicon() is load_lexicon()

    def refuse(self, lexicon) -> None:
        raise AssertionError("the automaton was rebuilt")

    monkeypatch.setattr(Matcher, "__init__", refuse)
    assert names("exosomes") == {"exosome", "regenerative"}
