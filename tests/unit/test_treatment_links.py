"""Which links on a clinic's site lead to its treatments and prices
(crawler.sites.treatment_links.is_treatment_link): English, Korean, Turkish and Spanish words in
the URL path (also percent-encoded) or in the anchor text, case-insensitive; and the links that
must not be followed (privacy, careers, about, contact, blog, login; "iv" inside words).
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from crawler.sites.treatment_links import is_treatment_link

SITE = "https://www.glow.example"
NEUTRAL = SITE + "/page-17"

ENGLISH = [
    "services",
    "our-services",
    "treatments",
    "treatments/exosomes",
    "pricing",
    "price-list",
    "prices",
    "menu",
    "spa-menu",
    "hair-restoration",
    "skin",
    "skin-care",
    "facials",
    "regenerative-medicine",
    "regenerative",
    "stem-cells",
    "stem_cells",
    "exosome",
    "exosomes",
    "exosome-therapy",
    "prp",
    "prp-facial",
    "iv",
    "iv-therapy",
    "iv_drip",
    "drip",
    "drip-bar",
    "injections",
    "injectables",
    "anti-aging",
    "antiaging",
    "anti-ageing",
    "rejuvenation",
    "microneedling",
    "therapies",
]


@pytest.mark.parametrize("path", ENGLISH)
def test_english_words_in_the_path(path):
    assert is_treatment_link(f"{SITE}/{path}", None)
    assert is_treatment_link(f"{SITE}/en/{path}/", "")


@pytest.mark.parametrize(
    "anchor",
    [
        "Services",
        "Our Treatments",
        "Pricing",
        "Price List",
        "Menu",
        "Hair Restoration",
        "Skin",
        "Facials",
        "Regenerative Medicine",
        "Stem Cell Therapy",
        "Stem Cells",
        "Exosome Therapy",
        "PRP",
        "IV Therapy",
        "IV Drips",
        "Injections",
        "Anti-Aging",
        "Anti Aging",
        "Rejuvenation",
        "Microneedling",
        "Special Offers",
    ],
)
def test_english_words_in_the_anchor(anchor):
    assert is_treatment_link(NEUTRAL, anchor)


@pytest.mark.parametrize(
    "anchor",
    ["피부 시술", "시술 안내", "가격", "가격표", "엑소좀", "줄기세포", "탈모", "피부과 진료", "엑소좀시술"],
)
def test_korean_words_in_the_anchor(anchor):
    assert is_treatment_link(NEUTRAL, anchor)


@pytest.mark.parametrize(
    "path", ["피부-시술", "가격", "가격표", "엑소좀", "줄기세포", "탈모-치료", "clinic/피부"]
)
def test_korean_words_in_the_path_also_percent_encoded(path):
    assert is_treatment_link(f"{SITE}/{path}", None)
    assert is_treatment_link(f"{SITE}/{quote(path)}", None)
    assert is_treatment_link(f"{SITE}/{quote(path).lower()}", None)


@pytest.mark.parametrize(
    "anchor",
    [
        "Tedaviler",
        "Tedavilerimiz",
        "Fiyatlar",
        "Fiyat Listesi",
        "Hizmetlerimiz",
        "eksozom",
        "Eksozom Tedavisi",
        "kök hücre",
        "Kök Hücre Tedavisi",
        "kok hucre",
        "cilt bakımı",
        "Cilt Bakımı",
        "saç",
        "Saç Ekimi",
        "SAÇ EKİMİ",
        "KÖK HÜCRE",
    ],
)
def test_turkish_words_in_the_anchor(anchor):
    assert is_treatment_link(NEUTRAL, anchor)


@pytest.mark.parametrize(
    "path",
    ["tedaviler", "fiyatlar", "eksozom-tedavisi", "kök-hücre", "cilt-bakimi", "sac-ekimi", "saç-ekimi"],
)
def test_turkish_words_in_the_path_also_percent_encoded(path):
    assert is_treatment_link(f"{SITE}/tr/{path}", None)
    assert is_treatment_link(f"{SITE}/tr/{quote(path)}", None)


@pytest.mark.parametrize("anchor", ["FİYATLAR", "CİLT BAKIMI", "HİZMETLERİMİZ"])
def test_upper_case_turkish_anchors_with_dotted_capital_i(anchor):
    assert is_treatment_link(NEUTRAL, anchor)


@pytest.mark.parametrize(
    "anchor",
    [
        "Tratamientos",
        "Precios",
        "exosomas",
        "Terapia con Exosomas",
        "células madre",
        "Células Madre",
        "celulas madre",
        "Servicios",
        "Cuidado de la piel",
    ],
)
def test_spanish_words_in_the_anchor(anchor):
    assert is_treatment_link(NEUTRAL, anchor)


@pytest.mark.parametrize(
    "path", ["es/tratamientos", "precios", "exosomas", "celulas-madre", "células-madre", "servicios"]
)
def test_spanish_words_in_the_path_also_percent_encoded(path):
    assert is_treatment_link(f"{SITE}/{path}", None)
    assert is_treatment_link(f"{SITE}/{quote(path)}", None)


@pytest.mark.parametrize(
    ("path", "anchor"),
    [
        ("privacy", "Privacy"),
        ("privacy-policy", "Privacy Policy"),
        ("careers", "Careers"),
        ("about", "About us"),
        ("about-us", "About"),
        ("contact", "Contact"),
        ("contact-us", "Get in touch"),
        ("blog", "Blog"),
        ("login", "Log in"),
        ("archive", "Archive"),
        ("archives/2020", "Archives"),
        ("private", "Private"),
        ("private-events", "Private events"),
        ("derivative", "Derivative works"),
        ("driving-directions", "Directions"),
        ("team", "Our team"),
        ("gallery", "Gallery"),
        ("faq", "FAQ"),
        ("", "Home"),
    ],
)
def test_pages_that_are_not_treatments(path, anchor):
    assert not is_treatment_link(f"{SITE}/{path}", anchor)
    assert not is_treatment_link(f"{SITE}/{path}", None)


@pytest.mark.parametrize(
    "word", ["archive", "private", "derivative", "olivia", "civic", "divine", "vivid", "ivory"]
)
def test_iv_inside_a_word_is_not_an_iv_drip(word):
    assert not is_treatment_link(f"{SITE}/{word}", word.title())


@pytest.mark.parametrize("word", ["prpl", "approval", "sprp"])
def test_prp_inside_a_word_is_not_prp(word):
    assert not is_treatment_link(f"{SITE}/{word}", word)


def test_only_the_path_is_read_not_the_query_or_fragment_or_host():
    assert not is_treatment_link(f"{SITE}/about?ref=services", None)
    assert not is_treatment_link(f"{SITE}/about#treatments", None)
    assert not is_treatment_link("https://skin-treatments.example/about", None)


def test_the_anchor_alone_is_enough_and_an_empty_anchor_is_nothing():
    assert is_treatment_link(f"{SITE}/about", "Exosome Treatments")
    assert not is_treatment_link(f"{SITE}/about", "")
    assert not is_treatment_link(f"{SITE}/about", "   ")
    assert not is_treatment_link(f"{SITE}/about", "— · —")


@pytest.mark.parametrize(
    ("path", "anchor"),
    [
        ("TREATMENTS", None),
        ("Pricing", None),
        ("EXOSOMES", None),
        ("IV-Therapy", None),
        ("x", "TREATMENTS"),
        ("x", "pRiCiNg"),
        ("x", "iv drip"),
        ("x", "EXOSOMAS"),
        ("x", "TEDAVİLER"),
        ("x", "KÖK HÜCRE"),
    ],
)
def test_matching_is_case_insensitive(path, anchor):
    assert is_treatment_link(f"{SITE}/{path}", anchor)
