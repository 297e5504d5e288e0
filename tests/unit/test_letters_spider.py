"""The warning-letters spider's requests, without a crawl: which letter pages a listing page asks for."""

import asyncio
from datetime import date

import scrapy
from scrapy.http import TextResponse

from crawler.pipelines import letter_collection
from crawler.spiders.fda_warning_letters import LISTING_PAGE_PATH, FdaWarningLettersSpider
from tests.unit.test_listing_ajax import KIMERA, answer

BASE = "http://replay.test"


def _row(slug: str) -> list[str]:
    row = list(KIMERA)
    row[2] = (
        f'<a href="/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/{slug}">X</a>'
    )
    return row


def _outputs(spider, rows, start=0, total=None):
    url = f"{BASE}/datatables/views/ajax?start={start}"
    response = TextResponse(url, body=answer(rows, total=total, recordsFiltered=total or len(rows)))

    # no worker here: the listing is read inline (crawler.offload)
    return asyncio.run(spider.parse_listing(response, start=start))


def test_a_letter_listed_twice_is_fetched_once_with_the_listing_as_referer():
    spider = FdaWarningLettersSpider(base_url=BASE, page_size=3, full=True)
    first = _outputs(spider, [_row("a-1-01012024"), _row("b-2-01012024"), _row("a-1-01012024")], total=6)
    # FDA posts letters while the crawl pages: the next page can repeat a row already seen
    second = _outputs(spider, [_row("b-2-01012024"), _row("c-3-01012024")], start=3, total=6)
    letters = [r for r in first + second if isinstance(r, scrapy.Request) and "/warning-letters/" in r.url]
    assert [r.url.rsplit("/", 1)[1] for r in letters] == ["a-1-01012024", "b-2-01012024", "c-3-01012024"]
    assert all(r.headers["Referer"] == f"{BASE}{LISTING_PAGE_PATH}".encode() for r in letters)
    # every listed letter reaches the store once, with the first row seen of it
    kept = letter_collection._crawls.pop(spider.crawl_key).rows
    assert list(kept) == ["a-1-01012024", "b-2-01012024", "c-3-01012024"]
    assert spider.seen == set(kept)


def test_an_incremental_crawl_asks_only_for_letters_it_lacks_or_whose_closeout_is_new():
    # every row lists a close-out of 08/05/2024: "a" has it stored, "b" does not, "c" is unknown
    known = {"a-1-01012024": (None, date(2024, 8, 5), True), "b-2-01012024": (None, None, True)}
    spider = FdaWarningLettersSpider(base_url=BASE, page_size=3, known=known)
    outputs = _outputs(spider, [_row(s) for s in ("a-1-01012024", "b-2-01012024", "c-3-01012024")], total=3)
    letters = [r.url.rsplit("/", 1)[1] for r in outputs if isinstance(r, scrapy.Request)]
    assert letters == ["b-2-01012024", "c-3-01012024"]
