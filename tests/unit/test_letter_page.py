"""The letter-page extractor on the saved letter pages (tests/fixtures/fda/site/...) and on hostile input.

Expected values are written out literally: the real letters' values come from the saved source data
(tests/fixtures/fda/letters/*.json, the page excerpts) and the listing rows, not from the extractor.
"""

import contextlib
import hashlib
import importlib.util
import json
import random
import re
import sys
from dataclasses import asdict, fields
from datetime import date

import pytest

from crawler.errors import SourceFailure
from crawler.extract.letter_page import MAX_PAGE_BYTES, LetterPage, parse_letter_page
from tests.conftest import FIXTURES

FDA = "https://www.fda.gov/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/"
SITE = (
    FIXTURES
    / "fda"
    / "site"
    / "inspections-compliance-enforcement-and-criminal-investigations"
    / "warning-letters"
)
LETTERS = FIXTURES / "fda" / "letters"
#: The same letters in the layout these fixtures first had (header fields outside div[role=main]):
#: a regression set. The site's pages follow real fda.gov markup (tests/fixtures/fda/real/letters).
LEGACY = FIXTURES / "fda" / "legacy_letters"
LAYOUTS = {"fda": SITE, "legacy": LEGACY}
PLACEHOLDER = (
    "[Fixture placeholder: the text of this letter is not in the saved data. "
    "This page was built from its listing row only.]"
)
CDER = "Center for Drug Evaluation and Research (CDER)"
NOTHING = {
    "delivery_method": None,
    "reference_number": None,
    "recipient_name": None,
    "recipient_title": None,
    "address_line1": None,
    "locality": None,
    "region": None,
    "postal_code": None,
    "country": None,
    "emails": (),
    "response_letters": (),
    "closeout_letters": (),
}

# Long letters: the body is pinned by its hash, its length and paragraph count, its first paragraphs
# and its last one (and compared whole with the saved letter text in a test below).
EXPECTED = {
    "invitrx-therapeutics-inc-581182-03162020": {
        "title": "Invitrx Therapeutics Inc. - 581182 - 03/16/2020",
        "company_name": "Invitrx Therapeutics Inc.",
        "marcs_cms_number": "581182",
        "letter_date": date(2020, 3, 16),
        "issuing_office_raw": "Center for Biologics Evaluation and Research (CBER)",
        "issuing_office": "Center for Biologics Evaluation and Research (CBER)",
        "delivery_method": "VIA UNITED PARCEL SERVICE",
        "products": ("Biologics",),
        "reference_number": "OBPO 20-581182",
        "recipient_name": "Habib (nmi) Torfi",
        "recipient_title": "Chief Executive Officer",
        "address_line1": "20503 Crescent Bay Drive",
        "locality": "Lake Forest",
        "region": "CA",
        "postal_code": "92630",
        "country": "United States",
        "emails": (),
        "response_letters": (),
        "closeout_letters": (),
        "content_hash": "1d97c5001324ce0f9cdb0ba946c34dd5969b5c9e778ff8bb3858856717d1663d",
        "body_head": (
            "WARNING LETTER",
            "March 16, 2020",
            "Warning Letter #OBPO 20-581182",
            "Dear Mr. Torfi,",
        ),
        "body_tail": (
            "3 Under 21 CFR 1271.3(e), manufacture “means, but is not limited to, any or all steps in the "
            "recovery, processing, storage, labeling, packaging, or distribution of any human cell or tissue, "
            "and the screening or testing of the cell or tissue donor.” Because both Invitrx and (b)(4) "
            "manufacture the products, within the meaning of 21 CFR 1271.3(e), FDA considered both firms’ "
            "objective intent in evaluating whether the products are “intended for homologous use only” under "
            "21 CFR 1271.10(a)(2)."
        ),
        "paragraphs": 60,
        "body_chars": 21525,
    },
    "apia-export-fish-packers-ltd-598015-01082020": {
        "title": "Apia Export Fish Packers LTD - 598015 - 01/08/2020",
        "company_name": "Apia Export Fish Packers LTD",
        "marcs_cms_number": "598015",
        "letter_date": date(2020, 1, 8),
        "issuing_office_raw": "Center for Food Safety and Applied Nutrition (CFSAN)",
        "issuing_office": "Center for Food Safety and Applied Nutrition (CFSAN)",
        "delivery_method": "Via Express Delivery",
        "products": ("Food & Beverages",),
        "reference_number": "598015",
        "recipient_name": "Mr. Mr. John Luff",  # sic, as FDA's page has it
        "recipient_title": "Managing Director",
        "address_line1": "P.O. Box 2273",
        "locality": "Apia",
        "region": None,
        "postal_code": None,
        "country": "Samoa",
        "emails": (),
        "response_letters": (),
        "closeout_letters": (),
        "content_hash": "b7145c3df0da35a010bb66e6608f2b70659fd29fc27580ad6c187e5686526331",
        "body_head": ("Jan 8, 2020", "WARNING LETTER", "Reference# 598015", "Dear Mr. Luff:"),
        "body_tail": (
            "William A. Correll Director Office of Compliance Center for Food Safety and Applied Nutrition"
        ),
        "paragraphs": 45,
        "body_chars": 13225,
    },
    "kimera-labs-inc-649343-09012023": {
        "title": "Kimera Labs, Inc. - 649343 - 09/01/2023",
        "company_name": "Kimera Labs, Inc.",
        "marcs_cms_number": "649343",
        "letter_date": date(2023, 9, 1),
        "issuing_office_raw": "Division of Biological Products Operations I",
        "issuing_office": "Office of Biological Products Operations - Division 1",
        "delivery_method": "VIA UNITED PARCEL SERVICE",
        "products": ("Biologics",),
        "reference_number": "23-649343",
        # FDA's page puts the title under the "Recipient Name" label, has no "Recipient Title",
        # and prints the person under the company: the extractor untangles them.
        "recipient_name": "Duncan B. Ross, Ph.D.",
        "recipient_title": "Chief Executive Officer",
        "address_line1": "2810 N. Commerce Parkway",
        "locality": "Miramar",
        "region": "FL",
        "postal_code": "33025",
        "country": "United States",
        "emails": ("duncan.ross@kimeralabs.com",),
        "response_letters": (),
        "closeout_letters": (),
        "content_hash": "56e8f04310250de9d83a94c9b0ff281b24ed4660ea9c01b69ac7c6996727c521",
        "body_head": ("WARNING LETTER", "September 1, 2023", "23-649343", "Dear Dr. Ross:"),
        "body_tail": (
            "5 Specifically, an indication of XoGlo is “treatment of skin damage after cosmetic or other facial "
            "injury by heat, light, physical, or chemical damage” according to labeling collected during the "
            "inspection."
        ),
        "paragraphs": 44,
        "body_chars": 16526,
    },
    "granules-india-limited-697115-02262025": {
        "title": "Granules India Limited - 697115 - 02/26/2025",
        "company_name": "Granules India Limited",
        "marcs_cms_number": "697115",
        "letter_date": date(2025, 2, 26),
        "issuing_office_raw": CDER,
        "issuing_office": CDER,
        "delivery_method": None,
        "products": ("Drugs",),
        "reference_number": "320-25-48",
        "recipient_name": "Dr. Krishna Prasad Chigurupati",
        "recipient_title": "Chairman and Managing Director",
        "address_line1": (
            "Survey No 160/A, 161/E, 162 and 174/A, Gagillapur Village, Dundigal-Gandimaisamma Mandal"
        ),
        "locality": "Medchal-Malkhajgiri District",
        "region": "Telangana",
        "postal_code": None,
        "country": "India",
        "emails": (),
        "response_letters": (),
        "closeout_letters": (),
        "content_hash": "9982d5d45f88bbf270766996f4eda3126569f41bcc38b71dda68f59753a5d59e",
        "body_head": (
            "Warning Letter 320-25-48",
            "February 26, 2025",
            "Dear Dr. Prasad:",
            "The U.S. Food and Drug Administration (FDA) inspected your drug manufacturing facility, Granules "
            "India Limited, FEI 3004097901, located at Survey No 160/A, 161/E, 162 and 174/A, Gagillapur "
            "Village, Dundigal-Gandimaisamma Mandal, Medchal-Malkhajgiri District, Telangana, from August 26 "
            "to September 6, 2024.",
        ),
        "body_tail": (
            "1 Under program enhancements for the Generic Drug User Fee Amendments (GDUFA) reauthorization for "
            "fiscal years (FYs) 2023-2027, also known as the GDUFA III Commitment Letter, your facility may be "
            "eligible for a Post-Warning Letter Meeting to obtain preliminary feedback from FDA on the adequacy "
            "and completeness of your corrective action plans."
        ),
        "paragraphs": 41,
        "body_chars": 13897,
    },
    "chiefcottonmouthcom-704589-03212025": {
        "title": "chiefcottonmouth.com - 704589 - 03/21/2025",
        "company_name": "chiefcottonmouth.com",
        "marcs_cms_number": "704589",
        "letter_date": date(2025, 3, 21),
        "issuing_office_raw": "Center for Tobacco Products",
        "issuing_office": "Center for Tobacco Products (CTP)",
        "delivery_method": "VIA UPS and Electronic Mail",
        "products": ("Tobacco",),
        "reference_number": "RW2502259",
        "recipient_name": None,
        "recipient_title": None,
        "address_line1": "1111 River Road",
        "locality": "Puyallup",
        "region": "WA",
        "postal_code": "98371",
        "country": "United States",
        "emails": ("chiefcottonmouth@gmail.com",),
        "response_letters": (),
        "closeout_letters": (),
        "content_hash": "f3b8243c61b9bd4d9aca60f9bcabb15b92df5f4adae9fb39c3a7e41a62182c40",
        "body_head": (
            "March 21, 2025",
            "WARNING LETTER",
            "To Whom It May Concern:",
            "The Center for Tobacco Products of the U.S. Food and Drug Administration (FDA) recently reviewed "
            "the website https://www.chiefcottonmouth.com and determined that electronic nicotine delivery "
            "system (ENDS) products listed there are offered for sale or distribution to customers in the "
            "United States.",
        ),
        "body_tail": "Shopify Inc. abuse@shopify.com",
        "paragraphs": 25,
        "body_chars": 7148,
    },
    # Listing-only letters: header from the listing row, short placeholder body.
    "dr-gaters-weight-loss-wellness-09092025": {
        **NOTHING,
        "title": "Dr. Gater’s Weight Loss & Wellness - 09/09/2025",
        "company_name": "Dr. Gater’s Weight Loss & Wellness",
        "marcs_cms_number": None,
        "letter_date": date(2025, 9, 9),
        "issuing_office_raw": CDER,
        "issuing_office": CDER,
        "products": ("Drugs",),
        "content_hash": "0e8341f18100c9ec1265ccd45f4e642e84cd6e99b6fac112333732ea5d14b308",
        "body_text": "\n\n".join(
            [
                "WARNING LETTER",
                "September 9, 2025",
                PLACEHOLDER,
                "Letter: dr-gaters-weight-loss-wellness-09092025",
                "Company: Dr. Gater’s Weight Loss & Wellness",
                "Letter issue date: 09/09/2025",
                "Posted: 09/16/2025",
                "Issuing office: Center for Drug Evaluation and Research (CDER)",
                "Subject: Unlawful Sale of Unapproved and Misbranded Drugs to United States Consumers Over the "
                "Internet",
            ]
        ),
    },
    "aytu-biopharma-716599-09092025": {
        **NOTHING,
        "title": "Aytu Biopharma - 716599 - 09/09/2025",
        "company_name": "Aytu Biopharma",
        "marcs_cms_number": "716599",
        "letter_date": date(2025, 9, 9),
        "issuing_office_raw": CDER,
        "issuing_office": CDER,
        "products": (),
        "content_hash": "81810ecfaf2b6bb691525211796c918292e6d7135c33a3c5d6786438d21357e5",
        "body_text": "\n\n".join(
            [
                "WARNING LETTER",
                "September 9, 2025",
                PLACEHOLDER,
                "Letter: aytu-biopharma-716599-09092025",
                "Company: Aytu Biopharma",
                "Letter issue date: 09/09/2025",
                "Posted: 09/16/2025",
                "Issuing office: Center for Drug Evaluation and Research (CDER)",
                "Subject: False & Misleading Claims/Misbranded",
            ]
        ),
    },
    "aytu-biopharma-716604-09092025": {
        **NOTHING,
        "title": "Aytu Biopharma - 716604 - 09/09/2025",
        "company_name": "Aytu Biopharma",
        "marcs_cms_number": "716604",
        "letter_date": date(2025, 9, 9),
        "issuing_office_raw": CDER,
        "issuing_office": CDER,
        "products": (),
        "content_hash": "1123380bd54f6cf9aebdb843bf81ccc8ffd2448ee79a9101a675d04035f5ed53",
        "body_text": "\n\n".join(
            [
                "WARNING LETTER",
                "September 9, 2025",
                PLACEHOLDER,
                "Letter: aytu-biopharma-716604-09092025",
                "Company: Aytu Biopharma",
                "Letter issue date: 09/09/2025",
                "Posted: 09/16/2025",
                "Issuing office: Center for Drug Evaluation and Research (CDER)",
                "Subject: False & Misleading Claims/Misbranded",
            ]
        ),
    },
    "surgenex-llc-615254-11152021": {
        **NOTHING,
        "title": "Surgenex LLC - 615254 - 11/15/2021",
        "company_name": "Surgenex LLC",
        "marcs_cms_number": "615254",
        "letter_date": date(2021, 11, 15),
        "issuing_office_raw": "Office of Biological Products Operations – Division 2",
        "issuing_office": "Office of Biological Products Operations - Division 2",
        "products": ("Biologics",),
        "closeout_letters": (
            (
                date(2023, 9, 29),
                "https://www.fda.gov/media/surgenex-llc-615254-11152021-close-out-letter-09292023/download",
            ),
        ),
        "content_hash": "8a3aed32dc50860ad6c3855ea4c8db1cd0360e5570e960d74cd40dd96bc3bfe3",
        "body_text": "\n\n".join(
            [
                "WARNING LETTER",
                "November 15, 2021",
                PLACEHOLDER,
                "Letter: surgenex-llc-615254-11152021",
                "Company: Surgenex LLC",
                "Letter issue date: 11/15/2021",
                "Posted: 11/23/2021",
                "Issuing office: Office of Biological Products Operations – Division 2",
                "Subject: Deviations/CFR/Regulations for Human Cells, Tissues & Cellular Products (HCT/Ps)",
                "Close-out letter: 09/29/2023",
            ]
        ),
    },
    "synaptent-llc-610683-11092021": {
        **NOTHING,
        "title": "Synaptent, LLC - 610683 - 11/09/2021",
        "company_name": "Synaptent, LLC",
        "marcs_cms_number": "610683",
        "letter_date": date(2021, 11, 9),
        "issuing_office_raw": "Office of Human and Animal Food Operations-East 6",
        "issuing_office": "Office of Human and Animal Food Operations - East Division 6",
        "products": ("Drugs",),
        "response_letters": (
            (
                date(2022, 2, 1),
                "https://www.fda.gov/media/synaptent-llc-610683-11092021-response-letter-02012022/download",
            ),
        ),
        "content_hash": "b3d843bea9326584313c39381ba9e4bf85e88ac4d0c2fd10ae21dc0e2f99add0",
        "body_text": "\n\n".join(
            [
                "WARNING LETTER",
                "November 9, 2021",
                PLACEHOLDER,
                "Letter: synaptent-llc-610683-11092021",
                "Company: Synaptent, LLC",
                "Letter issue date: 11/09/2021",
                "Posted: 12/07/2021",
                "Issuing office: Office of Human and Animal Food Operations-East 6",
                "Subject: New Drug/Misbranded",
                "Response letter: 02/01/2022",
            ]
        ),
    },
    "csl-behring-716297-09092025": {
        **NOTHING,
        "title": "CSL Behring - 716297 - 09/09/2025",
        "company_name": "CSL Behring",
        "marcs_cms_number": "716297",
        "letter_date": date(2025, 9, 9),
        "issuing_office_raw": "Center for Biologics Evaluation and Research (CBER)",
        "issuing_office": "Center for Biologics Evaluation and Research (CBER)",
        "products": ("Drugs", "Biologics"),
        "content_hash": "eeff2b16dd79a14846ffdf29e5ce6012d7612db17659fbab724298d47beca30e",
        "body_text": "\n\n".join(
            [
                "WARNING LETTER",
                "September 9, 2025",
                PLACEHOLDER,
                "Letter: csl-behring-716297-09092025",
                "Company: CSL Behring",
                "Letter issue date: 09/09/2025",
                "Posted: 09/16/2025",
                "Issuing office: Center for Biologics Evaluation and Research (CBER)",
                "Subject: Advertising & Promotional Labeling/Drugs/Biological Products",
            ]
        ),
    },
    "globus-medical-inc-685606-07152024": {
        **NOTHING,
        "title": "Globus Medical, Inc. - 685606 - 07/15/2024",
        "company_name": "Globus Medical, Inc.",
        "marcs_cms_number": "685606",
        "letter_date": date(2024, 7, 15),
        "issuing_office_raw": "Office of Medical Device and Radiological Health Division I",
        "issuing_office": "Office of Medical Device and Radiological Health Operations - Division 1",
        "products": ("Drugs", "Medical Devices"),
        "content_hash": "eb12eec63f417b454dab3f9c4b8cf9ac297e5cf061a157a0bfc02041a6c9ff61",
        "body_text": "\n\n".join(
            [
                "WARNING LETTER",
                "July 15, 2024",
                PLACEHOLDER,
                "Letter: globus-medical-inc-685606-07152024",
                "Company: Globus Medical, Inc.",
                "Letter issue date: 07/15/2024",
                "Posted: 08/13/2024",
                "Issuing office: Office of Medical Device and Radiological Health Division I",
                "Subject: CGMP/QSR/Drug/Medical Devices/Adulterated",
            ]
        ),
    },
}
REAL_LETTERS = {
    "invitrx-therapeutics-inc-581182-03162020": "581182",
    "apia-export-fish-packers-ltd-598015-01082020": "598015",
    "kimera-labs-inc-649343-09012023": "649343",
    "granules-india-limited-697115-02262025": "697115",
    "chiefcottonmouthcom-704589-03212025": "704589",
}
TRUNCATED = "kimera-labs-inc-649343-09012023.truncated"


def fixture_bytes(name: str, layout: str = "fda") -> bytes:
    return (LAYOUTS[layout] / f"{name}.html").read_bytes()


def parse_fixture(slug: str, layout: str = "fda") -> LetterPage:
    return parse_letter_page(fixture_bytes(slug, layout), FDA + slug)


def saved_letter(cms: str) -> dict:
    (path,) = LETTERS.glob(f"letter_{cms}_*.json")
    return json.loads(path.read_text(encoding="utf-8"))


# --- the fixture letters -----------------------------------------------------------------------


def test_fixture_folder_holds_exactly_the_expected_pages():
    assert sorted(p.name[: -len(".html")] for p in SITE.glob("*.html")) == sorted([*EXPECTED, TRUNCATED])
    assert sorted(p.name[: -len(".html")] for p in LEGACY.glob("*.html")) == sorted(EXPECTED)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("slug", sorted(EXPECTED))
def test_every_field_of_every_fixture_letter(slug, layout):
    page = parse_fixture(slug, layout)
    expected = dict(EXPECTED[slug])
    got = asdict(page)
    assert set(got) == {f.name for f in fields(LetterPage)}
    assert got.pop("slug") == slug
    assert got.pop("url") == FDA + slug
    body = got.pop("body_text")
    if "body_text" in expected:
        assert body == expected.pop("body_text")
    else:
        paragraphs = body.split("\n\n")
        assert tuple(paragraphs[:4]) == expected.pop("body_head")
        assert paragraphs[-1] == expected.pop("body_tail")
        assert len(paragraphs) == expected.pop("paragraphs")
        assert len(body) == expected.pop("body_chars")
    assert got == expected  # every other field, compared whole
    assert page.content_hash == hashlib.sha256(body.encode("utf-8")).hexdigest()


@pytest.mark.parametrize(("slug", "cms"), sorted(REAL_LETTERS.items()))
def test_real_letter_bodies_are_the_saved_letter_text(slug, cms):
    """The whole body equals the saved fullContent after its header, paragraph for paragraph."""
    full = saved_letter(cms)["fullContent"]
    start = full.index("United States\n", full.index("Issuing Office:")) + len("United States\n")
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", full[start:])]
    assert parse_fixture(slug).body_text == "\n\n".join(p for p in paragraphs if p)


@pytest.mark.parametrize(("slug", "cms"), sorted(REAL_LETTERS.items()))
def test_real_letter_headers_match_the_saved_header_fields(slug, cms):
    saved = saved_letter(cms)
    page = parse_fixture(slug)
    info = saved["additionalInfo"]
    assert page.company_name == saved["companyName"]
    assert page.issuing_office_raw == saved["issuingOffice"]
    assert page.letter_date.strftime("%m/%d/%Y") == saved["letterIssueDate"]
    assert page.delivery_method == info.get("Delivery Method")
    assert page.products == (info["Product"],)
    if "Reference #" in info:
        assert page.reference_number == info["Reference #"]
    assert page.emails == tuple(saved["recipientInfo"].get("emails", ()))
    address = saved["recipientInfo"]["address"]
    for part in (page.address_line1, page.locality, page.region, page.postal_code, page.country):
        assert part is None or part in address.replace("\n", ", ") or part in address


def test_two_letters_to_one_firm_on_one_day_are_two_records():
    first = parse_fixture("aytu-biopharma-716599-09092025")
    second = parse_fixture("aytu-biopharma-716604-09092025")
    assert (first.company_name, first.letter_date) == (second.company_name, second.letter_date)
    assert first.slug != second.slug
    assert first.marcs_cms_number != second.marcs_cms_number
    assert first.content_hash != second.content_hash


def test_committed_fixtures_are_what_the_generator_builds(monkeypatch):
    name = "tests_fixtures_build_letter_pages"
    spec = importlib.util.spec_from_file_location(name, FIXTURES / "fda" / "build_letter_pages.py")
    builder = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, builder)  # dataclasses look their module up
    spec.loader.exec_module(builder)
    pages = builder.all_pages()
    assert sorted(p.slug for p in pages) == sorted(EXPECTED)
    for page in pages:
        assert builder.render(page).encode("utf-8") == fixture_bytes(page.slug), page.slug
        assert builder.render(page, "legacy").encode("utf-8") == fixture_bytes(page.slug, "legacy"), page.slug
    full = fixture_bytes("kimera-labs-inc-649343-09012023")
    assert fixture_bytes(TRUNCATED) == full[: int(len(full) * builder.TRUNCATE_FRACTION)]


# --- truncated, blocked and foreign pages -----------------------------------------------------------


def test_truncated_fixture_is_refused():
    with pytest.raises(SourceFailure, match=r"truncated.*inside the letter body"):
        parse_letter_page(fixture_bytes(TRUNCATED), FDA + "kimera-labs-inc-649343-09012023")


def test_page_cut_before_the_body_is_refused():
    full = fixture_bytes("invitrx-therapeutics-inc-581182-03162020")
    cut = full[: full.index(b'role="main">')]
    with pytest.raises(SourceFailure, match=r"truncated.*before the letter body"):
        parse_letter_page(cut, FDA + "invitrx-therapeutics-inc-581182-03162020")


def test_page_cut_after_the_letter_body_keeps_the_whole_letter():
    """The documented rule: content after div[role=main] proves the letter itself is complete."""
    slug = "kimera-labs-inc-649343-09012023"
    full = fixture_bytes(slug)
    cut = full[: full.index(b"<footer")]
    assert b"</html>" not in cut
    assert parse_letter_page(cut, FDA + slug) == parse_letter_page(full, FDA + slug)


def test_trailing_whitespace_and_comments_after_html_are_fine():
    slug = "csl-behring-716297-09092025"
    full = fixture_bytes(slug)
    assert (
        parse_letter_page(full + b"\n<!-- cache: hit -->\n  ", FDA + slug).content_hash
        == (EXPECTED[slug]["content_hash"])
    )


AKAMAI = b"""<html><head>
<title>Access Denied</title>
</head><body>
<h1>Access Denied</h1>

You don't have permission to access "http://www.fda.gov/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/kimera-labs-inc-649343-09012023" on this server.<p>
Reference #18.ef3a2f17.1619133194.15bcf105
</p></body>
</html>
"""


def test_akamai_access_denied_page_is_a_source_failure():
    with pytest.raises(SourceFailure, match=r"block page.*Access Denied.*18\.ef3a2f17\.1619133194\.15bcf105"):
        parse_letter_page(AKAMAI, FDA + "kimera-labs-inc-649343-09012023")


def test_apology_page_is_a_source_failure():
    apology = b"<html><head><title>FDA Apology Page | FDA</title></head><body><p>Sorry.</p></body></html>"
    with pytest.raises(SourceFailure, match="block page"):
        parse_letter_page(apology, FDA + "kimera-labs-inc-649343-09012023")


def test_untitled_akamai_page_is_known_by_its_reference():
    page = (
        b"<html><body><p>An error occurred while processing your request.</p>"
        b"<p>Reference&#32;&#35;97&#46;5bd1ce17&#46;1700000000&#46;1a2b3c4d</p>"
        b"<p>https&#58;&#47;&#47;errors&#46;edgesuite&#46;net&#47;97&#46;5bd1ce17</p></body></html>"
    )
    with pytest.raises(SourceFailure, match=r"block page.*97\.5bd1ce17\.1700000000\.1a2b3c4d"):
        parse_letter_page(page, FDA + "x-123456-01012024")


def test_a_company_named_apology_is_not_a_block_page():
    body = letter_page(title="Apology Foods Inc. - 123456 - 03/16/2020 | FDA", h1="Apology Foods Inc.")
    assert (
        parse_letter_page(body, FDA + "apology-foods-inc-123456-03162020").company_name
        == "Apology Foods Inc."
    )


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        (
            b"<html><head><title>Warning Letters | FDA</title></head><body>"
            b'<h1 class="content-title">Warning Letters</h1><div role="main"><p>FDA issues warning letters '
            b"to firms.</p><p>Each warning letter is posted here.</p></div><footer>f</footer></body></html>",
            "no header fields and no WARNING LETTER heading",
        ),
        (
            b"<html><head><title>Search | FDA</title></head><body><p>Nothing</p></body></html>",
            "no h1.content-title",
        ),
        (
            b'<html><head><title>A - 123456 - 01/02/2024 | FDA</title></head><body><h1 class="content-title">A'
            b"</h1><p>WARNING LETTER</p></body></html>",
            r"no letter body \(div\[role=main\]\)",
        ),
        (
            b'<html><body><h1 class="content-title">A</h1><div role="main"><script>x()</script> </div>'
            b"<footer>f</footer></body></html>",
            "letter body .* is empty",
        ),
        (b"   \n ", "empty"),
        (b"\x00\x01\x02", "empty"),
    ],
)
def test_pages_that_are_not_letters_are_source_failures(html, reason):
    with pytest.raises(SourceFailure, match=reason):
        parse_letter_page(html, FDA + "a-123456-01022024")


@pytest.mark.parametrize(
    "url",
    [
        "https://www.fda.gov/apology_objects/abuse-detection-apology.html",
        "ftp://www.fda.gov/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/a-1",
        FDA + "bad%20slug!",
        "http://[::1/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/a-1",
    ],
)
def test_a_url_that_is_not_a_letter_url_is_refused(url):
    with pytest.raises(SourceFailure, match="URL"):
        parse_letter_page(letter_page(), url)


def test_a_replay_host_gives_the_canonical_fda_url():
    slug = "kimera-labs-inc-649343-09012023"
    replay = "http://127.0.0.1:8765/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/"
    page = parse_letter_page(fixture_bytes(slug), replay + slug + "?x=1")
    assert (page.slug, page.url) == (slug, FDA + slug)
    assert page == parse_fixture(slug)


# --- hostile input --------------------------------------------------------------------------------------


def test_page_over_5_mb_is_refused_before_parsing():
    with pytest.raises(SourceFailure, match="over the 5242880-byte limit"):
        parse_letter_page(b"<html>" + b"a" * (6 * 1024 * 1024) + b"</html>", FDA + "a-123456-01022024")


def test_page_of_exactly_the_limit_is_read():
    html = letter_page()
    padded = html.replace(b"<footer>", b"<!--" + b"x" * (MAX_PAGE_BYTES - len(html) - 7) + b"--><footer>")
    assert len(padded) == MAX_PAGE_BYTES
    assert parse_letter_page(padded, FDA + "acme-corp-123456-03162020").company_name == "Acme Corp"


def test_input_must_be_bytes():
    with pytest.raises(TypeError):
        parse_letter_page(letter_page().decode(), FDA + "acme-corp-123456-03162020")


def test_scripts_styles_forms_and_hidden_text_never_reach_the_body():
    body = (
        "<p>WARNING LETTER</p><p>March 16, 2020</p><p>Dear Sir:</p>"
        "<script>document.write('INJECTED')</script><style>p{color:red}</style>"
        "<noscript>NOSCRIPT</noscript><template><p>TEMPLATE</p></template>"
        '<form><input value="FORM"><button>BUTTON</button></form><iframe src="https://x.example">IFRAME</iframe>'
        '<div hidden>HIDDEN</div><p style="display: none">NONE</p><p aria-hidden="true">ARIA</p>'
        '<p>Real <img src=x onerror="alert(1)">text <svg><text>SVG</text></svg>stays.</p>'
    )
    page = parse_letter_page(letter_page(body=body), FDA + "acme-corp-123456-03162020")
    assert page.body_text == "WARNING LETTER\n\nMarch 16, 2020\n\nDear Sir:\n\nReal text stays."


def test_control_characters_and_bidi_overrides_are_dropped():
    html = letter_page(
        h1="Acme\x07 Corp\u202e",
        body="<p>WARNING LETTER</p><p>March 16, 2020</p><p>Dear\x00 Sir\x1b:</p><p>Line\x85 one\u2066.</p>",
    )
    page = parse_letter_page(html, FDA + "acme-corp-123456-03162020")
    assert page.company_name == "Acme Corp"
    assert page.body_text == "WARNING LETTER\n\nMarch 16, 2020\n\nDear Sir:\n\nLine one."


def test_invalid_utf8_is_replaced_not_fatal():
    html = letter_page(
        body="<p>WARNING LETTER</p><p>March 16, 2020</p><p>Caf\udcff</p>", errors="surrogateescape"
    )
    page = parse_letter_page(html, FDA + "acme-corp-123456-03162020")
    assert page.body_text.endswith("Caf\ufffd")


def test_huge_title_and_url_are_bounded():
    for title in ("T" * 3_000_000, " " * 3_000_000 + "x", "T " * 1500):
        with pytest.raises(SourceFailure, match="page title is longer"):
            parse_letter_page(letter_page(title=title), FDA + "acme-corp-123456-03162020")
    with pytest.raises(SourceFailure, match="URL"):
        parse_letter_page(letter_page(), "https://www.fda.gov/" + "x" * 3_000_000)


def test_over_long_header_value_is_a_source_failure():
    with pytest.raises(SourceFailure, match="longer than 2000"):
        parse_letter_page(letter_page(h1="A" * 3000), FDA + "acme-corp-123456-03162020")


def test_deeply_nested_markup_is_refused_not_read_in_part():
    """libxml2 stops at 256 levels and drops the rest: the letter is refused, quickly, no overflow."""
    body = "<p>WARNING LETTER</p><p>March 16, 2020</p>" + "<div>" * 3000 + "deep" + "</div>" * 3000
    with pytest.raises(SourceFailure, match="deeper than the parser reads"):
        parse_letter_page(letter_page(body=body), FDA + "acme-corp-123456-03162020")


def test_unsafe_links_are_never_kept():
    fields_html = (
        "<dt>Close Out Letter:</dt>"
        '<dd><a href="javascript:alert(1)">Close Out Letter 01/02/2021</a></dd>'
        '<dd><a href="data:text/html,x">Close Out Letter 01/03/2021</a></dd>'
        '<dd><a href="mailto:x@example.com">Close Out Letter 01/04/2021</a></dd>'
        '<dd><a href="#top">Close Out Letter 01/05/2021</a></dd>'
        '<dd><a href="//cdn.example/x.pdf">Close Out Letter 01/06/2021</a></dd>'
        '<dd><a href="http://[::1">Close Out Letter 01/07/2021</a></dd>'
    )
    page = parse_letter_page(letter_page(fields=fields_html), FDA + "acme-corp-123456-03162020")
    assert page.closeout_letters == ((date(2021, 1, 6), "https://cdn.example/x.pdf"),)


# --- shapes the README marks as inferred -------------------------------------------------------------------


def letter_page(
    *,
    fields="",
    recipient="",
    office="<dt>Issuing Office:</dt><dd>Center for Drug Evaluation and Research (CDER)</dd>",
    related="",
    body="<p>WARNING LETTER</p><p>March 16, 2020</p><p>Dear Sir:</p><p>Text.</p>",
    title="Acme Corp - 123456 - 03/16/2020 | FDA",
    h1="Acme Corp",
    errors="strict",
) -> bytes:
    html = (
        f"<!DOCTYPE html><html><head><title>{title}</title></head><body>"
        f'<nav><a href="/x">Close-Out Letters</a></nav><main role="main">'
        f'<h1 class="content-title">{h1}</h1>'
        f'<div class="inset-column"><dl class="lcds-description-list--grid">{fields}</dl>'
        f'<dl class="lcds-description-list--grid">{recipient}</dl>'
        f'<dl class="lcds-description-list--grid">{office}</dl></div>{related}'
        f'<div role="main">{body}</div></main><footer>Footer</footer></body></html>'
    )
    return html.encode("utf-8", errors)


def parse_inline(**parts) -> LetterPage:
    return parse_letter_page(letter_page(**parts), FDA + "acme-corp-123456-03162020")


@pytest.mark.parametrize(
    ("product_html", "products"),
    [
        ("<dd>Drugs, Biologics</dd>", ("Drugs", "Biologics")),
        ("<dd>Drugs<br>Medical Devices</dd>", ("Drugs", "Medical Devices")),
        ("<dd>Drugs; Food &amp; Beverages</dd>", ("Drugs", "Food & Beverages")),
        ("<dd><ul><li>Tobacco</li><li>Drugs</li></ul></dd>", ("Tobacco", "Drugs")),
        ("<dd>Drugs</dd><dd>Biologics</dd><dd>Drugs</dd>", ("Drugs", "Biologics")),
        (
            "<dd>Vaccines, Blood, and Biologics</dd><dd>Drugs</dd>",
            ("Vaccines, Blood, and Biologics", "Drugs"),
        ),
    ],
)
def test_several_product_categories_in_every_shape(product_html, products):
    assert parse_inline(fields=f"<dt>Product:</dt>{product_html}").products == products


def test_address_as_plain_lines_without_address_markup():
    recipient = (
        "<dt>Recipient:</dt><dd>Recipient Name Jane Roe</dd><dd>Recipient Title: President</dd>"
        "<dd>Acme Corp<br>100 Main St.<br>Suite 5<br>Springfield, IL 62701-1234<br>United States<br>"
        "Contact: JANE@Acme.example</dd>"
    )
    page = parse_inline(recipient=recipient)
    assert (page.recipient_name, page.recipient_title) == ("Jane Roe", "President")
    assert (page.address_line1, page.locality, page.region, page.postal_code, page.country) == (
        "100 Main St., Suite 5",
        "Springfield",
        "IL",
        "62701-1234",
        "United States",
    )
    assert page.emails == ("jane@acme.example",)


def test_address_without_country_line():
    recipient = '<dt>Recipient:</dt><dd>Acme Corp<p class="address">1 A St.<br>Boston, MA 02110</p></dd>'
    page = parse_inline(recipient=recipient)
    assert (page.address_line1, page.locality, page.region, page.postal_code, page.country) == (
        "1 A St.",
        "Boston",
        "MA",
        "02110",
        None,
    )


def test_recipient_labels_in_their_own_elements_and_mailto_with_query():
    recipient = (
        '<dt>Recipient:</dt><dd><span class="visually-hidden">Recipient Name</span><div>Jo Doe</div></dd>'
        '<dd><span class="visually-hidden">Recipient Title</span><div>CEO</div></dd>'
        '<dd>Acme<p class="address"><span class="country">Canada</span></p>'
        '<a href="mailto:Jo.Doe@Acme.example?subject=Hi">write</a>'
        '<a href="MAILTO:a%40b.example,c@d.example">two</a></dd>'
    )
    page = parse_inline(recipient=recipient)
    assert (page.recipient_name, page.recipient_title, page.country) == ("Jo Doe", "CEO", "Canada")
    assert page.emails == ("jo.doe@acme.example", "a@b.example", "c@d.example")


def test_related_letters_as_a_list_and_as_dated_link_text():
    related = (
        '<ul class="related"><li><a href="/media/1/download">Response Letter</a> (June 2, 2022)</li>'
        '<li><a href="https://www.fda.gov/media/2/download">Close-Out Letter</a> '
        '<time datetime="2023-01-05T12:00:00Z">Jan. 5, 2023</time></li></ul>'
    )
    fields_html = '<dt>Response Letter:</dt><dd><a href="/media/3/download">07/01/2022</a></dd>'
    page = parse_inline(related=related, fields=fields_html)
    assert page.response_letters == (
        (date(2022, 7, 1), "https://www.fda.gov/media/3/download"),
        (date(2022, 6, 2), "https://www.fda.gov/media/1/download"),
    )
    assert page.closeout_letters == ((date(2023, 1, 5), "https://www.fda.gov/media/2/download"),)


def test_related_letter_without_a_date_keeps_its_link():
    related = '<table><tr><td><a href="/media/9/download">Close Out Letter</a></td></tr></table>'
    assert parse_inline(related=related).closeout_letters == ((None, "https://www.fda.gov/media/9/download"),)


def test_navigation_links_about_close_out_letters_are_not_letters():
    assert parse_inline().closeout_letters == ()


@pytest.mark.parametrize(
    ("line", "reference"),
    [
        ("[OBPO 22-630712]", "OBPO 22-630712"),
        ("WL # 717972", "717972"),
        ("Warning Letter #OBPO 20-581182", "OBPO 20-581182"),
        ("Reference# 598015", "598015"),
        ("CMS # 612345", "612345"),
        ("24-662985", "24-662985"),
        ("320-25-48", "320-25-48"),
        # shapes of real fda.gov pages (tests/fixtures/fda/real/letters)
        ("Warning Letter CMS # 630316", "630316"),
        ("CASE# 669736", "669736"),
        ("Case #: 670899", "670899"),
        ("RE: # 639545", "639545"),
        ("CBER 24-686504", "CBER 24-686504"),
    ],
)
def test_reference_line_shapes_in_the_body(line, reference):
    body = f"<p>WARNING LETTER</p><p>June 5, 2024</p><p>{line}</p><p>Dear Dr. White:</p><p>Text 24-1.</p>"
    assert parse_inline(body=body).reference_number == reference


def test_header_reference_wins_over_the_body_line():
    page = parse_inline(
        fields="<dt>Reference #:</dt><dd>OBPO 621465</dd>",
        body="<p>WARNING LETTER</p><p>August 23, 2022</p><p>22-621465</p><p>Dear Mr. Maguire:</p>",
    )
    assert page.reference_number == "OBPO 621465"


def test_no_reference_after_the_salutation():
    body = "<p>WARNING LETTER</p><p>Dear Sir:</p><p>23-649343</p>"
    assert parse_inline(body=body).reference_number is None


@pytest.mark.parametrize(
    ("date_line", "expected"),
    [
        ("Sept. 1, 2023", date(2023, 9, 1)),
        ("Jan 8, 2020", date(2020, 1, 8)),
        ("Date: July 22, 2020", date(2020, 7, 22)),
        ("12/01/2025", date(2025, 12, 1)),
        ("Smarch 1, 2023", date(2020, 3, 16)),  # not a month: the title's date is used
        ("February 30, 2023", date(2020, 3, 16)),
    ],
)
def test_letter_date_from_the_body_else_the_title(date_line, expected):
    body = f"<p>WARNING LETTER</p><p>{date_line}</p><p>Dear Sir:</p>"
    assert parse_inline(body=body).letter_date == expected


def test_title_gives_company_and_cms_when_h1_and_slug_do_not():
    html = letter_page(h1="").replace(b'<h1 class="content-title"></h1>', b"")
    page = parse_letter_page(html, FDA + "acme-corp-03162020")
    assert (page.company_name, page.marcs_cms_number, page.letter_date) == (
        "Acme Corp",
        "123456",
        date(2020, 3, 16),
    )


def test_h1_marcs_suffix_is_not_part_of_the_company():
    page = parse_inline(h1="Acme, Inc. <span>MARCS-CMS 123456 \u2014</span>")
    assert page.company_name == "Acme, Inc."


def test_letter_without_header_fields_is_accepted_by_its_heading():
    html = letter_page(office="")
    assert parse_letter_page(html, FDA + "acme-corp-123456-03162020").issuing_office is None


@pytest.mark.parametrize("slug", sorted(EXPECTED))
def test_any_cut_of_a_page_is_refused_or_reads_the_whole_letter(slug):
    """The truncation rule, at many cut points: a cut page never yields a shorter letter."""
    full = fixture_bytes(slug)
    whole = parse_letter_page(full, FDA + slug)
    for cut in range(1, len(full), 499):
        try:
            page = parse_letter_page(full[:cut], FDA + slug)
        except SourceFailure:
            continue
        assert page == whole, cut


def test_mangled_pages_give_a_letter_or_a_source_failure_and_nothing_else():
    rnd = random.Random(3)
    full = fixture_bytes("surgenex-llc-615254-11152021")
    for _ in range(200):
        mangled = bytearray(full)
        for _ in range(rnd.randrange(1, 40)):
            mangled[rnd.randrange(len(mangled))] = rnd.choice(b'<>/"=& \n\x00[]:#a\xff')
        with contextlib.suppress(SourceFailure):
            assert isinstance(
                parse_letter_page(bytes(mangled), FDA + "surgenex-llc-615254-11152021"), LetterPage
            )


def test_text_after_comments_and_hidden_elements_is_kept():
    body = (
        "<p>WARNING LETTER</p><p>March 16, 2020</p>"
        "<p>Your <!-- editor note --> products<?php echo 1 ?> are <span hidden>NOT</span>unapproved.</p>"
    )
    page = parse_letter_page(letter_page(body=body), FDA + "acme-corp-123456-03162020")
    assert page.body_text.endswith("Your products are unapproved.")
