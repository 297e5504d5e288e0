"""Spider `clinic_listings`: directories, brand store-locators and lists of URLs of clinics.

Each `[[sources.clinic_listings]]` of config.toml is read the way its `kind` says
(crawler.extract.listings), page after page: by the next link, or by a page parameter until the
answer is empty, reports its last page, or `max_pages` is reached. A listing that fails (an HTTP
error, an answer of the wrong shape) is recorded and the others go on; the crawl fails as a whole
only when every listing failed. The store pipeline resolves the entries into clinics.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import scrapy
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.errors import SourceFailure
from crawler.extract.listings import (
    html_entries,
    locator_entries,
    schema_org_entries,
    url_list_entries,
    with_page,
)
from crawler.items import ListingEntriesItem
from monitor.config import ClinicListingSource

MAX_LIST_FILE_BYTES = 16 * 1024 * 1024


class ClinicListingsSpider(scrapy.Spider):
    name = "clinic_listings"

    def __init__(
        self, *args: Any, sources: Iterable[ClinicListingSource] = (), base_dir: str = ".", **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        self.sources = {source.name: source for source in sources}
        self.base_dir = Path(base_dir)
        self.source_failures: list[str] = []
        self.read: set[str] = set()  # sources with at least one page read
        self.seen: set[str] = set()

    @property
    def failure(self) -> str | None:
        if self.sources and not self.read and self.source_failures:
            return f"no listing could be read (first: {self.source_failures[0]})"
        return None

    async def start(self) -> AsyncIterator[Any]:
        for source in self.sources.values():
            if source.kind == "url_list":
                for item in self._read_lists(source):
                    yield item
                continue
            for url in source.start_urls:
                yield self._request(source, url, page=1, start_url=url)

    def _read_lists(self, source: ClinicListingSource) -> list[ListingEntriesItem]:
        items = []
        for name in source.start_urls:
            path = (self.base_dir / name).resolve()
            try:
                if path.stat().st_size > MAX_LIST_FILE_BYTES:
                    raise OSError(f"over {MAX_LIST_FILE_BYTES} bytes")
                text = path.read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError) as exc:
                self._failed(f"listing {source.name}: {path}: {exc}")
                continue
            self.read.add(source.name)
            items.append(
                ListingEntriesItem(
                    source.name, tuple(url_list_entries(text, source.name)), source.country or None
                )
            )
        return items

    def _request(self, source: ClinicListingSource, url: str, *, page: int, start_url: str) -> scrapy.Request:
        accept = "application/json" if source.kind == "locator_json" else "text/html,application/xhtml+xml"
        return scrapy.Request(
            url,
            callback=self.parse_listing,
            errback=self.on_error,
            headers={"Accept": accept},
            cb_kwargs={"source_name": source.name, "page": page, "start_url": start_url},
            dont_filter=True,
        )

    def parse_listing(self, response: Response, source_name: str, page: int, start_url: str) -> list[Any]:
        source = self.sources[source_name]
        next_url, pages = None, None
        try:
            if source.kind == "schema_org":
                entries, next_url, unreadable = schema_org_entries(response.body, response.url, source.name)
                if unreadable:
                    self.crawler.stats.inc_value("exowatch/jsonld_unreadable", unreadable)
            elif source.kind == "html":
                entries, next_url = html_entries(response.body, response.url, source.selectors, source.name)
            else:
                entries, pages = locator_entries(response.body, source.fields, source.name, response.url)
        except SourceFailure as exc:
            self._failed(f"listing {source.name}: {response.url}: {exc}")
            return []
        self.read.add(source.name)
        self.seen.update(e.website or e.phone or e.name or "" for e in entries)
        out: list[Any] = [ListingEntriesItem(source.name, tuple(entries), source.country or None)]
        if page >= source.max_pages:
            return out
        if next_url:
            out.append(self._request(source, next_url, page=page + 1, start_url=start_url))
        elif source.next_param and entries and (pages is None or page < pages):
            following = with_page(start_url, source.next_param, page + 1)
            out.append(self._request(source, following, page=page + 1, start_url=start_url))
        return out

    def on_error(self, failure: Failure) -> None:
        request = failure.request
        reason = (
            f"HTTP {failure.value.response.status}"
            if failure.check(HttpError)
            else failure.getErrorMessage()[:200]
        )
        self._failed(f"listing {request.cb_kwargs['source_name']}: {request.url}: {reason}")

    def _failed(self, reason: str) -> None:
        self.logger.error("source failure: %s", reason)
        self.source_failures.append(reason)
        self.crawler.stats.inc_value("exowatch/sources_failed")
