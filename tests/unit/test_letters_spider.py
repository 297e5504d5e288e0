"""The warning-letters spider's requests, without a crawl: which letter pages a listing page asks for."""

from datetime import date

import scrapy
from scrapy.http import TextResponse

from crawler.items import ListedLetterItem
from crawler.spiders.fda_warning_letters import LISTING_PAGE_PATH, FdaWarningLettersSpider
from tests.unit.test_listing_ajax import KIMERA, answer

BASE = "http://replay.test"
CLOSED = date(2024, 8, 5)  # the close-out every row below lists


def _row(slug: str) -> list[str]:
    row = list(KIMERA)
    row[2] = (
        f'<a href="/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/{slug}">X</a>'
    )
    return row


def _outputs(spider, rows, start=0, total=None):
    url = f"{BASE}/datatables/views/ajax?start={start}"
    response = TextResponse(url, body=answer(rows, total=total, recordsFiltered=total or len(rows)))
    return spider.parse_listing(response, start=start)


def test_a_letter_listed_twice_is_fetched_once_with_the_listing_as_referer():
    spider = FdaWarningLettersSpider(base_url=BASE, page_size=3, full=True)
    first = _outputs(spider, [_row("a-1-01012024"), _row("b-2-01012024"), _row("a-1-01012024")], total=6)
    # FDA posts letters while the crawl pages: the next page can repeat a row already seen
    second = _outputs(spider, [_row("b-2-01012024"), _row("c-3-01012024")], start=3, total=6)
    letters = [r for r in first + second if isinstance(r, scrapy.Request) and "/warning-letters/" in r.url]
    assert [r.url.rsplit("/", 1)[1] for r in letters] == ["a-1-01012024", "b-2-01012024", "c-3-01012024"]
    assert all(r.headers["Referer"] == f"{BASE}{LISTING_PAGE_PATH}".encode() for r in letters)
    # every listed letter is an item once, with the first row seen of it
    kept = [item.slug for item in first + second if isinstance(item, ListedLetterItem)]
    assert kept == ["a-1-01012024", "b-2-01012024", "c-3-01012024"]
    assert spider.seen == set(kept)


def test_an_incremental_crawl_asks_only_for_letters_it_lacks_or_whose_closeout_is_new():
    # every row lists a close-out of 08/05/2024: "a" has it stored, "b" does not, "c" is unknown
    known = {"a-1-01012024": (None, date(2024, 8, 5)), "b-2-01012024": (None, None)}
    spider = FdaWarningLettersSpider(base_url=BASE, page_size=3, known=known)
    outputs = _outputs(spider, [_row(s) for s in ("a-1-01012024", "b-2-01012024", "c-3-01012024")], total=3)
    letters = [r.url.rsplit("/", 1)[1] for r in outputs if isinstance(r, scrapy.Request)]
    assert letters == ["b-2-01012024", "c-3-01012024"]


def _letters(outputs) -> list[str]:
    return [
        r.url.rsplit("/", 1)[1]
        for r in outputs
        if isinstance(r, scrapy.Request) and "/warning-letters/" in r.url
    ]


def test_the_listing_s_news_comes_first_and_the_backlog_fills_the_budget():
    # "a" and "b" are stored without a body (the backlog, newest first: b, z, a), "c" and "d" are new
    # (every row lists the close-out of 08/05/2024: the stored letters have it)
    known = {slug: (None, CLOSED) for slug in ("a-1-01012024", "b-2-01012024", "z-9-01012024")}
    backlog = ["b-2-01012024", "z-9-01012024", "a-1-01012024"]
    spider = FdaWarningLettersSpider(
        base_url=BASE, page_size=4, pages_per_run=3, known=known, backlog=backlog
    )
    rows = [_row(s) for s in ("a-1-01012024", "b-2-01012024", "c-3-01012024", "d-4-01012024")]
    outputs = _outputs(spider, rows, total=4)
    assert _letters(outputs) == ["c-3-01012024", "d-4-01012024", "b-2-01012024"]
    assert spider.complete


def test_new_letters_over_the_budget_wait_for_a_later_crawl_and_a_full_crawl_has_none():
    rows = [_row(f"{c}-{n}-01012024") for n, c in enumerate("abcde", 1)]
    spider = FdaWarningLettersSpider(base_url=BASE, page_size=5, pages_per_run=2, backlog=["z-9-01012024"])
    assert _letters(_outputs(spider, rows, total=5)) == ["a-1-01012024", "b-2-01012024"]
    spider = FdaWarningLettersSpider(
        base_url=BASE, page_size=5, pages_per_run=2, full=True, backlog=["z-9-01012024"]
    )
    assert len(_letters(_outputs(spider, rows, total=5))) == 5  # every listed letter; no budget left


def test_an_incremental_crawl_stops_paging_at_a_page_of_stored_letters_and_then_asks_for_the_backlog():
    known = {f"{c}-{n}-01012024": (None, CLOSED) for n, c in enumerate("abc", 1)}
    spider = FdaWarningLettersSpider(base_url=BASE, page_size=3, known=known, backlog=["q-7-01012024"])
    outputs = _outputs(spider, [_row(s) for s in known], total=9)
    assert not any("/datatables/" in r.url for r in outputs if isinstance(r, scrapy.Request))  # no next page
    assert _letters(outputs) == ["q-7-01012024"] and not spider.complete
