"""Akamai's bot block: a redirect to /apology_objects/... is a source failure, never followed.

fda.gov answers a client it refuses with HTTP 302 to /apology_objects/excessive-requests-apology.html
(a public scraper of fda.gov, chleogks1598-beep/fda-warning-letters, notes it: a 302, not a 200,
so it is easy to miss). The URL gate middleware, which every crawl passes, refuses the hop.
"""

from __future__ import annotations

import asyncio

import pytest
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.utils.test import get_crawler

from crawler.errors import SourceFailure
from crawler.middlewares import SourceBlocked, UrlGateMiddleware, apology_reason
from crawler.urlgate import UrlGate

LISTING = "https://www.fda.gov/datatables/views/ajax?draw=1&start=0&length=100"
APOLOGY = "/apology_objects/excessive-requests-apology.html"
REASON = "fda.gov refused the crawler: redirected to /apology_objects/excessive-requests-apology.html (Akamai bot block)"


def _no_dns(host: str):
    raise AssertionError(f"the gate resolved {host}: an apology hop must be refused before any lookup")


@pytest.fixture
def crawler():
    return get_crawler()


@pytest.fixture
def gate_mw(crawler) -> UrlGateMiddleware:
    return UrlGateMiddleware(crawler, UrlGate(frozenset(), resolver=_no_dns))


def _hop(location: str, crawler) -> Request:
    """The request Scrapy's RedirectMiddleware makes of a 302 from the listing."""
    redirect = RedirectMiddleware.from_crawler(crawler)
    answer = Response(LISTING, status=302, headers={"Location": location})
    hop = redirect.process_response(Request(LISTING), answer)
    assert isinstance(hop, Request) and hop.meta["redirect_urls"] == [LISTING]
    return hop


@pytest.mark.parametrize(
    "location",
    [
        APOLOGY,
        f"https://www.fda.gov{APOLOGY}",
        f"http://cdn.example.net{APOLOGY}",  # any host
        "/Apology_Objects/excessive-requests-apology.html?ref=1",
    ],
)
def test_a_redirect_to_an_apology_page_is_refused_before_the_gate_with_the_reason(location, crawler, gate_mw):
    hop = _hop(location, crawler)
    with pytest.raises(SourceBlocked) as caught:
        asyncio.run(gate_mw.process_request(hop))
    assert str(caught.value).startswith("fda.gov refused the crawler: redirected to /")
    assert str(caught.value).endswith("(Akamai bot block)")
    assert isinstance(caught.value, SourceFailure) and isinstance(caught.value, IgnoreRequest)
    assert crawler.stats.get_value("urlgate/apology_redirect") == 1
    assert crawler.stats.get_value("urlgate/refused") is None  # not a refusal of the gate's


def test_the_reason_is_one_line_naming_the_page(crawler, gate_mw):
    with pytest.raises(SourceBlocked, match=r"^" + REASON.replace("(", r"\(").replace(")", r"\)") + "$"):
        asyncio.run(gate_mw.process_request(_hop(APOLOGY, crawler)))


def test_a_redirect_not_followed_is_refused_on_the_response(crawler, gate_mw):
    # dont_redirect, handle_httpstatus_list or too many hops: the 3xx itself reaches the gate
    for status in (301, 302, 303, 307, 308):
        answer = Response(LISTING, status=status, headers={"Location": APOLOGY})
        with pytest.raises(SourceBlocked, match="redirected to /apology_objects/"):
            gate_mw.process_response(Request(LISTING), answer)


def test_other_redirects_and_pages_pass(crawler):
    gate = UrlGate(frozenset({"127.0.0.1:8080"}), resolver=_no_dns)
    gate_mw = UrlGateMiddleware(crawler, gate)
    here = "http://127.0.0.1:8080/datatables/views/ajax"
    elsewhere = Response(here, status=302, headers={"Location": "/objects/apology_objects/x.html"})
    assert gate_mw.process_response(Request(here), elsewhere) is elsewhere
    hop = Request("http://127.0.0.1:8080/apology.html", meta={"redirect_urls": [here]})
    assert asyncio.run(gate_mw.process_request(hop)) is None
    direct = Request("http://127.0.0.1:8080/apology_objects/page.html")  # asked for, not redirected to
    assert asyncio.run(gate_mw.process_request(direct)) is None
    assert crawler.stats.get_value("urlgate/apology_redirect") is None


def test_apology_reason_names_who_refused():
    assert apology_reason(f"https://www.fda.gov{APOLOGY}", LISTING) == REASON
    assert apology_reason("http://127.0.0.1:8123/apology_objects/a.html", "http://127.0.0.1:8123/x") == (
        "127.0.0.1 refused the crawler: redirected to /apology_objects/a.html (Akamai bot block)"
    )
    assert apology_reason("https://www.fda.gov/warning-letters/x", LISTING) is None


def test_the_host_that_refused_is_not_asked_again_in_the_crawl(crawler, gate_mw):
    with pytest.raises(SourceBlocked):
        asyncio.run(gate_mw.process_request(_hop(APOLOGY, crawler)))
    letter = Request(
        "https://www.fda.gov/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/x"
    )
    with pytest.raises(
        SourceBlocked, match=r"^fda\.gov refused the crawler: redirected to /apology_objects/"
    ):
        asyncio.run(gate_mw.process_request(letter))
    assert crawler.stats.get_value("urlgate/apology_not_sent") == 1
    assert asyncio.run(gate_mw.process_request(Request("http://93.184.216.34/other-host"))) is None
