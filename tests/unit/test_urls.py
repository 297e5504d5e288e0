"""Canonical URLs: every spelling of one notice's URL is one key."""

from __future__ import annotations

import pytest

from crawler.normalize.urls import canonical_url, fetch_url, site_url

ALERT = "https://www.fda.gov/safety/medical-product-safety-information/public-safety-alert"


@pytest.mark.parametrize(
    "spelling",
    [
        ALERT,
        ALERT + "/",
        "http://www.fda.gov/safety/medical-product-safety-information/public-safety-alert",
        "HTTPS://WWW.FDA.GOV/safety/medical-product-safety-information/public-safety-alert",
        "https://fda.gov/safety/medical-product-safety-information/public-safety-alert/",
        "https://www.fda.gov:443/safety/medical-product-safety-information/public-safety-alert",
        "http://www.fda.gov./safety/medical-product-safety-information/public-safety-alert",
        ALERT + "?utm_source=govdelivery&utm_medium=email&utm_campaign=x",
        ALERT + "/?source=govdelivery#main",
        ALERT + "#top",
        ALERT + "?fbclid=abc&gclid=def",
        "https://www.fda.gov/safety/./medical-product-safety-information/x/../public-safety-alert",
        "  " + ALERT + "\n",
    ],
)
def test_spellings_of_one_page_are_one_key(spelling):
    assert canonical_url(spelling) == ALERT


def test_meaningful_query_parameters_stay_and_are_sorted():
    assert canonical_url("https://www.fda.gov/search?s=exosome&page=2&utm_source=x") == (
        "https://www.fda.gov/search?page=2&s=exosome"
    )
    assert (
        canonical_url("https://example.org/p?source=newsletter") == "https://example.org/p?source=newsletter"
    )


def test_percent_encoding_is_normalized():
    assert canonical_url("https://www.fda.gov/a%7Eb/%c3%a9") == canonical_url(
        "https://www.fda.gov/a~b/%C3%A9"
    )


def test_other_ports_and_hosts_are_kept():
    assert canonical_url("http://127.0.0.1:8080/x/") == "https://127.0.0.1:8080/x"
    assert canonical_url("https://www.example.org") == "https://www.example.org/"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "not an http\\(s\\) URL"),
        ("javascript:alert(1)", "not an http\\(s\\) URL"),
        ("mailto:a@b.org", "not an http\\(s\\) URL"),
        ("/relative/path", "not an http\\(s\\) URL"),
        ("https://", "no host"),
        ("https://[::1", "not a valid URL"),
        ("https://www.fda.gov/a\x00b", "control character"),
        ("https://www.fda.gov/" + "a" * 5000, "longer than"),
    ],
)
def test_non_urls_are_refused_with_the_reason(url, message):
    with pytest.raises(ValueError, match=message):
        canonical_url(url)


def test_fetch_url_sends_fda_pages_to_the_configured_origin_and_back():
    fetched = fetch_url(ALERT, "http://127.0.0.1:5555")
    assert fetched == "http://127.0.0.1:5555/safety/medical-product-safety-information/public-safety-alert"
    assert site_url(fetched, "http://127.0.0.1:5555") == ALERT
    assert fetch_url("https://www.example.org/x", "http://127.0.0.1:5555") == "https://www.example.org/x"
    assert fetch_url(ALERT, "https://www.fda.gov") == ALERT


@pytest.mark.parametrize(
    "url",
    [
        ALERT,
        "https://www.fda.gov/",
        "https://www.example.org/a/b.c/d~e_f-g",
        "https://fda.gov/x",
        "https://www.fda.gov/a/./b",
        "https://www.fda.gov/a/../b",
        "https://www.fda.gov/a/..b",
        "https://xn--bcher-kva.example/a",
    ],
)
def test_the_fast_path_agrees_with_the_full_normalization(url):
    """A fragment forces the full path (urlsplit, w3lib); the answer must be the same."""
    assert canonical_url(url) == canonical_url(url + "#fragment")
