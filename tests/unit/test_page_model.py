"""The page model beside the rules: its inputs, its shipped file, and how assess_page weighs it."""

import json

import numpy as np
import pytest

from monitor.cli import main
from monitor.rules import flagger, model, train_model

CLINIC_URL = "https://glowclinic.example/treatments/exosome-hair/"
NEWS_URL = "https://dailynews.example/2024/05/health/exosome-story"
# Our own writing: a clinic's treatment explainer with no "we offer" and no price.
HAIR = (
    "Exosome hair treatment uses growth factors to support thinning hair.\n\n"
    "Each   session takes about an hour and results appear after a few months."
)
EXPLAINER = "Exosome therapy for thinning hair: what it is and how it works."
RESEARCH_ONLY = (
    "Lyophilized exosome vials, 10 mg. For research use only, not for human use. "
    "Order online, $200 per vial, book a shipment today."
)


def probability(text, url=None, title=None, site_kind=None):
    """The model's probability for a page, built from the same inputs assess_page gives it."""
    reading = flagger.read_page(text, title)
    assert reading is not None, "the text must name an exosome product"
    ruled = flagger.assess_reading(reading)
    context = model.context_document(url, title, site_kind, reading.signals(), (ruled.severity, ruled.reason))
    return model.load_model().probability(model.model_text(text, reading.products), context)


# 1. url_tokens


def test_url_tokens_host_tld_path_and_depth():
    tokens = model.url_tokens("https://www.Glow-Clinic.example.co/Treatments/exosome-hair/")
    assert tokens[:3] == ["h:glow-clinic", "h:example", "tld:co"]  # www dropped, lower-cased
    assert {"u:treatments", "u:exosome", "u:hair", "depth:2"} <= set(tokens)
    assert "u:home" not in tokens and not any(t == "h:www" for t in tokens)
    assert "depth:4" in model.url_tokens("https://c.example/a/b/c/d/e/f")  # capped


@pytest.mark.parametrize("url", ["https://c.example/", "https://c.example"])
def test_a_root_url_is_home(url):
    assert model.url_tokens(url) == ["h:c", "tld:example", "depth:0", "u:home"]


def test_no_url_and_percent_decoded_path_words():
    assert model.url_tokens(None) == ["u:none"]
    assert model.url_tokens("") == ["u:none"]
    tokens = model.url_tokens("https://c.example/tratamientos/exosomas%20capilares/%C3%A9xosome")
    assert {"u:tratamientos", "u:exosomas", "u:capilares", "u:éxosome"} <= set(tokens)
    assert not any("%" in t or t in ("u:20", "u:c3") for t in tokens)


# 2. model_text


def test_model_text_is_bounded_and_reads_around_a_deep_mention():
    filler = "The waiting room has green chairs and a quiet fountain by the window. " * 1500
    text = (
        "Welcome to our clinic page. " + filler + "Our exosome scalp therapy runs in three visits. " + filler
    )
    reading = flagger.read_page(text)
    assert reading is not None and reading.products[0].start > 50_000
    read = model.model_text(text, reading.products)
    assert len(read) <= model.TEXT_CHARS < len(text)
    assert read.startswith("Welcome to our clinic page.")
    assert "Our exosome scalp therapy runs in three visits." in read


# 3-4. the model file


def test_shipped_model_file_holds_only_numbers():
    with np.load(model.MODEL_PATH, allow_pickle=False) as data:
        assert set(data.files) == {"index", "weight", "intercept", "version"}
        for key in data.files:
            assert data[key].dtype.kind in "iuf", key
        assert data["index"].shape == data["weight"].shape and data["index"].size > 0
        assert data["index"].min() >= 0 and data["index"].max() < 2 * model.N_FEATURES
    shipped = model.load_model()
    assert shipped.version == model.MODEL_VERSION
    fresh = model.load_model.__wrapped__(str(model.MODEL_PATH))
    context = model.context_document(CLINIC_URL, None, "clinic", {"offer": 1}, ("medium", "exosome_cosmetic"))
    first = shipped.probability(HAIR, context)
    assert first == shipped.probability(HAIR, context) == fresh.probability(HAIR, context)
    assert 0.0 < first < 1.0


def test_save_and_load_round_trip(tmp_path):
    rng = np.random.default_rng(7)
    weights = np.zeros(2 * model.N_FEATURES)
    weights[rng.choice(weights.size, 5000, replace=False)] = rng.normal(0, 2, 5000)
    original = model.PageModel(weights, -0.3, 7)
    path = tmp_path / "m.npz"
    original.save(path)
    loaded = model.load_model.__wrapped__(str(path))
    assert loaded.version == 7 and loaded.intercept == pytest.approx(-0.3)
    assert np.count_nonzero(loaded.weights) == 5000
    for text, context in [(HAIR, "k:clinic u:exosome"), (EXPLAINER, "u:none k:unknown r:none")]:
        assert loaded.probability(text, context) == pytest.approx(
            original.probability(text, context), abs=1e-6
        )


# 5. assess_page with and without the model


@pytest.mark.parametrize("text", [HAIR, EXPLAINER, RESEARCH_ONLY])
def test_without_the_model_the_rules_decide(text):
    verdict = flagger.assess_page(text, url=CLINIC_URL, site_kind="clinic", model=False)
    assert verdict == flagger.assess_reading(flagger.read_page(text))
    assert verdict.model is None and verdict.as_dict()["decided_by"] == "rules"


@pytest.mark.parametrize("text", [HAIR, EXPLAINER])
def test_a_model_flag_says_so_and_its_evidence_is_in_the_page(text):
    verdict = flagger.assess_page(text, url=CLINIC_URL, site_kind="clinic")
    assert verdict.flag and verdict.findings
    as_dict = verdict.as_dict()
    assert as_dict["decided_by"] == "page model"
    assert as_dict["model_probability"] == pytest.approx(verdict.model, abs=1e-4)
    assert verdict.model >= flagger.MODEL_THRESHOLD
    for finding in verdict.findings:
        assert finding.snippet and finding.snippet == " ".join(text[finding.start : finding.end].split())
    # the rules alone find nothing offered in the bare explainer: the model made this flag
    if text is EXPLAINER:
        assert not flagger.assess_page(text, model=False).flag


# 6. context matters


def test_a_clinic_treatment_page_scores_higher_than_a_news_page():
    clinic = probability(HAIR, url=CLINIC_URL, site_kind="clinic")
    news = probability(HAIR, url=NEWS_URL, site_kind="news")
    assert clinic > news
    assert flagger.assess_page(HAIR, url=CLINIC_URL, site_kind="clinic").model == pytest.approx(clinic)


# 7. vetoes


class Certain:
    """A model sure of an offer, whatever the page."""

    def probability(self, text, context):
        return 0.999


@pytest.mark.parametrize(
    "text",
    [RESEARCH_ONLY, "We do not offer exosome treatments at this clinic. Ask us about PRP instead."],
)
def test_vetoes_hold_whatever_the_model_says(text):
    for chosen in (True, Certain()):
        verdict = flagger.assess_page(
            text, url=CLINIC_URL, site_kind="clinic", site_offers=True, model=chosen
        )
        assert not verdict.flag and verdict.reason in flagger.VETOES and verdict.model is None


# 8. indirect sites


@pytest.mark.parametrize("kind", ["vendor", "directory", "broker"])
def test_an_indirect_site_makes_a_flag_low(kind):
    url = "https://glowsupply.example/products/exosome-hair/"
    verdict = flagger.assess_page(HAIR, url=url, site_kind=kind, model=Certain())
    assert verdict.flag and verdict.severity == "low"
    assert [f.rule_id for f in verdict.findings] == ["exosome_indirect"]
    assert flagger.INDIRECT_SITES[kind] in verdict.findings[0].phrases
    # the same page on a clinic's site is graded on its claims (cosmetic: medium)
    assert flagger.assess_page(HAIR, url=url, site_kind="clinic", model=Certain()).severity == "medium"


def test_the_shipped_model_flags_a_vendor_page_low():
    verdict = flagger.assess_page(HAIR, url=CLINIC_URL, site_kind="vendor")
    assert verdict.flag and verdict.severity == "low" and verdict.model is not None


# 9. another offering page of the site lowers the bar


def test_site_offers_lowers_the_threshold(monkeypatch):
    p = probability(HAIR, url=NEWS_URL, site_kind="news")
    if not flagger.SITE_THRESHOLD <= p < flagger.MODEL_THRESHOLD:  # the model was retrained
        monkeypatch.setattr(flagger, "MODEL_THRESHOLD", p + 0.01)
        monkeypatch.setattr(flagger, "SITE_THRESHOLD", p - 0.01)
    alone = flagger.assess_page(HAIR, url=NEWS_URL, site_kind="news")
    assert not alone.flag and "page model" in alone.reason
    known = flagger.assess_page(HAIR, url=NEWS_URL, site_kind="news", site_offers=True)
    assert known.flag and known.model == pytest.approx(p)


# 10. the CLI


@pytest.fixture
def page_file(tmp_path, monkeypatch):
    monkeypatch.delenv("EXOWATCH_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./config.toml: built-in defaults
    path = tmp_path / "page.txt"
    path.write_text(HAIR, encoding="utf-8")
    return str(path)


def test_check_page_refuses_a_non_http_url(page_file, capsys):
    assert main(["check-page", page_file, "--url", "ftp://x"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--url" in err and "ftp://x" in err


def test_check_page_refuses_an_unknown_site_kind(page_file, capsys):
    assert main(["check-page", page_file, "--site-kind", "nonsense"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--site-kind" in err and "nonsense" in err


def test_check_page_json_with_context(page_file, capsys):
    url = "https://c.example/treatments/exosome/"
    argv = ["check-page", page_file, "--url", url, "--site-kind", "clinic"]
    assert main([*argv, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"flag", "severity", "findings", "decided_by", "model_probability"} <= set(out)
    assert "reason" not in out
    assert out["flag"] is True and out["decided_by"] == "page model" and out["findings"]
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith("flag: yes (medium, page model ")


# 11. training without texts


def test_train_model_without_texts_writes_nothing(tmp_path, capsys):
    labels, texts, out = tmp_path / "labels", tmp_path / "texts", tmp_path / "m.npz"
    labels.mkdir()
    texts.mkdir()
    row = {"kind": "clinic", "label": "flag", "severity": "medium"}
    rows = [{"id": f"p{i}", "url": f"https://site{i}.example/exosome/", **row} for i in range(6)]
    (labels / "dev_en.jsonl").write_text("\n".join(map(json.dumps, rows)) + "\n", encoding="utf-8")
    (labels / "dev_intl.jsonl").write_text("", encoding="utf-8")
    code = train_model.main(["--labels", str(labels), "--texts", str(texts), "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert "no examples" in err and "no saved text" in err
    assert not out.exists()
