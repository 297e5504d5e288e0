"""The letter extractor on real fda.gov letter pages (tests/fixtures/fda/real/letters).

Two truths, neither from the extractor: FDA's listing exports for company, letter date, issuing
office and MARCS-CMS number on every page (tests/real_letters.py), and values read off the pages by
hand for the rest (recipient, address, products, reference, where the letter starts and ends).
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from crawler.extract.letter_page import parse_letter_page
from crawler.normalize.offices import canonical_office
from tests import real_letters
from tests.real_letters import FDA, GOAL, REAL_LETTERS

#: Read by hand from each page's markup (hand_checked.json beside the pages): recipient name and
#: title, the address as the page splits it, e-mails, products, reference, delivery method, and the
#: letter's first and last paragraph (whitespace-collapsed blocks, as the extractor gives them).
HAND_CHECKED: dict[str, dict] = json.loads((REAL_LETTERS / "hand_checked.json").read_text(encoding="utf-8"))[
    "pages"
]


@pytest.fixture(scope="module")
def results() -> list[real_letters.Outcome]:
    return real_letters.outcomes()


def test_the_manifest_names_the_source_of_every_page_and_only_those():
    entries = real_letters.manifest()
    assert sorted(e["slug"] for e in entries) == sorted(p.stem for p in REAL_LETTERS.glob("*.html"))
    for entry in entries:
        assert entry["file"] == entry["slug"] + ".html"
        assert entry["repository"] == "chleogks1598-beep/fda-warning-letters"
        assert entry["path"] == f"public/archive/{entry['slug']}.html"
        assert len(entry["commit"]) == 40


def test_the_corpus_spreads_over_years_and_offices(results):
    pages = [r.page for r in results if r.page]
    assert len(pages) >= 60
    years = {p.letter_date.year for p in pages if p.letter_date}
    assert len(years) >= 6, sorted(years)
    offices = {canonical_office(p.issuing_office_raw) for p in pages}
    assert len(offices) >= 8, sorted(map(str, offices))


def test_every_real_page_extracts(results):
    failed = {r.slug: r.error for r in results if r.error}
    assert not failed


def test_agreement_with_fdas_listing_is_at_least_99_percent_on_each_field(results):
    figures = real_letters.agreement(results)
    shown = {f: f"{a}/{n}" for f, (a, n) in figures.items()}
    for field, (agree, total) in figures.items():
        assert total >= 50, shown
        assert agree / total >= GOAL, (field, shown, real_letters.disagreements(results))


def test_every_disagreement_with_the_listing_is_explained(results):
    unexplained = [
        d for d in real_letters.disagreements(results) if (d[0], d[1]) not in real_letters.KNOWN_DISAGREEMENTS
    ]
    assert not unexplained
    found = {(d[0], d[1]) for d in real_letters.disagreements(results)}
    assert set(real_letters.KNOWN_DISAGREEMENTS) <= found, "a reason for a disagreement that is gone"


def test_the_committed_agreement_report_is_current(results):
    assert real_letters.REPORT.read_text(encoding="utf-8") == real_letters.report(results)


def test_at_least_20_pages_are_checked_by_hand():
    assert len(HAND_CHECKED) >= 20


@pytest.mark.parametrize("slug", sorted(HAND_CHECKED))
def test_fields_checked_by_hand(slug):
    want = dict(HAND_CHECKED[slug])
    page = parse_letter_page((REAL_LETTERS / f"{slug}.html").read_bytes(), FDA + slug)
    paragraphs = page.body_text.split("\n\n")
    assert paragraphs[0] == want.pop("body_first")
    assert paragraphs[-1] == want.pop("body_last")
    got = {key: list(v) if isinstance(v := getattr(page, key), tuple) else v for key in want}
    assert got == want


def test_the_letter_date_of_a_real_page_is_the_h1s_time_element():
    slug = "brigham-and-womens-hospital-inc-623476-04112022"
    page = parse_letter_page((REAL_LETTERS / f"{slug}.html").read_bytes(), FDA + slug)
    assert page.letter_date == date(2022, 4, 11)
    assert page.reference_number == "623476"


def _without_main(html: bytes) -> bytes:
    """A real page as someone else might save it: no div[role=main], the letter loose in the body
    after the site's reorganization banner and a breadcrumb (our edit of a real page)."""
    text = html.decode("utf-8").replace('role="main"', "")
    banner = (
        "<p>On Oct. 1, 2024, the FDA began implementing a reorganization impacting many parts of the "
        "agency. We are in the process of updating FDA.gov content to reflect these changes.</p>"
        "<ol><li>Home</li><li>Inspections, Compliance, Enforcement, and Criminal Investigations</li>"
        "<li>Warning Letters</li></ol>"
    )
    article = text.index("<article")
    return f"<html><body>{banner}{text[:article]}{text[article:]}</body></html>".encode()


@pytest.mark.parametrize("slug", sorted(HAND_CHECKED))
def test_a_copy_without_fdas_main_block_reads_the_same_letter(slug):
    html = (REAL_LETTERS / f"{slug}.html").read_bytes()
    real = parse_letter_page(html, FDA + slug)
    copy = parse_letter_page(_without_main(html), FDA + slug)
    for field in ("company_name", "marcs_cms_number", "letter_date", "issuing_office", "products",
                  "reference_number", "recipient_name", "address_line1", "emails"):  # fmt: skip
        assert getattr(copy, field) == getattr(real, field), field
    assert copy.body_text == real.body_text  # no banner, breadcrumb or sidebar text, the letter whole


def test_a_page_whose_header_fields_stand_outside_the_main_block_reads_the_same():
    slug = "brigham-and-womens-hospital-inc-623476-04112022"
    html = (REAL_LETTERS / f"{slug}.html").read_bytes().decode("utf-8")
    start = html.index('<div class="col-md-8" role="main">') + len('<div class="col-md-8" role="main">')
    letter = html.index('<p class="text-align-center"><strong>WARNING LETTER')
    header = html[start:letter]
    moved = html[:start] + html[letter:]
    moved = moved.replace(
        '<div class="col-md-8" role="main">', f"<div>{header}</div>" + '<div class="col-md-8" role="main">'
    )
    real = parse_letter_page(html.encode(), FDA + slug)
    assert parse_letter_page(moved.encode(), FDA + slug) == real
