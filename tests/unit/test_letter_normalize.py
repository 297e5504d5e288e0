from datetime import date

import pytest

from crawler.normalize.letters import ListingRow, letter_from_listing, letter_slug, marcs_cms_number
from crawler.normalize.text import clean, parse_listing_date

PREFIX = "/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/"


@pytest.mark.parametrize(
    ("url", "slug"),
    [
        (PREFIX + "kimera-labs-inc-649343-09012023", "kimera-labs-inc-649343-09012023"),
        ("https://www.fda.gov" + PREFIX + "oralabs-inc-720690-03112026/", "oralabs-inc-720690-03112026"),
        ("http://fda.gov" + PREFIX + "Veronvy-694688-12102024?utm=x#top", "veronvy-694688-12102024"),
    ],
)
def test_slug_is_the_last_path_segment_on_fda_gov(url, slug):
    assert letter_slug(url) == slug


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://evil.example" + PREFIX + "x-123456-01012024", "not on fda.gov"),
        ("javascript:alert(1)", r"not http\(s\)"),
        ("https://www.fda.gov/news-events/x", "not under /warning-letters/"),
        (PREFIX + "bad slug!", "no valid slug"),
    ],
)
def test_foreign_or_malformed_urls_are_refused(url, problem):
    with pytest.raises(ValueError, match=problem):
        letter_slug(url)


@pytest.mark.parametrize(
    ("slug", "cms"),
    [
        ("kimera-labs-inc-649343-09012023", "649343"),
        ("apothecary-pharma-llc-717972-12012025", "717972"),
        ("x-717927-01282026-0", "717927"),
        ("trang-thuy-seafood-co-ltd-66434-11032023", "66434"),
        ("8046255-canada-inc-dba-viatrexx-596178-06112020", "596178"),
        ("mariscos-procesados-694846-campresa", "694846"),
        ("fresh-express-inc-609899-div-chiquita-brands", "609899"),
        ("dr-gaters-weight-loss-wellness-09092025", None),
        ("moorish-science-temple-13-moorish-american-national", None),
    ],
)
def test_marcs_cms_number_is_parsed_where_the_slug_has_one(slug, cms):
    assert marcs_cms_number(slug) == cms


def test_dates_and_text():
    assert parse_listing_date("03/17/2026") == date(2026, 3, 17)
    assert parse_listing_date("2026-03-17") == date(2026, 3, 17)
    assert parse_listing_date("") is None
    with pytest.raises(ValueError, match="posted date '13/45/2026' is not a date"):
        parse_listing_date("13/45/2026", field="posted date")
    assert clean("  AmWiner & Raphe  Holdings,\tLLC ") == "AmWiner & Raphe Holdings, LLC"
    assert clean("   ") is None
    assert clean("Evil\x1b[2J\x1b]0;pwned\x07 Co\u202e") == "Evil[2J]0;pwned Co"
    with pytest.raises(ValueError, match="longer than"):
        clean("x" * 5000, field="company")


def test_listing_row_becomes_a_canonical_record():
    record = letter_from_listing(
        ListingRow(
            url=PREFIX + "invitrx-therapeutics-inc-581182-03162020",
            posted_date="03/24/2020",
            letter_date="03/16/2020",
            company=" Invitrx Therapeutics, Inc. ",
            issuing_office="Center for Biologics Evaluation and Research",
            subject="Unapproved Products",
            closeout_letter="",
        )
    )
    assert record.slug == "invitrx-therapeutics-inc-581182-03162020"
    assert record.url == "https://www.fda.gov" + PREFIX + record.slug
    assert record.marcs_cms_number == "581182"
    assert record.company_name == "Invitrx Therapeutics, Inc."
    assert record.issuing_office == "Center for Biologics Evaluation and Research (CBER)"
    assert record.issuing_office_raw == "Center for Biologics Evaluation and Research"
    assert record.posted_date == date(2020, 3, 24)
    assert record.closeout_letter_date is None
