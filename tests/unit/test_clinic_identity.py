"""Who a clinic is (crawler.normalize.clinics): its registrable domain, its phone number in E.164,
its country code, its name key, and the resolution of listing entries (and stored clinics) into one
record per clinic.

Expected values are written out by hand from the public-suffix rules, the numbering plans and
ISO 3166, never taken from the functions themselves. Everything here is pure: tldextract reads its
bundled suffix snapshot, nothing is fetched or written.
"""

from __future__ import annotations

import pytest

from crawler.extract.listings import ListingEntry
from crawler.normalize.clinics import (
    country_code,
    e164,
    name_key,
    postcode_key,
    registrable_domain,
    resolve_clinics,
)
from db.records import ClinicRecord


def entry(source: str = "dir", name=None, website=None, phone=None, **parts) -> ListingEntry:
    return ListingEntry(source=source, name=name, website=website, phone=phone, **parts)


# --- registrable_domain ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://www.glow.com/x", "glow.com"),
        ("glow.com", "glow.com"),
        ("www.glow.com", "glow.com"),
        ("book.eu.glow.com", "glow.com"),
        ("HTTPS://WWW.Glow.COM/", "glow.com"),
        ("https://glow.com./", "glow.com"),
        ("  https://www.glow.com/  ", "glow.com"),
        ("http://user:secret@www.glow.com/", "glow.com"),
    ],
)
def test_registrable_domain_drops_www_and_subdomains(value, expected):
    assert registrable_domain(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("shop.clinic.co.uk", "clinic.co.uk"),
        ("https://www.clinic.co.uk/treatments", "clinic.co.uk"),
        ("a.b.c.klinik.com.tr", "klinik.com.tr"),
        ("http://www.estetik.com.tr/tr/fiyatlar", "estetik.com.tr"),
        ("www.seoulskin.co.kr", "seoulskin.co.kr"),
        ("m.seoulskin.co.kr", "seoulskin.co.kr"),
    ],
)
def test_registrable_domain_under_multi_label_public_suffixes(value, expected):
    assert registrable_domain(value) == expected


@pytest.mark.parametrize("suffix", ["co.uk", "com.tr", "co.kr", "com", "uk"])
def test_a_public_suffix_alone_has_no_registrable_domain(suffix):
    assert registrable_domain(suffix) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://www.x.example/", "x.example"),
        ("book.glow.example", "glow.example"),
        ("a.b.glow.test", "glow.test"),
        ("glow.test", "glow.test"),
        ("shop.spa.invalid", "spa.invalid"),
        ("app.dev.localhost", "dev.localhost"),
    ],
)
def test_reserved_names_keep_their_last_two_labels(value, expected):
    assert registrable_domain(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "http://",
        "glow",
        "glow.",
        "..",
        "example",
        "localhost",
        "not a host",
        "http://exa mple.com/",
        "http://glow_spa.com/",
        "127.0.0.1",
        "http://192.168.0.1:8080/admin",
        "http://[::1]/",
        "http://[::ffff:1.2.3.4]/",
        "http://2130706433/",
    ],
)
def test_ip_addresses_and_junk_have_no_registrable_domain(value):
    assert registrable_domain(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("münchen-klinik.de", "xn--mnchen-klinik-wob.de"),
        ("https://www.MÜNCHEN-klinik.de/behandlungen", "xn--mnchen-klinik-wob.de"),
        ("xn--mnchen-klinik-wob.de", "xn--mnchen-klinik-wob.de"),
        ("https://www.bücher.de/x", "xn--bcher-kva.de"),
    ],
)
def test_internationalized_hosts_are_punycode(value, expected):
    assert registrable_domain(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "https://WWW.Glow.CO.UK:8443/path?q=1#f",
        "http://glow.co.uk:80/a/b/c?utm_source=x&page=2",
        "glow.co.uk/treatments?x=1",
        "//shop.glow.co.uk/",
    ],
)
def test_ports_paths_queries_and_fragments_do_not_matter(value):
    assert registrable_domain(value) == "glow.co.uk"


# --- e164 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "country", "expected"),
    [
        ("(212) 555-0142", "US", "+12125550142"),
        ("212.555.0142", "US", "+12125550142"),
        ("+1 212 555 0142", "US", "+12125550142"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+44 20 7946 0958", None, "+442079460958"),
        ("+44 (0)20 7946 0958", None, "+442079460958"),
        ("+91 98765 43210", None, "+919876543210"),
        ("098765 43210", "IN", "+919876543210"),
        ("02-555-0199", "KR", "+8225550199"),
        ("+82 2-555-0199", None, "+8225550199"),
        ("0212 555 01 99", "TR", "+902125550199"),
        ("+90 212 555 01 99", "US", "+902125550199"),
        ("55 1234 5678", "MX", "+525512345678"),
        ("+52 55 1234 5678", None, "+525512345678"),
        ("04 123 4567", "AE", "+97141234567"),
        ("050 123 4567", "AE", "+971501234567"),
        ("+971 50 123 4567", None, "+971501234567"),
    ],
)
def test_e164_of_national_and_international_formats(phone, country, expected):
    assert e164(phone, country) == expected


def test_a_national_number_without_a_country_is_not_read():
    assert e164("(212) 555-0142") is None
    assert e164("020 7946 0958", None) is None


@pytest.mark.parametrize(
    ("phone", "country"),
    [
        (None, "US"),
        ("", "US"),
        ("call us", "US"),
        ("n/a", "GB"),
        ("12", "US"),
        ("5" * 40, "US"),
        ("1" * 65, "US"),
        ("+1 " + "2" * 62, None),
        ("020 7946 0958", "XX"),
    ],
)
def test_junk_and_over_long_phone_numbers_are_none(phone, country):
    assert e164(phone, country) is None


# --- country_code ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("US", "US"),
        ("us", "US"),
        ("GB", "GB"),
        ("kr", "KR"),
        ("USA", "US"),
        ("GBR", "GB"),
        ("KOR", "KR"),
        ("tur", "TR"),
        ("ARE", "AE"),
        ("MEX", "MX"),
        ("United States", "US"),
        ("  united   states  ", "US"),
        ("United Kingdom", "GB"),
        ("UK", "GB"),
        ("u.k.", "GB"),
        ("England", "GB"),
        ("South Korea", "KR"),
        ("Korea, Republic of", "KR"),
        ("Türkiye", "TR"),
        ("Turkey", "TR"),
        ("United Arab Emirates", "AE"),
        ("UAE", "AE"),
        ("Mexico", "MX"),
        ("India", "IN"),
        ("Germany", "DE"),
    ],
)
def test_country_code_from_codes_and_english_names(value, expected):
    assert country_code(value) == expected


@pytest.mark.parametrize("value", [None, "", "   ", "Narnia", "XX", "ZZZ", "Atlantis Republic", "x" * 90])
def test_unknown_countries_are_none(value):
    assert country_code(value) is None


def test_country_code_of_upper_case_turkiye():
    assert country_code("TÜRKİYE") == "TR"


# --- name_key and postcode_key -------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        "Glow Med Spa",
        "glow med spa",
        "GLOW MED SPA",
        "Glow Med-Spa, LLC",
        "Glow Med Spa L.L.C.",
        "The Glow Med Spa, Inc.",
        "Glow Med Spa Ltd",
        "Glow Med Spa Limited",
        "Glow Med Spa PLLC",
        "Glow Med Spa GmbH",
        "Glow Med Spa Corp.",
        "Glow_Med_Spa",
        "  Glow   Med\tSpa  ",
        "Glow Med Spa!",
        "Glow (Med) Spa",
    ],
)
def test_name_key_folds_case_punctuation_and_legal_forms(spelling):
    assert name_key(spelling) == "glow med spa"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Clínica Estética Ñandú", "clinica estetica nandu"),
        ("Crème & Brûlée GmbH", "creme brulee"),
        ("GÜZELLİK Kliniği", "guzellik klinigi"),
        ("Straße Spa", "strasse spa"),
        ("Ｇｌｏｗ Spa", "glow spa"),
    ],
)
def test_name_key_folds_accents_and_compatibility_forms(name, expected):
    assert name_key(name) == expected


def test_name_key_keeps_words_that_only_contain_a_legal_form():
    assert name_key("Incredible Skin Company") == "incredible skin company"
    assert name_key("Costco Limitless Clinic") == "costco limitless clinic"


@pytest.mark.parametrize("name", [None, "", "   ", "---", "LLC", "The Ltd.", "!!!"])
def test_name_key_of_nothing_is_none(name):
    assert name_key(name) is None


@pytest.mark.parametrize(
    ("postcode", "expected"),
    [
        ("w1 2ab", "W12AB"),
        ("W1-2AB", "W12AB"),
        (" 10001 ", "10001"),
        ("34 710", "34710"),
        ("", None),
        (None, None),
    ],
)
def test_postcode_key(postcode, expected):
    assert postcode_key(postcode) == expected


# --- resolve_clinics -----------------------------------------------------------------------------


def test_one_domain_written_two_ways_is_one_clinic_with_both_listings_and_names():
    clinics = resolve_clinics(
        [
            (entry("dir-b", "Glow Med Spa", "http://www.x.example/", "(212) 555-0142"), "US"),
            (entry("dir-a", "Glow MedSpa LLC", "http://x.example/?utm_source=y"), "US"),
        ]
    )
    assert clinics == [
        ClinicRecord(
            clinic_key="x.example",
            name="Glow Med Spa",
            domain="x.example",
            website="http://www.x.example/",
            phone="+12125550142",
            country="US",
            listings=["dir-a", "dir-b"],
            names=["Glow Med Spa", "Glow MedSpa LLC"],
        )
    ]


def test_a_subdomain_is_the_clinic_of_its_registrable_domain():
    clinics = resolve_clinics(
        [
            (entry("a", "Glow", "https://book.glow.co.uk/"), "GB"),
            (entry("b", "Glow", "https://www.glow.co.uk/"), "GB"),
        ]
    )
    assert [(c.clinic_key, c.listings) for c in clinics] == [("glow.co.uk", ["a", "b"])]


def test_an_entry_without_website_is_matched_by_phone_in_another_format():
    clinics = resolve_clinics(
        [
            (entry("directory", "Seoul Skin Clinic", None, "02-555-0199"), "KR"),
            (entry("locator", "Seoul Skin", "https://www.seoulskin.co.kr/", "+82 2 555 0199"), "KR"),
        ]
    )
    assert len(clinics) == 1
    clinic = clinics[0]
    assert clinic.clinic_key == "seoulskin.co.kr"
    assert clinic.phone == "+8225550199"
    assert clinic.listings == ["directory", "locator"]
    assert clinic.names == ["Seoul Skin", "Seoul Skin Clinic"]


def test_the_entry_country_overrides_the_source_country_for_the_phone():
    clinics = resolve_clinics(
        [
            (entry("uk", "Glow London", "https://glow.example/", "+44 20 7946 0958"), "GB"),
            (entry("intl", "Glow", None, "020 7946 0958", country="United Kingdom"), "US"),
        ]
    )
    assert [(c.clinic_key, c.listings, c.country) for c in clinics] == [
        ("glow.example", ["intl", "uk"], "GB")
    ]


def test_an_entry_without_website_or_phone_is_matched_by_name_and_postcode():
    clinics = resolve_clinics(
        [
            (entry("b", "The Glow Med-Spa, LLC", None, None, postcode="w1 2ab"), "GB"),
            (entry("a", "Glow Med Spa", "https://glow.example/", None, postcode="W1 2AB"), "GB"),
        ]
    )
    assert [(c.clinic_key, c.listings, c.postcode) for c in clinics] == [
        ("glow.example", ["a", "b"], "W1 2AB")
    ]
    assert clinics[0].names == ["Glow Med Spa", "The Glow Med-Spa, LLC"]


def test_the_same_name_under_another_postcode_is_another_clinic():
    clinics = resolve_clinics(
        [
            (entry("a", "Glow Med Spa", "https://glow.example/", None, postcode="W1 2AB"), "GB"),
            (entry("b", "Glow Med Spa", None, None, postcode="M1 1AA"), "GB"),
        ]
    )
    assert [c.clinic_key for c in clinics] == ["glow.example", "name:glow med spa|M11AA"]


STORED = [
    {
        "clinic_key": "glow.example",
        "domain": "glow.example",
        "website": "https://glow.example/",
        "phone": "+12125550142",
        "name": "Glow Med Spa",
        "names": ["Glow Med Spa", "Glow Aesthetics"],
        "postcode": "10001",
        "country": "US",
    },
    {
        "clinic_key": "tel:+442079460958",
        "domain": None,
        "website": None,
        "phone": "+442079460958",
        "name": None,
        "names": None,
        "postcode": None,
        "country": "GB",
    },
]


def test_an_entry_is_matched_by_phone_against_stored_clinics():
    clinics = resolve_clinics([(entry("new-dir", "Glow NYC", None, "212-555-0142"), "US")], STORED)
    assert [(c.clinic_key, c.listings, c.names, c.phone) for c in clinics] == [
        ("glow.example", ["new-dir"], ["Glow NYC"], "+12125550142")
    ]


def test_an_entry_is_matched_by_any_stored_name_and_the_postcode():
    clinics = resolve_clinics(
        [(entry("new-dir", "Glow Aesthetics Inc.", None, None, postcode="10 001"), "US")], STORED
    )
    assert [(c.clinic_key, c.listings) for c in clinics] == [("glow.example", ["new-dir"])]


def test_a_stored_clinic_without_website_is_found_by_phone():
    clinics = resolve_clinics([(entry("uk-dir", "Soho Skin", None, "020 7946 0958"), "GB")], STORED)
    assert [c.clinic_key for c in clinics] == ["tel:+442079460958"]


def test_unmatched_entries_without_website_are_keyed_by_phone_else_name_and_postcode():
    clinics = resolve_clinics(
        [
            (entry("a", "Istanbul Beauty", None, "0212 555 01 99"), "TR"),
            (entry("b", "Glow Med-Spa, LLC", None, None, postcode="w1 2ab"), "GB"),
            (entry("c", "Nameless Spa", None, None), "GB"),
        ],
        STORED,
    )
    assert [c.clinic_key for c in clinics] == [
        "name:glow med spa|W12AB",
        "name:nameless spa|",
        "tel:+902125550199",
    ]
    tel = clinics[2]
    assert (tel.phone, tel.country, tel.domain, tel.website) == ("+902125550199", "TR", None, None)


def test_an_entry_with_an_unreadable_phone_and_a_name_is_keyed_by_name():
    clinics = resolve_clinics([(entry("a", "Glow", None, "call us", postcode="10001"), "US")])
    assert [(c.clinic_key, c.phone) for c in clinics] == [("name:glow|10001", None)]


def test_an_entry_with_neither_website_phone_nor_name_is_dropped():
    clinics = resolve_clinics(
        [
            (entry("a", None, None, None, street="1 Main St", postcode="10001"), "US"),
            (entry("b", "---", None, "n/a"), "US"),
            (entry("c", "Kept", None, None), "US"),
        ]
    )
    assert [c.clinic_key for c in clinics] == ["name:kept|"]


def test_an_ip_address_website_is_no_domain():
    clinics = resolve_clinics([(entry("a", "Glow", "http://10.0.0.1/", "(212) 555-0142"), "US")])
    assert [(c.clinic_key, c.domain, c.website) for c in clinics] == [("tel:+12125550142", None, None)]


def test_the_first_non_null_field_wins_with_website_entries_first():
    clinics = resolve_clinics(
        [
            (
                entry(
                    "listed-first",
                    "Listed Name",
                    None,
                    "+1 212 555 0142",
                    street="99 Other Ave",
                    locality="Brooklyn",
                    postcode="11201",
                    latitude=0.0,
                ),
                "US",
            ),
            (
                entry("site-1", "Site Name", "https://glow.example/", "(212) 555-0142", locality="New York"),
                "US",
            ),
            (
                entry(
                    "site-2",
                    "Second Site Name",
                    "https://www.glow.example/book",
                    None,
                    region="NY",
                    longitude=-74.0,
                ),
                "US",
            ),
        ]
    )
    assert clinics == [
        ClinicRecord(
            clinic_key="glow.example",
            name="Site Name",
            domain="glow.example",
            website="https://glow.example/",
            phone="+12125550142",
            street="99 Other Ave",
            locality="New York",
            region="NY",
            postcode="11201",
            country="US",
            latitude=0.0,
            longitude=-74.0,
            listings=["listed-first", "site-1", "site-2"],
            names=["Listed Name", "Second Site Name", "Site Name"],
        )
    ]


def test_listings_and_names_are_sorted_unions_without_repeats():
    clinics = resolve_clinics(
        [
            (entry("zeta", "Glow", "https://glow.example/"), "US"),
            (entry("alpha", "Glow", "https://glow.example/a"), "US"),
            (entry("zeta", "Another Glow", "https://glow.example/b"), "US"),
            (entry("mid", None, "https://glow.example/c"), "US"),
        ]
    )
    assert clinics[0].listings == ["alpha", "mid", "zeta"]
    assert clinics[0].names == ["Another Glow", "Glow"]


def test_a_clinic_listed_without_any_name_has_names_none():
    clinics = resolve_clinics([(entry("a", None, "https://glow.example/"), "US")])
    assert clinics[0].names is None
    assert clinics[0].name is None


def test_the_result_is_sorted_by_key():
    clinics = resolve_clinics(
        [
            (entry("a", "Zed Spa", None, None, postcode="1"), "US"),
            (entry("a", None, "https://zz.example/"), "US"),
            (entry("a", None, None, "(212) 555-0142"), "US"),
            (entry("a", None, "https://aa.example/"), "US"),
        ]
    )
    keys = [c.clinic_key for c in clinics]
    assert keys == ["aa.example", "name:zed spa|1", "tel:+12125550142", "zz.example"]


def test_no_entries_no_clinics():
    assert resolve_clinics([], STORED) == []


def test_resolution_does_not_depend_on_entry_order():
    w = (entry("w", None, "http://glow.example/", "+1 212 555 0142"), "US")
    a = (entry("a", "Glow", None, None, postcode="10001"), "US")
    b = (entry("b", "Glow", None, "(212) 555-0142", postcode="10001"), "US")
    assert resolve_clinics([w, b, a]) == resolve_clinics([w, a, b])
    assert [(c.clinic_key, c.listings) for c in resolve_clinics([w, a, b])] == [
        ("glow.example", ["a", "b", "w"])
    ]
