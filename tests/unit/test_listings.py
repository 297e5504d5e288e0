"""The listing readers (crawler.extract.listings) on small pages, locator answers and URL lists
written here: schema.org JSON-LD (ItemList, @graph, lists of types) and microdata, store-locator
JSON through a field mapping, directory pages through CSS selectors, CSV and plain URL lists, page
parameters; and hostile values (script URLs, control characters, over-long fields, huge blocks).

Expected entries are written out by hand from the inputs, never taken from the readers.
"""

from __future__ import annotations

import json

import pytest

from crawler.errors import SourceFailure
from crawler.extract.listings import (
    MAX_FIELD,
    MAX_JSONLD_BLOCK,
    ListingEntry,
    html_entries,
    locator_entries,
    schema_org_entries,
    url_list_entries,
    with_page,
)

DIRECTORY = "https://dir.example/clinics?page=1"


def page(body: str = "", head: str = "") -> bytes:
    return (
        f"<!DOCTYPE html><html><head><title>Directory</title>{head}</head><body>{body}</body></html>".encode()
    )


def jsonld(document) -> str:
    text = document if isinstance(document, str) else json.dumps(document, ensure_ascii=False)
    return f'<script type="application/ld+json">{text}</script>'


def schema(body: str, head: str = "", url: str = DIRECTORY) -> tuple[list[ListingEntry], str | None, int]:
    return schema_org_entries(page(body, head), url, "dir")


def only(entries: list[ListingEntry]) -> ListingEntry:
    assert len(entries) == 1, entries
    return entries[0]


# --- schema.org JSON-LD -----------------------------------------------------------------------------

ITEM_LIST = {
    "@context": "https://schema.org",
    "@type": "ItemList",
    "itemListElement": [
        {
            "@type": "ListItem",
            "position": 1,
            "item": {
                "@type": "MedicalClinic",
                "name": "Glow Clinic",
                "url": "https://www.glow.example/",
                "telephone": "+1 212 555 0142",
                "address": {
                    "@type": "PostalAddress",
                    "streetAddress": "1 Main St",
                    "addressLocality": "New York",
                    "addressRegion": "NY",
                    "postalCode": "10001",
                    "addressCountry": "US",
                },
                "geo": {"@type": "GeoCoordinates", "latitude": 40.7128, "longitude": "-74.006"},
            },
        },
        {
            "@type": "ListItem",
            "position": 2,
            "item": {
                "@type": "DaySpa",
                "name": "Seoul Skin",
                "url": "/clinics/seoul-skin",
                "telephone": ["02-555-0199", "02-555-0200"],
                "address": {
                    "@type": "PostalAddress",
                    "addressLocality": "Seoul",
                    "addressCountry": {"@type": "Country", "name": "South Korea"},
                },
            },
        },
        {
            "@type": "ListItem",
            "position": 3,
            "item": {
                "@type": "BeautySalon",
                "name": "Güzellik Merkezi",
                "address": {"@type": "PostalAddress", "postalCode": "34710", "addressCountry": "Türkiye"},
            },
        },
    ],
}


def test_an_item_list_of_businesses_is_read():
    entries, following, unreadable = schema(jsonld(ITEM_LIST))
    assert entries == [
        ListingEntry(
            source="dir",
            name="Glow Clinic",
            website="https://www.glow.example/",
            phone="+1 212 555 0142",
            street="1 Main St",
            locality="New York",
            region="NY",
            postcode="10001",
            country="US",
            latitude=40.7128,
            longitude=-74.006,
        ),
        ListingEntry(
            source="dir",
            name="Seoul Skin",
            website="https://dir.example/clinics/seoul-skin",
            phone="02-555-0199",
            locality="Seoul",
            country="South Korea",
        ),
        ListingEntry(
            source="dir",
            name="Güzellik Merkezi",
            website=None,
            phone=None,
            postcode="34710",
            country="Türkiye",
        ),
    ]
    assert following is None
    assert unreadable == 0


def test_a_graph_document_with_a_list_of_types_and_non_business_nodes():
    document = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebSite", "name": "The Directory", "url": "https://dir.example/"},
            {
                "@type": "BreadcrumbList",
                "itemListElement": [
                    {"@type": "ListItem", "position": 1, "name": "Home", "item": "https://dir.example/"}
                ],
            },
            {"@type": "Article", "name": "The ten best med spas", "url": "https://dir.example/best"},
            {"@type": "WebPage", "name": "Clinics", "url": DIRECTORY},
            {
                "@type": ["HealthAndBeautyBusiness", "LocalBusiness"],
                "name": "Graph Spa",
                "url": "http://graph-spa.example/?utm_source=dir",
                "telephone": "020 7946 0958",
                "address": {
                    "@type": "PostalAddress",
                    "addressCountry": {"@type": "Country", "name": "United Kingdom"},
                },
            },
            {"@type": "http://schema.org/Dentist", "name": "Typed By IRI"},
        ],
    }
    entries, _, unreadable = schema(jsonld(document))
    assert entries == [
        ListingEntry(
            source="dir",
            name="Graph Spa",
            website="http://graph-spa.example/",
            phone="020 7946 0958",
            country="United Kingdom",
        ),
        ListingEntry(source="dir", name="Typed By IRI", website=None, phone=None),
    ]
    assert unreadable == 0


def test_only_non_business_types_give_no_entries():
    documents = [
        {"@type": "Article", "name": "News", "url": "https://dir.example/news"},
        {"@type": "WebSite", "name": "Dir", "url": "https://dir.example/"},
        {"@type": "BreadcrumbList", "itemListElement": [{"@type": "ListItem", "name": "Home"}]},
        {"@type": "Person", "name": "Dr. Kim", "telephone": "02-555-0199"},
    ]
    entries, following, unreadable = schema("".join(jsonld(d) for d in documents))
    assert (entries, following, unreadable) == ([], None, 0)


def test_a_country_object_without_name_falls_back_to_its_identifier():
    document = {
        "@type": "MedicalClinic",
        "name": "Dubai Glow",
        "address": {"@type": "PostalAddress", "addressCountry": {"@type": "Country", "identifier": "AE"}},
    }
    assert only(schema(jsonld(document))[0]).country == "AE"


def test_a_string_address_is_split_into_parts():
    document = {
        "@type": "DaySpa",
        "name": "High St Spa",
        "address": "12 High St, London, W1 2AB, United Kingdom",
    }
    found = only(schema(jsonld(document))[0])
    assert (found.street, found.locality, found.postcode, found.country) == (
        "12 High St",
        "London",
        "W1 2AB",
        "United Kingdom",
    )


def test_same_as_stands_in_for_a_missing_url():
    document = {
        "@type": "DaySpa",
        "name": "Spa",
        "sameAs": ["https://spa.example/", "https://instagram.com/spa"],
    }
    assert only(schema(jsonld(document))[0]).website == "https://spa.example/"


def test_a_broken_block_is_counted_and_the_others_are_still_read():
    body = jsonld('{"@type": "DaySpa", "name": "Broken",') + jsonld({"@type": "DaySpa", "name": "Fine Spa"})
    entries, _, unreadable = schema(body)
    assert [e.name for e in entries] == ["Fine Spa"]
    assert unreadable == 1


def test_a_block_over_the_size_limit_is_counted_unread():
    huge = '{"@type": "DaySpa", "name": "Huge Spa", "description": "' + "x" * MAX_JSONLD_BLOCK + '"}'
    entries, _, unreadable = schema(jsonld(huge) + jsonld({"@type": "DaySpa", "name": "Small Spa"}))
    assert [e.name for e in entries] == ["Small Spa"]
    assert unreadable == 1


def test_the_script_type_is_matched_without_regard_to_case():
    body = '<script type="Application/LD+JSON">{"@type": "DaySpa", "name": "Case Spa"}</script>'
    assert [e.name for e in schema(body)[0]] == ["Case Spa"]


def test_the_same_business_stated_twice_is_one_entry():
    clinic = {"@type": "MedicalClinic", "name": "Twice", "url": "https://twice.example/"}
    assert len(schema(jsonld(clinic) + jsonld({"@graph": [clinic]}))[0]) == 1


# --- schema.org microdata ------------------------------------------------------------------------------

MICRODATA = """
<div itemscope itemtype="https://schema.org/DaySpa">
  <h2 itemprop="name">Micro Spa</h2>
  <span itemprop="telephone">020 7946 0958</span>
  <a itemprop="url" href="/spas/micro-spa">Visit the website</a>
  <div itemprop="address" itemscope itemtype="https://schema.org/PostalAddress">
    <span itemprop="name">Reception building</span>
    <span itemprop="streetAddress">12 High St</span>
    <span itemprop="addressLocality">London</span>
    <span itemprop="postalCode">W1 2AB</span>
    <meta itemprop="addressCountry" content="GB">
  </div>
</div>
<div itemscope itemtype="https://schema.org/Article"><span itemprop="name">Not a business</span></div>
"""


def test_microdata_with_a_nested_address_scope():
    entries, following, unreadable = schema_org_entries(page(MICRODATA), "http://dir.example/spas/", "dir")
    assert entries == [
        ListingEntry(
            source="dir",
            name="Micro Spa",
            website="http://dir.example/spas/micro-spa",
            phone="020 7946 0958",
            street="12 High St",
            locality="London",
            postcode="W1 2AB",
            country="GB",
        )
    ]
    assert (following, unreadable) == (None, 0)


def test_jsonld_and_microdata_on_one_page_are_both_read():
    body = jsonld({"@type": "MedicalClinic", "name": "Json Clinic"}) + MICRODATA
    assert [e.name for e in schema(body)[0]] == ["Json Clinic", "Micro Spa"]


# --- next links -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "head", "expected"),
    [
        ('<a rel="next" href="?page=2">Next</a>', "", "https://dir.example/clinics?page=2"),
        ('<a rel="nofollow next" href="/clinics/page/2/">»</a>', "", "https://dir.example/clinics/page/2"),
        (
            "",
            '<link rel="next" href="https://dir.example/clinics?page=2&utm_source=x">',
            "https://dir.example/clinics?page=2",
        ),
        ('<a href="?page=2">Next</a>', "", None),
        ('<a rel="prev" href="?page=0">Previous</a>', "", None),
        (
            '<a rel="next" href="javascript:void(0)">Next</a><a rel="next" href="p3">Next</a>',
            "",
            "https://dir.example/p3",
        ),
    ],
)
def test_the_next_page_link(body, head, expected):
    assert schema(body, head)[1] == expected


def test_a_next_link_on_an_http_page_keeps_http():
    assert (
        schema('<a rel="next" href="/list/3">3</a>', url="http://dir.example/list/2")[1]
        == "http://dir.example/list/3"
    )


# --- store locators ------------------------------------------------------------------------------------

LOCATOR_FIELDS = {
    "list": "data.stores",
    "name": "title",
    "website": "site",
    "phone": "contact.phone",
    "street": "addr.line1",
    "locality": "addr.city",
    "region": "addr.state",
    "postcode": "addr.zip",
    "country": "addr.country",
    "latitude": "loc.lat",
    "longitude": "loc.lng",
    "page_count": "meta.pages",
}
LOCATOR_URL = "https://locator.example/api/stores?page=1"


def locator(document, fields=LOCATOR_FIELDS, base: str = LOCATOR_URL):
    data = document if isinstance(document, bytes) else json.dumps(document).encode()
    return locator_entries(data, fields, "locator", base)


def test_a_locator_answer_through_a_dotted_field_mapping():
    answer = {
        "data": {
            "stores": [
                {
                    "title": "Glow NYC",
                    "site": "https://www.glow.example/nyc/?utm_campaign=locator",
                    "contact": {"phone": "(212) 555-0142"},
                    "addr": {
                        "line1": "1 Main St",
                        "city": "New York",
                        "state": "NY",
                        "zip": "10001",
                        "country": "US",
                    },
                    "loc": {"lat": 40.71, "lng": -74.01},
                },
                {"title": "Glow Boston", "loc": {"lat": "42.36", "lng": "-71.06"}},
                "not an object",
                {"title": None, "site": None},
                {"title": "Numbers Only", "loc": {"lat": "north", "lng": None}},
            ]
        },
        "meta": {"pages": 3},
    }
    entries, pages = locator(answer)
    assert entries == [
        ListingEntry(
            source="locator",
            name="Glow NYC",
            website="https://www.glow.example/nyc",
            phone="(212) 555-0142",
            street="1 Main St",
            locality="New York",
            region="NY",
            postcode="10001",
            country="US",
            latitude=40.71,
            longitude=-74.01,
        ),
        ListingEntry(
            source="locator", name="Glow Boston", website=None, phone=None, latitude=42.36, longitude=-71.06
        ),
        ListingEntry(source="locator", name="Numbers Only", website=None, phone=None),
    ]
    assert pages == 3


def test_the_default_list_key_is_results_and_page_count_is_optional():
    entries, pages = locator({"results": [{"name": "A"}]}, {"name": "name"})
    assert [e.name for e in entries] == ["A"]
    assert pages is None


@pytest.mark.parametrize("value", [True, "3", 2.5, None, [3]])
def test_a_page_count_that_is_not_an_integer_is_none(value):
    assert locator({"results": [], "pages": value}, {"name": "name", "page_count": "pages"})[1] is None


@pytest.mark.parametrize(
    ("document", "list_key"),
    [
        ({"other": []}, "results"),
        ({"results": {"a": 1}}, "results"),
        ([1, 2], "results"),
        ({"data": {"shops": []}}, "data.stores"),
        ({"data": []}, "data.stores"),
    ],
)
def test_no_list_at_the_list_key_is_a_source_failure(document, list_key):
    with pytest.raises(SourceFailure, match=f"no list at {list_key!r}"):
        locator(document, {"list": list_key, "name": "name"})


@pytest.mark.parametrize(
    "data", [b"<html><body>Blocked</body></html>", b"", b"{'single': 'quotes'}", b'{"a": ']
)
def test_an_answer_that_is_not_json_is_a_source_failure(data):
    with pytest.raises(SourceFailure, match="not JSON"):
        locator(data, {"name": "name"})


@pytest.mark.parametrize(("lat", "lng"), [(200, 10), ("-181", 10), ("nan-ish", 10)])
def test_coordinates_out_of_range_or_unreadable_are_none(lat, lng):
    found = only(
        locator(
            {"results": [{"name": "A", "lat": lat, "lng": lng}]},
            {"name": "name", "latitude": "lat", "longitude": "lng"},
        )[0]
    )
    assert found.latitude is None
    assert found.longitude == 10.0


def test_a_boolean_or_a_latitude_past_the_pole_is_no_coordinate():
    found = only(
        locator(
            {"results": [{"name": "A", "lat": 95, "lng": True}]},
            {"name": "name", "latitude": "lat", "longitude": "lng"},
        )[0]
    )
    assert (found.latitude, found.longitude) == (None, None)


def test_a_website_with_a_scheme_is_kept_as_it_is():
    entries, _ = locator(
        {"results": [{"name": "A", "url": "HTTP://Glow.Example/A/"}]}, {"name": "name", "website": "url"}
    )
    assert only(entries).website == "http://glow.example/A"


@pytest.mark.parametrize(
    ("written", "expected"),
    [("glow.example", "http://glow.example/"), ("www.glow3.example", "http://www.glow3.example/")],
)
def test_a_locator_website_without_scheme_gets_http(written, expected):
    entries, _ = locator({"results": [{"name": "A", "url": written}]}, {"name": "name", "website": "url"})
    assert only(entries).website == expected


# --- HTML directories -------------------------------------------------------------------------------

DIRECTORY_PAGE = """
<ul>
  <li class="card">
    <h3 class="n">Glow <b>Med</b> Spa</h3>
    <a class="w" href="http://www.glow.example/?utm_source=dir">Website</a>
    <span class="p">020 7946 0958</span>
    <p class="a">12 High St, London, W1 2AB, United Kingdom</p>
  </li>
  <li class="card">
    <h3 class="n">Relative Spa</h3>
    <a class="w" href="/go/relative-spa">Website</a>
  </li>
  <li class="card"><h3 class="n">Script Spa</h3><a class="w" href="javascript:alert(1)">Website</a></li>
  <li class="card"><span>nothing to read</span></li>
</ul>
<a class="more" href="/clinics?page=2">More clinics</a>
"""
SELECTORS = {
    "entry": "li.card",
    "name": ".n",
    "website": "a.w",
    "phone": ".p",
    "address": ".a",
    "next": "a.more",
}


def test_directory_cards_through_css_selectors():
    entries, following = html_entries(page(DIRECTORY_PAGE), DIRECTORY, SELECTORS, "dir")
    assert entries == [
        ListingEntry(
            source="dir",
            name="Glow Med Spa",
            website="http://www.glow.example/",
            phone="020 7946 0958",
            street="12 High St",
            locality="London",
            postcode="W1 2AB",
            country="United Kingdom",
        ),
        ListingEntry(
            source="dir", name="Relative Spa", website="https://dir.example/go/relative-spa", phone=None
        ),
        ListingEntry(source="dir", name="Script Spa", website=None, phone=None),
    ]
    assert following == "https://dir.example/clinics?page=2"


def test_without_a_next_selector_rel_next_is_the_next_page():
    body = DIRECTORY_PAGE + '<link rel="next" href="/clinics?page=9">'
    _, following = html_entries(page(body), DIRECTORY, {"entry": "li.card", "name": ".n"}, "dir")
    assert following == "https://dir.example/clinics?page=9"


def test_a_next_selector_that_finds_nothing_falls_back_to_rel_next():
    body = '<div class="card"><b>A</b></div><a rel="next" href="?page=2">next</a>'
    _, following = html_entries(
        page(body), DIRECTORY, {"entry": ".card", "name": "b", "next": "a.nope"}, "dir"
    )
    assert following == "https://dir.example/clinics?page=2"


@pytest.mark.parametrize(
    ("name", "selector"), [("entry", "li..card"), ("name", "h3["), ("website", "a::before")]
)
def test_an_invalid_css_selector_is_a_source_failure_naming_it(name, selector):
    selectors = {**SELECTORS, name: selector}
    with pytest.raises(SourceFailure) as failure:
        html_entries(page(DIRECTORY_PAGE), DIRECTORY, selectors, "dir")
    assert f"selector {name} = {selector!r}" in str(failure.value)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("12 High St, London, W1 2AB, United Kingdom", ("12 High St", "London", "W1 2AB", "United Kingdom")),
        ("12 High St, London W1 2AB, United Kingdom", ("12 High St", "London", "W1 2AB", "United Kingdom")),
        ("Gangnam-daero 1, Seoul, 06000, South Korea", ("Gangnam-daero 1", "Seoul", "06000", "South Korea")),
        ("Bağdat Cd. 5, 34710 Kadıköy, Türkiye", ("Bağdat Cd. 5", "Kadıköy", "34710", "Türkiye")),
        ("Calle Mayor 1, Madrid", ("Calle Mayor 1", "Madrid", None, None)),
    ],
)
def test_a_directory_address_is_split_into_parts(address, expected):
    body = f'<div class="c"><b>Spa</b><p>{address}</p></div>'
    found = only(html_entries(page(body), DIRECTORY, {"entry": ".c", "name": "b", "address": "p"}, "dir")[0])
    assert (found.street, found.locality, found.postcode, found.country) == expected


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("1 Main St, New York, NY 10001", ("1 Main St", "New York", "10001", None)),
        ("1 Main St, New York, NY 10001, USA", ("1 Main St", "New York", "10001", "USA")),
    ],
)
def test_a_us_address_with_state_and_zip(address, expected):
    body = f'<div class="c"><b>Spa</b><p>{address}</p></div>'
    found = only(html_entries(page(body), DIRECTORY, {"entry": ".c", "name": "b", "address": "p"}, "dir")[0])
    assert (found.street, found.locality, found.postcode, found.country) == expected


# --- URL lists ----------------------------------------------------------------------------------------------


def test_a_csv_with_url_name_and_country_columns():
    text = (
        "url,name,country\n"
        "http://www.glow.example/,Glow Spa,GB\n"
        'glow2.example,"Two Spa, Inc",\n'
        "# a comment line\n"
        "\n"
        "https://three.example/x/?utm_source=list,,KR\n"
    )
    assert url_list_entries(text, "csv") == [
        ListingEntry(
            source="csv", name="Glow Spa", website="http://www.glow.example/", phone=None, country="GB"
        ),
        ListingEntry(source="csv", name="Two Spa, Inc", website="http://glow2.example/", phone=None),
        ListingEntry(source="csv", name=None, website="https://three.example/x", phone=None, country="KR"),
    ]


def test_csv_headers_are_matched_without_case_or_spaces():
    entries = url_list_entries("URL, Name ,Phone\nhttps://x.example, X Spa ,+1 212 555 0142\n", "csv")
    assert entries == [
        ListingEntry(source="csv", name="X Spa", website="https://x.example/", phone="+1 212 555 0142")
    ]


def test_a_plain_list_of_urls_with_comments_and_blank_lines():
    text = "# clinics\nhttps://a.example/\n  b.example  \n\n   # indented comment\nhttp://c.example/path#frag\nftp://d.example/\n"
    assert [e.website for e in url_list_entries(text, "txt")] == [
        "https://a.example/",
        "http://b.example/",
        "http://c.example/path",
    ]
    assert {e.source for e in url_list_entries(text, "txt")} == {"txt"}


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "url,name\n"])
def test_an_empty_list_has_no_entries(text):
    assert url_list_entries(text, "x") == []


# --- with_page ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "param", "number", "expected"),
    [
        ("https://d.example/list?page=1&sort=a", "page", 2, "https://d.example/list?sort=a&page=2"),
        ("https://d.example/list", "p", 3, "https://d.example/list?p=3"),
        ("https://d.example/list?p=1&p=2&q=a+b", "p", 7, "https://d.example/list?q=a+b&p=7"),
        ("https://d.example/list?page=1#results", "page", 2, "https://d.example/list?page=2"),
        ("http://d.example/api?offset=0&empty=", "page", 10, "http://d.example/api?offset=0&empty=&page=10"),
    ],
)
def test_with_page_sets_or_replaces_the_parameter(url, param, number, expected):
    assert with_page(url, param, number) == expected


# --- hostile values ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "website",
    [
        "javascript:alert(1)",
        "javascript:void(0)",
        "data:text/html,<b>x</b>",
        "ftp://files.example/",
        "about:blank",
        " ",
    ],
)
def test_websites_that_are_not_http_are_dropped(website):
    found = only(schema(jsonld({"@type": "MedicalClinic", "name": "Spa", "url": website}))[0])
    assert found.website is None
    assert found.name == "Spa"


@pytest.mark.parametrize("website", ["mailto:info@glow.example", "tel:555", "javascript:0"])
def test_scheme_only_urls_are_not_taken_for_bare_domains(website):
    found = only(schema(jsonld({"@type": "MedicalClinic", "name": "Spa", "url": website}))[0])
    assert found.website is None


def test_control_characters_are_cleaned_from_every_field():
    document = {
        "@type": "MedicalClinic",
        "name": "Evil\u0007 Spa\u202e\x1b",
        "telephone": "020\x00 7946\t0958",
        "address": {"streetAddress": "1\u0085 Main\nSt", "addressCountry": "G\u2066B"},
    }
    found = only(schema(jsonld(document))[0])
    assert (found.name, found.phone, found.street, found.country) == (
        "Evil Spa",
        "020 7946 0958",
        "1 Main St",
        "GB",
    )


def test_csv_control_characters_are_cleaned():
    assert url_list_entries("url,name\nhttps://x.example/,A\x07B\x1b C\n", "x")[0].name == "AB C"


def test_a_very_long_name_is_dropped_not_cut():
    long_name = "N" * (MAX_FIELD + 1)
    found = only(schema(jsonld({"@type": "DaySpa", "name": long_name, "url": "https://spa.example/"}))[0])
    assert found.name is None
    assert found.website == "https://spa.example/"


def test_an_entry_whose_only_value_is_too_long_is_dropped():
    documents = jsonld({"@type": "DaySpa", "name": "N" * (MAX_FIELD + 1)}) + jsonld(
        {"@type": "DaySpa", "name": "N" * MAX_FIELD}
    )
    assert [len(e.name) for e in schema(documents)[0]] == [MAX_FIELD]


@pytest.mark.parametrize("name", [{"@value": "Spa"}, ["Spa"], True, None, "   "])
def test_names_that_are_not_text_are_none(name):
    document = {"@type": "DaySpa", "name": name, "url": "https://spa.example/"}
    assert only(schema(jsonld(document))[0]).name is None


def test_an_over_long_url_is_dropped():
    found = only(
        schema(jsonld({"@type": "DaySpa", "name": "Spa", "url": "https://spa.example/" + "a" * 2100}))[0]
    )
    assert found.website is None


def test_deeply_nested_json_ld_is_not_followed_forever():
    document: dict = {"@type": "DaySpa", "name": "Deep Spa"}
    for _ in range(40):
        document = {"@type": "ItemList", "itemListElement": [document]}
    entries, _, unreadable = schema(jsonld(document))
    assert (entries, unreadable) == ([], 0)
