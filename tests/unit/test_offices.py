import csv
import json

import pytest

from crawler.normalize.offices import canonical_office
from tests.conftest import LISTING_CSV, LISTING_JSON

CDER = "Center for Drug Evaluation and Research (CDER)"


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("Center for Drug Evaluation and Research (CDER)", CDER),
        ("Center for Drug Evaluation and Research | CDER", CDER),
        ("CDER Office of Compliance", CDER),
        ("Center for Tobacco ProductsVIA UPS", "Center for Tobacco Products (CTP)"),
        (
            "Center for Food Safety and Applied Nutrition (CFSAN)eralera",
            "Center for Food Safety and Applied Nutrition (CFSAN)",
        ),
        ("Div ision of Northern Border Imports", "Division of Northern Border Imports"),
        ("Division of West Coast Inports", "Division of West Coast Imports"),
        ("Southwest Imports", "Division of Southwest Imports"),
        (
            "Division of Human and Animal Food Operations East VI",
            "Office of Human and Animal Food Operations - East Division 6",
        ),
        (
            "Office of Human and Animal Food Operations East-VI",
            "Office of Human and Animal Food Operations - East Division 6",
        ),
        (
            "Office of Human and Animal Food Operations \u2013West Division 5",
            "Office of Human and Animal Food Operations - West Division 5",
        ),
        (
            "HUMAN AND ANIMAL FOOD WEST I COMPLIANCE BRANCH (HAFW1-CB)",
            "Office of Human and Animal Food Operations - West Division 1",
        ),
        (
            "Office of Pharmaceutical Quality Operations, Division II",
            "Office of Pharmaceutical Quality Operations - Division 2",
        ),
        ("Office of Pharmaceutical Quality", "Office of Pharmaceutical Quality"),
        (
            "Division of Medical Device and Radiological Health Operations Central",
            "Office of Medical Device and Radiological Health Operations - Division 2",
        ),
        (
            "Office Biological Products Operations \u2013 Division 2",
            "Office of Biological Products Operations - Division 2",
        ),
        (
            '"OHT2: Office of Cardiovascular Devices, Office of Product Evaluation and Quality"',
            "OHT2: Office of Cardiovascular Devices, Office of Product Evaluation and Quality",
        ),
        ("Drug", "Drug"),
        ("", None),
        (None, None),
    ],
)
def test_spellings_map_to_one_canonical_office(raw, canonical):
    assert canonical_office(raw) == canonical


def test_real_listing_offices_collapse_to_a_small_canonical_set():
    with LISTING_CSV.open(newline="", encoding="utf-8") as handle:
        raw = {row["issuing_office"] for row in csv.DictReader(handle)}
    raw |= {row["issuingOffice"] for row in json.loads(LISTING_JSON.read_text(encoding="utf-8"))}
    canonical = {canonical_office(r) for r in raw} - {None}
    assert len(raw) == 148
    assert len(canonical) <= 52
    # every division-level name is unique per number: no two spellings of one division survive
    food = sorted(c for c in canonical if c.startswith("Office of Human and Animal Food Operations - "))
    assert food == sorted(
        [
            "Office of Human and Animal Food Operations - East",
            "Office of Human and Animal Food Operations - West",
        ]
        + [
            f"Office of Human and Animal Food Operations - {r} Division {n}"
            for r in ("East", "West")
            for n in range(1, 7)
        ]
    )
