"""Spider `clinic_sites`: each clinic's own site, shallowly, for the pages about what it sells.

From the home page (and the site's sitemap.xml) it follows same-site links whose URL or anchor
suggests treatments or prices (crawler.sites.treatment_links), up to `depth` links away and at
most `pages_per_site` pages a site. Sites are crawled side by side, one request at a time each.

Re-crawls are cheap: a page checked less than `recheck_after_hours` ago is not asked for again
(the links it led to are followed from the store), and one asked for again carries its ETag and
Last-Modified, so an unchanged page costs a 304. Faults are counted and never stop the crawl: a
redirect loop, a page over the size limit, a non-HTML answer, an HTTP error; links to private or
loopback addresses are counted and never requested. Nothing here touches the store: each page
read is a ClinicPageItem (with the links chosen to follow), each page answered 304 a
PageCheckedItem, and the pipelines (crawler.pipelines.clinic_pages) store them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import scrapy
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.errors import SourceFailure
from crawler.extract.clinic_page import parse_clinic_page, sitemap_urls
from crawler.items import ClinicPageItem, PageCheckedItem
from crawler.normalize.clinics import registrable_domain
from crawler.normalize.urls import canonical_url
from crawler.sites.site_links import SiteView, on_site_scheme, treatment_links, www_twin_host

HTML_TYPES = (b"text/html", b"application/xhtml+xml")


@dataclass
class Site:
    clinic_key: str
    domain: str  # registrable: www.glow.example and book.glow.example are glow.example's
    scheme: str
    home: str
    host: str  # the host its pages are read from: links to its www twin are read from here
    scheduled: set[str] = field(default_factory=set)

    def view(self) -> SiteView:
        return SiteView(self.domain, self.scheme, self.host)


class ClinicSitesSpider(scrapy.Spider):
    name = "clinic_sites"

    def __init__(
        self,
        *args: Any,
        sites: Iterable[tuple[str, str]] = (),
        states: Mapping[str, Mapping[str, Any]] | None = None,
        depth: int = 2,
        pages_per_site: int = 25,
        recheck_after_hours: float = 20.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # `scrapy crawl -a name=value` passes text: numbers are read from it
        depth, pages_per_site = int(depth), int(pages_per_site)
        recheck_after_hours = float(recheck_after_hours)
        self.sites: list[Site] = []
        for clinic_key, website in sites:
            try:
                home = canonical_url(website, keep_scheme=True)
            except ValueError:
                continue
            domain = registrable_domain(home)
            if domain:
                parts = urlsplit(home)
                self.sites.append(Site(clinic_key, domain, parts.scheme, home, parts.netloc))
        self.states = states or {}
        for site in self.sites:  # a site stored under its www-less (or www) host keeps that host
            twin = _www_twin(site.home)
            if site.home not in self.states and twin in self.states:
                site.home, site.host = twin, urlsplit(twin).netloc
        self.max_depth = depth
        self.pages_per_site = pages_per_site
        self.fresh_after = datetime.now(UTC) - timedelta(hours=recheck_after_hours)
        self.page_failures: list[str] = []
        self.seen: set[str] = set()

    failure = None  # one site's faults never fail the crawl

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for site in self.sites:
            for request in self._schedule(site, site.home, depth=0):
                yield request
            parts = urlsplit(site.home)
            sitemap = urlunsplit((parts.scheme, parts.netloc, "/sitemap.xml", "", ""))
            yield scrapy.Request(
                sitemap,
                callback=self.parse_sitemap,
                errback=self.on_sitemap_error,
                cb_kwargs={"site": site},
                dont_filter=True,
            )

    def parse(self, response: Response, **kwargs: Any) -> list[Any]:
        """Any page as a clinic's home page (for `scrapy parse URL` and `scrapy shell`): the page's
        item, and the requests for the treatment links it leads to."""
        home = canonical_url(response.url, keep_scheme=True)
        parts = urlsplit(home)
        domain = registrable_domain(home) or parts.netloc
        site = Site(f"parsed:{parts.netloc}", domain, parts.scheme, home, parts.netloc)
        return self.parse_page(response, site, depth=0, url=home)

    # -- scheduling ----------------------------------------------------------------------------

    def _schedule(self, site: Site, url: str, *, depth: int) -> list[scrapy.Request]:
        url = on_site_scheme(site.view(), url)
        if url in site.scheduled or len(site.scheduled) >= self.pages_per_site:
            return []
        site.scheduled.add(url)
        self.seen.add(url)
        state = self.states.get(url)
        if state and state.get("links") is None and depth < self.max_depth:
            # stored from the depth limit, its links never read: now they are needed, so it is
            # fetched whole (neither "fresh" nor a conditional GET: a 304 carries no links)
            state = None
        checked = state.get("checked_at") if state else None
        if checked is not None and checked.tzinfo is None:
            checked = checked.replace(tzinfo=UTC)
        if checked is not None and checked >= self.fresh_after:
            self.crawler.stats.inc_value("exowatch/pages_fresh")  # not asked for again
            return self._follow(site, [tuple(link) for link in state.get("links") or ()], depth)
        headers = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"}
        if state and state.get("etag"):
            headers["If-None-Match"] = state["etag"]
        if state and state.get("last_modified"):
            headers["If-Modified-Since"] = state["last_modified"]
        return [
            scrapy.Request(
                url,
                callback=self.parse_page,
                errback=self.on_page_error,
                headers=headers,
                cb_kwargs={"site": site, "depth": depth, "url": url},
                meta={"handle_httpstatus_list": [304]},
                dont_filter=True,  # the site's own set de-duplicates; redirects must be seen as loops
            )
        ]

    def _follow(self, site: Site, links: Iterable[tuple[str, str]], depth: int) -> list[scrapy.Request]:
        if depth >= self.max_depth:
            return []
        out: list[scrapy.Request] = []
        for url, _anchor in links:
            out.extend(self._schedule(site, url, depth=depth + 1))
        return out

    def _treatment_links(self, site: Site, links: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        chosen = treatment_links(site.view(), links)
        self._count_refused(chosen.refused)
        return list(chosen.links)

    # -- responses -----------------------------------------------------------------------------

    def parse_page(self, response: Response, site: Site, depth: int, url: str) -> list[Any]:
        """The page as an item, and the requests for the treatment links it leads to."""
        stats = self.crawler.stats
        if response.status == 304:
            stats.inc_value("exowatch/pages_not_modified")
            state = self.states.get(url) or {}
            stored_links = [tuple(link) for link in state.get("links") or ()]
            return [PageCheckedItem(url), *self._follow(site, stored_links, depth)]
        content_type = (response.headers.get(b"Content-Type") or b"").split(b";")[0].strip().lower()
        if content_type not in HTML_TYPES or not isinstance(response, TextResponse):
            stats.inc_value("exowatch/pages_not_html")
            return []
        final = urlsplit(response.url)
        if depth == 0 and final.netloc != site.host and registrable_domain(response.url) == site.domain:
            site.host, site.scheme = final.netloc, final.scheme  # the home page moved (www. to bare)
        follows = depth < self.max_depth  # at the depth limit no link is followed: none is read
        try:
            page = parse_clinic_page(
                response.body, response.url, encoding=response.encoding, with_links=follows
            )
        except SourceFailure as exc:
            self._failed(f"page {url}: {exc}")
            return []
        if page.encoding != response.encoding:
            stats.inc_value("exowatch/pages_encoding_repaired")
        links = None
        requests: list[scrapy.Request] = []
        if follows:
            links = self._treatment_links(site, page.links)
            requests = self._follow(site, links, depth)
        item = ClinicPageItem(
            clinic_key=site.clinic_key,
            site_domain=site.domain,
            page=page,
            html=response.body,
            etag=_header(response, b"ETag"),
            last_modified=_header(response, b"Last-Modified"),
            links=None if links is None else tuple(links),
            home=depth == 0,
        )
        return [item, *requests]

    def _count_refused(self, refused: Iterable[tuple[str, str]]) -> None:
        for url, reason in refused:
            self.crawler.stats.inc_value("exowatch/links_refused")
            self.logger.info("link refused by the URL gate: %s (%s)", url, reason)

    def parse_sitemap(self, response: Response, site: Site) -> list[scrapy.Request]:
        urls = sitemap_urls(response.body)
        return self._follow(site, [(u, "") for u in urls if self._treatment_links(site, [(u, "")])], 0)

    def on_sitemap_error(self, failure: Failure) -> None:
        self.crawler.stats.inc_value("exowatch/sitemaps_missing")

    def on_page_error(self, failure: Failure) -> None:
        request = failure.request
        message = failure.getErrorMessage()
        if failure.check(HttpError):
            reason = f"HTTP {failure.value.response.status}"
        elif "robots.txt" in message:
            self.crawler.stats.inc_value("exowatch/pages_robots_disallowed")
            return
        elif "max redirections" in message or "redirect" in message.lower():
            reason = f"redirect loop or chain too long ({message[:120]})"
        elif (
            "maxsize" in message.lower() or "max size" in message.lower() or "larger than" in message.lower()
        ):
            reason = f"over the download size limit ({message[:120]})"
        else:
            reason = f"{failure.type.__name__}: {message[:160]}"
        self._failed(f"page {request.cb_kwargs.get('url', request.url)}: {reason}")

    def _failed(self, reason: str) -> None:
        self.logger.warning("page failure: %s", reason)
        self.page_failures.append(reason)
        self.crawler.stats.inc_value("exowatch/pages_failed")


def _www_twin(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, www_twin_host(parts.netloc), parts.path, parts.query, ""))


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    if not value or len(value) > 512:
        return None
    text = value.decode("latin-1").strip()
    return text if text.isprintable() else None
