"""Spider `fda_warning_letters`: FDA's warning-letter listing, and every letter page it needs.

The listing is read through its DataTables endpoint, a page of rows at a time. By default the
crawl is incremental: it fetches the pages of letters it does not know (or whose listing row shows
a response or close-out the store lacks) and stops paging once a whole page holds only letters it
already has. With `full=True` it walks the whole listing and reads every letter page again: that
is what lets the store count a letter's absence towards delisting, and notice a changed text.

Then, within `pages_per_run` letter pages a crawl (the listing's letters come first), the pages of
stored letters that have none yet or whose page failed (`backlog`, from the store, newest first):
letters backfilled from FDA's exports get their bodies, a few hundred a crawl.

The spider extracts and decides what to fetch; its items go through the pipelines
(crawler.pipelines.letter_tags, then letter_store), which store every letter when the crawl ends:
a listed letter (ListedLetterItem, the first row seen of it), a letter page (LetterPageItem), or
a letter page that could not be had or read (LetterPageFailedItem). A failure of the listing (a
block page, an HTTP error, JSON of another shape), or the source refusing the crawler on any
request (Akamai's redirect to its apology page: crawler.middlewares), ends the crawl as a source
failure, and the store pipeline then writes nothing. A letter page that cannot be read (an HTTP
error after retries, a truncated or foreign page) is that letter's page error, not the crawl's:
the letter is stored from its listing row, the run is partial, and the next crawl asks for the
page again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import date
from typing import Any
from urllib.parse import urlencode, urlsplit

import scrapy
from scrapy.exceptions import CloseSpider
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.errors import SourceFailure
from crawler.extract.letter_page import parse_letter_page
from crawler.extract.listing_ajax import parse_listing_page
from crawler.items import LetterPageFailedItem, LetterPageItem, ListedLetterItem
from crawler.normalize.letters import LETTERS_PATH, letter_slug
from crawler.normalize.text import parse_listing_date

LISTING_AJAX_PATH = "/datatables/views/ajax"
#: Drupal's own AJAX endpoint: a POST answered with a command list carrying the view's HTML table
#: (no row count). Public scrapers of fda.gov use it where Akamai blocks the DataTables endpoint.
LISTING_VIEWS_PATH = "/views/ajax"
LISTING_ENDPOINTS = ("datatables", "views")
LISTING_PAGE_PATH = (
    "/inspections-compliance-enforcement-and-criminal-investigations/"
    "compliance-actions-and-activities/warning-letters"
)
LISTING_PARAMS = {
    "view_name": "warning_letter_solr_index",
    "view_display_id": "warning_letter_solr_block",
    "_drupal_ajax": "1",
}

#: A first listing page reporting fewer than this share of the letters listed before is a failure.
MIN_LISTING_SHARE = 0.5

#: slug -> (response letter date, close-out date) of every stored letter
KnownLetters = Mapping[str, tuple[date | None, date | None]]

#: Letter pages a crawl reads at most when the configuration does not say
PAGES_PER_RUN = 200


class FdaWarningLettersSpider(scrapy.Spider):
    name = "fda_warning_letters"

    def __init__(
        self,
        *args: Any,
        base_url: str = "https://www.fda.gov",
        page_size: int = 100,
        listing_endpoint: str = "datatables",
        full: bool = False,
        pages_per_run: int = PAGES_PER_RUN,
        known: KnownLetters | None = None,
        listed: int = 0,
        backlog: Sequence[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # `scrapy crawl -a name=value` passes text: numbers and flags are read from it
        page_size, pages_per_run, listed = int(page_size), int(pages_per_run), int(listed)
        full = _flag(full)
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size
        if listing_endpoint not in LISTING_ENDPOINTS:
            raise ValueError(f"listing_endpoint must be one of {LISTING_ENDPOINTS}, not {listing_endpoint!r}")
        self.listing_endpoint = listing_endpoint
        self.full = full
        self.pages_per_run = pages_per_run  # letter pages asked for at most (a full crawl: every listed one)
        self.known: KnownLetters = known or {}
        self.listed = listed  # letters the listing showed last time
        self.backlog: Sequence[str] = backlog  # stored letters still without a readable page, newest first
        self.failure: str | None = None
        self.page_failures: list[str] = []  # letter pages that could not be read (the store pipeline's)
        self.complete = False  # the whole listing was read, to its last row
        self.seen: set[str] = set()  # the letters the listing showed
        self.requested: set[str] = set()  # letter pages asked for (the listing can repeat a row)
        self._backlog_asked = False
        self._draw = 0

    async def start(self) -> AsyncIterator[scrapy.Request]:
        yield self._listing_request(0)

    def parse(self, response: Response, **kwargs: Any) -> list[Any]:
        """Any page of this source, by its address (for `scrapy parse URL` and `scrapy shell`):
        a letter's page, or the first page of the listing."""
        if LETTERS_PATH in urlsplit(response.url).path:
            try:
                slug = letter_slug(response.url)
            except ValueError:
                slug = urlsplit(response.url).path.rstrip("/").rsplit("/", 1)[-1]
            return self.parse_letter(response, slug)
        return self.parse_listing(response, start=0)

    # -- listing -------------------------------------------------------------------------------

    def _listing_request(self, start: int) -> scrapy.Request:
        self._draw += 1
        fields = {
            **LISTING_PARAMS,
            "draw": str(self._draw),
            "start": str(start),
            "length": str(self.page_size),
        }
        headers = {
            "X-Requested-With": "XMLHttpRequest",
            "Referer": f"{self.base_url}{LISTING_PAGE_PATH}",
            "Accept": "application/json, text/javascript, */*; q=0.01",
        }
        common = {"callback": self.parse_listing, "errback": self.on_error, "cb_kwargs": {"start": start}}
        if self.listing_endpoint == "views":
            return scrapy.FormRequest(
                f"{self.base_url}{LISTING_VIEWS_PATH}",
                formdata=fields,
                headers=headers,
                dont_filter=True,
                **common,
            )
        return scrapy.Request(
            f"{self.base_url}{LISTING_AJAX_PATH}?{urlencode(fields)}",
            headers=headers,
            dont_filter=True,
            **common,
        )

    def parse_listing(self, response: Response, start: int) -> list[scrapy.Request | ListedLetterItem]:
        """The letters of one listing page (an item for each not seen before in this crawl),
        the pages to read, and the next listing page while there is news."""
        try:
            page = parse_listing_page(response.body, require_count=False)
            listed = [(letter_slug(row.url or ""), row) for row in page.rows]
        except SourceFailure as exc:
            self._fail(f"{exc} ({response.url})")
        except ValueError as exc:
            self._fail(f"listing columns changed: {exc} ({response.url})")
        count = page.records_filtered  # None: the command-list form states no count
        if not listed and ((count is not None and start < count) or (start == 0 and self.known)):
            reports = "states no count" if count is None else f"reports {count}"
            self._fail(
                f"listing shows no letters at row {start} (it {reports}, the store has {len(self.known)})"
            )
        if start == 0 and count is not None and count < self.listed * MIN_LISTING_SHARE:
            # a listing that lost most of its letters is a filtered or broken answer, not news:
            # counting it would delist hundreds of letters after a few crawls
            self._fail(f"listing shrank to {count} letters from {self.listed} listed before")
        all_known = True
        requests: list[scrapy.Request] = []
        items = []
        crawler = getattr(self, "crawler", None)  # None when a test calls a callback directly
        stats = crawler.stats if crawler is not None else None
        for slug, row in listed:
            if slug not in self.seen:  # FDA can repeat a row while the crawl pages: the first wins
                self.seen.add(slug)
                items.append(ListedLetterItem(slug, row))
            if self._needs_page(slug, row.response_letter, row.closeout_letter):
                all_known = False
                if slug in self.requested:
                    continue
                if not self.full and len(self.requested) >= self.pages_per_run:
                    # over budget: stored from its listing row now, its page read by a later crawl
                    if stats is not None:
                        stats.inc_value("exowatch/letter_pages_deferred")
                    continue
                requests.append(self._letter_request(slug))
        next_start = start + len(listed)
        # without a count, a page shorter than asked is the last
        more = bool(listed) and (next_start < count if count is not None else len(listed) >= self.page_size)
        if more and (self.full or not all_known):
            # first: Scrapy schedules a callback's requests one event-loop turn each, while
            # it fetches; last, the next listing page waited for this page's letters, and the
            # downloader ran dry at the end of every listing page
            requests.insert(0, self._listing_request(next_start))
        else:
            self.complete = not more
            if self.complete and count is None and len(self.seen) < self.listed * MIN_LISTING_SHARE:
                self._fail(f"listing shrank to {len(self.seen)} letters from {self.listed} listed before")
            requests.extend(self._backlog_requests())
        return [*requests, *items]

    def _letter_request(self, slug: str) -> scrapy.Request:
        self.requested.add(slug)
        return scrapy.Request(  # deduplicated by the callers: no request fingerprinting needed
            f"{self.base_url}{LETTERS_PATH}{slug}",
            headers={"Referer": f"{self.base_url}{LISTING_PAGE_PATH}"},
            callback=self.parse_letter,
            errback=self.on_letter_error,
            cb_kwargs={"slug": slug},
            dont_filter=True,
        )

    def _backlog_requests(self) -> list[scrapy.Request]:
        """Once the listing is read: the stored letters still without a readable page, newest
        first, for what is left of the crawl's budget of letter pages."""
        if self._backlog_asked:
            return []
        self._backlog_asked = True
        requests = []
        for slug in self.backlog:
            if len(self.requested) >= self.pages_per_run:
                break
            if slug not in self.requested:
                requests.append(self._letter_request(slug))
        crawler = getattr(self, "crawler", None)
        if requests and crawler is not None:
            crawler.stats.set_value("exowatch/letter_pages_backlog", len(requests))
        return requests

    def _needs_page(self, slug: str, response_letter: object, closeout_letter: object) -> bool:
        """A listed letter is news (its page is read first, and the listing is paged on) when the
        store lacks it or its listing row shows a response or close-out the store lacks. A stored
        letter still without a readable page is not: the backlog asks for it."""
        if self.full:  # a full crawl reads every letter again: that is how a changed text is seen
            return True
        state = self.known.get(slug)
        if state is None:
            return True
        listed = (_date(response_letter), _date(closeout_letter))
        return any(
            value is not None and value != stored for value, stored in zip(listed, state[:2], strict=True)
        )

    # -- letters -------------------------------------------------------------------------------

    def parse_letter(self, response: Response, slug: str) -> list[LetterPageItem | LetterPageFailedItem]:
        """The letter's page, extracted; a page that is not a whole letter page (or that the
        extractor fails on) is the letter's page error: one page does not sink the crawl."""
        try:
            return [LetterPageItem(slug, parse_letter_page(response.body, response.url))]
        except SourceFailure as exc:
            return [LetterPageFailedItem(slug, str(exc))]
        except Exception as exc:  # noqa: BLE001 - an extractor bug on one page is that page's error
            reason = f"the letter page could not be extracted: {type(exc).__name__}: {exc}"
            self.logger.error("letter page failed: %s: %s", slug, reason)
            return [LetterPageFailedItem(slug, reason)]

    def on_letter_error(self, failure: Failure) -> list[LetterPageFailedItem]:
        """A letter page that could not be had (after Scrapy's retries): the letter's page error.
        Unless the source refused the crawler (a SourceFailure from the middlewares, such as
        Akamai's redirect to its apology page): that is the source's failure, not the page's."""
        slug = failure.request.cb_kwargs["slug"]
        reason = _reason(failure, urlsplit(failure.request.url).path)
        if failure.check(SourceFailure):
            self._fail(f"letter {slug}: {reason}")
        self.logger.error("letter page failed: %s: %s", slug, reason)
        return [LetterPageFailedItem(slug, reason)]

    # -- failures ------------------------------------------------------------------------------

    def on_error(self, failure: Failure) -> None:
        """The listing could not be read: a source failure."""
        request = failure.request if hasattr(failure, "request") else None
        where = urlsplit(request.url).path if request is not None else "a request"
        self._fail(_reason(failure, where))

    def _fail(self, reason: str) -> None:
        """A source failure ends the crawl; the first reason is the one recorded."""
        self._note_failure(reason)
        raise CloseSpider("source_failure")

    def _note_failure(self, reason: str) -> None:
        if self.failure is None:
            self.failure = reason
            self.logger.error("source failure: %s", reason)


def _flag(value: object) -> bool:
    """A flag given as text (`-a full=true`) or as a bool."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _reason(failure: Failure, where: str) -> str:
    if failure.check(HttpError):
        return f"HTTP {failure.value.response.status} from {where}"
    if failure.check(SourceFailure):  # its own reason says what and where (an apology redirect)
        return str(failure.value)[:300]
    return f"{failure.type.__name__} on {where}: {str(failure.value)[:200]}"


def _date(value: object) -> date | None:
    try:
        return parse_listing_date(value)
    except ValueError:
        return None
