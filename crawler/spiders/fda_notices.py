"""Spider `fda_notices`: FDA's safety feeds, the index pages of alerts, and each notice's own page.

Sources are independent: a feed that is malformed, hostile, blocked or missing is recorded as a
failed source (with its reason) and the crawl goes on with the others; a notice whose page cannot
be had keeps what its feed said. Only when every feed and index page failed is the crawl a failure.

Every www.fda.gov URL is fetched from `base_url` (fda.gov, or a replay server standing in for it);
notices are keyed by their canonical fda.gov URL. Incremental by default: a notice's page is
fetched when the store has no page text for it; `full=True` fetches every page again, which is how
a changed text is noticed. The spider only extracts; the store pipeline writes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.errors import SourceFailure
from crawler.extract.alert_page import alert_links, parse_alert_page
from crawler.extract.feed import parse_feed
from crawler.items import NoticeFeedItem, NoticeIndexItem, NoticePageItem
from crawler.normalize.notices import SITE_HOST
from crawler.normalize.urls import canonical_url, fetch_url

FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"


class FdaNoticesSpider(scrapy.Spider):
    name = "fda_notices"

    def __init__(
        self,
        *args: Any,
        base_url: str = "https://www.fda.gov",
        feeds: Iterable[str] = (),
        index_pages: Iterable[str] = (),
        index_link_paths: Iterable[str] = (),
        follow_pages: bool = True,
        full: bool = False,
        known: Mapping[str, bool] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.base_url = base_url.rstrip("/")
        # fetched as configured: a feed that is not on fda.gov may speak plain http only
        self.feeds = tuple(dict.fromkeys(canonical_url(url, keep_scheme=True) for url in feeds))
        self.index_pages = tuple(dict.fromkeys(canonical_url(url) for url in index_pages))
        self.index_link_paths = tuple(index_link_paths)
        self.follow_pages = follow_pages
        self.full = full
        self.known: Mapping[str, bool] = known or {}  # url -> its page text is stored
        self.source_failures: list[str] = []  # feeds and index pages that could not be read
        self.page_failures: list[str] = []  # notice pages that could not be read
        self.sources_read = 0
        self.requested: set[str] = set()
        self.seen: set[str] = set()

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for feed in self.feeds:
            yield self._request(
                feed, self.parse_feed, self.on_source_error, headers={"Accept": FEED_ACCEPT}, source=feed
            )
        for index in self.index_pages:
            yield self._request(index, self.parse_index, self.on_source_error, source=index)

    def _request(self, target: str, callback, errback, *, headers=None, **cb_kwargs) -> scrapy.Request:
        return scrapy.Request(
            fetch_url(target, self.base_url, SITE_HOST),
            callback=callback,
            errback=errback,
            headers=headers,
            cb_kwargs=cb_kwargs,
            dont_filter=True,
        )

    # -- feeds and index pages -----------------------------------------------------------------

    def parse_feed(self, response: Response, source: str) -> list[Any]:
        try:
            feed = parse_feed(response.body, source)
        except SourceFailure as exc:
            self._source_failed(f"feed {source}: {exc}")
            return []
        self.sources_read += 1
        stats = self.crawler.stats
        for note in feed.notes:
            self.logger.warning("feed %s: tolerated %s", source, note)
            stats.inc_value("exowatch/feed_notes")
        for reason in feed.skipped:
            self.logger.warning("feed %s: %s", source, reason)
            stats.inc_value("exowatch/entries_skipped")
        out: list[Any] = [NoticeFeedItem(feed=source, entries=feed.entries)]
        for entry in feed.entries:
            self.seen.add(entry.link)
            out.extend(self._page_requests(entry.link))
        return out

    def parse_index(self, response: Response, source: str) -> list[Any]:
        try:
            links = alert_links(response.body, source, self.index_link_paths)
        except SourceFailure as exc:
            self._source_failed(f"index page {source}: {exc}")
            return []
        self.sources_read += 1
        out: list[Any] = [NoticeIndexItem(index=source, links=tuple(links))]
        for url, _ in links:
            self.seen.add(url)
            out.extend(self._page_requests(url))
        return out

    def _page_requests(self, url: str) -> list[scrapy.Request]:
        if not self.follow_pages or url in self.requested or urlsplit(url).hostname != SITE_HOST:
            return []
        if not self.full and self.known.get(url):
            return []
        self.requested.add(url)
        return [self._request(url, self.parse_page, self.on_page_error, url=url)]

    # -- notice pages --------------------------------------------------------------------------

    def parse_page(self, response: Response, url: str) -> list[NoticePageItem]:
        try:
            page = parse_alert_page(response.body, url)
        except SourceFailure as exc:
            self._page_failed(f"page {url}: {exc}")
            return []
        return [NoticePageItem(page=page)]

    # -- failures ------------------------------------------------------------------------------

    def on_source_error(self, failure: Failure) -> None:
        source = failure.request.cb_kwargs["source"]
        kind = "feed" if source in self.feeds else "index page"
        self._source_failed(f"{kind} {source}: {_reason(failure)}")

    def on_page_error(self, failure: Failure) -> None:
        self._page_failed(f"page {failure.request.cb_kwargs['url']}: {_reason(failure)}")

    def _source_failed(self, reason: str) -> None:
        self.logger.error("source failure: %s", reason)
        self.source_failures.append(reason)
        self.crawler.stats.inc_value("exowatch/sources_failed")

    def _page_failed(self, reason: str) -> None:
        self.logger.error("page failure: %s", reason)
        self.page_failures.append(reason)
        self.crawler.stats.inc_value("exowatch/pages_failed")

    @property
    def failure(self) -> str | None:
        """Set when the crawl failed as a whole (then nothing is stored): every feed and index
        page failed. One failed source among several is a partial crawl, not a failure."""
        if self.sources_read == 0 and self.source_failures:
            return f"no feed or index page could be read (first: {self.source_failures[0]})"
        return None


def _reason(failure: Failure) -> str:
    if failure.check(HttpError):
        return f"HTTP {failure.value.response.status}"
    return f"{failure.type.__name__}: {str(failure.value)[:200]}"
