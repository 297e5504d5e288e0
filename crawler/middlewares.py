"""Scrapy components that harden every exowatch crawl (registered by crawler.settings).

- ``UrlGateMiddleware`` (downloader middleware, priority 60): every request passes the URL gate
  (crawler.urlgate) before anything else may touch the network, robots.txt included. A redirect
  hop is a new Request that Scrapy's RedirectMiddleware sends back through the scheduler, so each
  hop passes ``process_request`` again. A 3xx whose Location has a scheme other than http(s) is not
  followed by Scrapy; the gate counts it as refused too. It is also the one place that tells
  Akamai's bot block: a redirect (301, 302, 303, 307, 308 or a meta refresh) to a path under
  ``/apology_objects/``, on any host, is never fetched; the request fails with ``SourceBlocked``
  (a SourceFailure and an IgnoreRequest), whose message is the reason, for the spider's errback.
  Akamai blocks the client, not the page, and asking again prolongs the block: every later
  request of the crawl to the host that redirected fails the same way, without being sent (those
  already queued in Scrapy's downloader when the redirect came back still go out).
- ``GatedResolver`` (``TWISTED_DNS_RESOLVER``): the same address check on the address the
  downloader actually connects to, so a host whose DNS answer changes between the gate's lookup
  and the download (DNS rebinding) is still refused.
- ``StrictRobotsTxtMiddleware`` (replaces Scrapy's RobotsTxtMiddleware): RFC 9309 on errors.
- ``CountingHttpCompressionMiddleware`` (replaces HttpCompressionMiddleware): counts responses
  cut by DOWNLOAD_MAXSIZE.

Stats: ``urlgate/refused`` and ``urlgate/refused/<kind>`` (kind: scheme, loopback, private,
link_local, cgnat, metadata, multicast, reserved, unspecified, non_public, unresolvable, invalid);
``urlgate/apology_redirect`` (Akamai's block, not counted as refused by the gate) and
``urlgate/apology_not_sent`` (later requests to the blocked host);
``robotstxt/unreachable_disallow``; ``sizelimit/cut``, ``sizelimit/cut/transfer`` and
``sizelimit/cut/decompressed``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.resolver import CachingThreadedResolver
from scrapy.utils.asyncio import run_in_thread
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler
from twisted.internet.defer import Deferred
from twisted.internet.error import DNSLookupError

from crawler.errors import SourceFailure
from crawler.robots_cache import RobotsCache
from crawler.urlgate import UrlGate, Verdict

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

ALLOW_HOSTS_SETTING = "EXOWATCH_ALLOW_HOSTS"
ROBOTS_DISALLOW_ALL = b"User-agent: *\nDisallow: /\n"
#: Where Akamai sends a client it refuses (fda.gov: 302 to /apology_objects/excessive-requests-apology.html).
APOLOGY_PATH_PREFIX = "/apology_objects/"


class SourceBlocked(SourceFailure, IgnoreRequest):
    """The source refused the crawler (Akamai's apology redirect). The message is the reason.

    An IgnoreRequest too: Scrapy neither retries it nor logs it as a download error; the request's
    errback gets it, like any failure of the download."""


def apology_reason(target: str, source: str) -> str | None:
    """The one-line reason when `target`, a redirect's URL, is an apology page; else None.

    `source` is the URL that redirected: its host names who refused (``www.`` dropped)."""
    path = urlsplit(target).path
    if not path.lower().startswith(APOLOGY_PATH_PREFIX):
        return None
    host = (urlsplit(source).hostname or "the source").removeprefix("www.")
    return f"{host} refused the crawler: redirected to {path[:200]} (Akamai bot block)"


def gate_from_settings(settings: BaseSettings) -> UrlGate:
    """The URL gate configured by the ``EXOWATCH_ALLOW_HOSTS`` setting (a list of hosts)."""
    return UrlGate(frozenset(settings.getlist(ALLOW_HOSTS_SETTING)))


class UrlGateMiddleware:
    """Refuses (IgnoreRequest) every request the URL gate refuses; counts and logs each refusal.

    Verdicts are cached per (scheme, host:port) for the crawl, but for "cannot resolve host". A
    host name that needs DNS is resolved in a thread (``scrapy.utils.asyncio.run_in_thread``:
    ``asyncio.to_thread`` under the asyncio reactor, ``deferToThread`` otherwise), so the reactor
    never waits on DNS.
    """

    CACHE_LIMIT = 10_000

    def __init__(self, crawler: Crawler, gate: UrlGate):
        self.crawler = crawler
        self.gate = gate
        self._verdicts: dict[tuple[str, str], Verdict] = {}
        self._blocked: dict[str, str] = {}  # host:port -> reason: hosts that sent us to an apology page

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler, gate_from_settings(crawler.settings))

    async def verdict(self, request: Request) -> Verdict:
        """The gate's verdict for the request's URL (cached per scheme and host:port)."""
        parts = urlparse_cached(request)
        key = (parts.scheme, parts.netloc.rpartition("@")[2].lower())
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self.gate.precheck(request.url)
            if verdict is None:
                verdict = await run_in_thread(self.gate.check, request.url)
            if verdict.kind != "unresolvable":  # a DNS failure may pass: ask again next time
                if len(self._verdicts) >= self.CACHE_LIMIT:
                    self._verdicts.clear()
                self._verdicts[key] = verdict
        return verdict

    async def process_request(self, request: Request) -> None:
        redirected_from = request.meta.get("redirect_urls")
        if redirected_from:  # a hop: checked before the gate, so no DNS for an apology host
            self._refuse_apology(request.url, redirected_from[-1])
        if self._blocked:
            reason = self._blocked.get(urlparse_cached(request).netloc.rpartition("@")[2].lower())
            if reason is not None:
                if self.crawler.stats is not None:
                    self.crawler.stats.inc_value("urlgate/apology_not_sent")
                raise SourceBlocked(reason)
        verdict = await self.verdict(request)
        if not verdict.allowed:
            self._count_refusal(request.url, verdict, request.meta.get("redirect_urls"))
            raise IgnoreRequest(f"URL gate refused {request.url}: {verdict.reason}")

    def process_response(self, request: Request, response: Response) -> Response:
        # A redirect Scrapy followed never comes back here (its hop does, to process_request);
        # one it did not follow (dont_redirect, handle_httpstatus_list, another scheme) does.
        if 300 <= response.status < 400:
            location = response.headers.get(b"Location")
            if location:
                target = urljoin(request.url, location.decode("latin-1").strip())
                self._refuse_apology(target, request.url)
                if urlsplit(target).scheme.lower() not in ("http", "https"):
                    verdict = self.gate.precheck(target)
                    if verdict is not None and not verdict.allowed:
                        self._count_refusal(target, verdict, [request.url])
        return response

    def _refuse_apology(self, target: str, source: str) -> None:
        """SourceBlocked when `target`, where `source` redirected to, is Akamai's apology page."""
        reason = apology_reason(target, source)
        if reason is None:
            return
        self._blocked.setdefault(urlsplit(source).netloc.rpartition("@")[2].lower(), reason)
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value("urlgate/apology_redirect")
        logger.warning(
            "%(reason)s: %(source)s not followed to %(target)s, nor the host asked again",
            {"reason": reason, "source": source, "target": target},
            extra={"spider": self.crawler.spider},
        )
        raise SourceBlocked(reason)

    def _count_refusal(self, url: str, verdict: Verdict, redirected_from: list[str] | None) -> None:
        stats = self.crawler.stats
        if stats is not None:
            stats.inc_value("urlgate/refused")
            stats.inc_value(f"urlgate/refused/{verdict.kind}")
        via = f" (redirect from {redirected_from[-1]})" if redirected_from else ""
        logger.warning(
            "URL gate refused %(url)s%(via)s: %(reason)s",
            {"url": url, "via": via, "reason": verdict.reason},
            extra={"spider": self.crawler.spider},
        )


class GatedResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, failing the lookup of a host whose address the gate refuses.

    Set as ``TWISTED_DNS_RESOLVER``. Twisted resolves every host here, IP literals too, so the
    address a download connects to is always checked: a DNS answer that turned private after the
    gate's own lookup fails as a DNS error. It is built from the process settings, so
    ``EXOWATCH_ALLOW_HOSTS`` must be in the settings given to the CrawlerProcess. Allow-listed
    hosts pass on any port here; the middleware enforces host:port entries.
    """

    def __init__(self, reactor: Any, cache_size: int, timeout: float, gate: UrlGate | None = None):
        super().__init__(reactor, cache_size, timeout)
        self.gate = gate if gate is not None else UrlGate()

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: Any) -> Self:
        settings = crawler.settings
        cache_size = settings.getint("DNSCACHE_SIZE") if settings.getbool("DNSCACHE_ENABLED") else 0
        return cls(reactor, cache_size, settings.getfloat("DNS_TIMEOUT"), gate_from_settings(settings))

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:  # noqa: N802
        return super().getHostByName(name, timeout).addCallback(self._checked, name)

    def _checked(self, address: str, name: str) -> str:
        verdict = self.gate.check_addresses(name, [address])
        if not verdict.allowed:
            logger.warning(
                "URL gate refused to connect to %(name)s: %(reason)s",
                {"name": name, "reason": verdict.reason},
            )
            raise DNSLookupError(f"URL gate: {verdict.reason}")
        return address


class StrictRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware with RFC 9309's rules for an unreachable robots.txt.

    Scrapy 2.19 parses whatever body comes back, whatever the status, and allows everything when
    the download fails. Here, after RetryMiddleware has given up:

    - 5xx or 429 (server error, rate limit): disallow everything on that host (RFC 9309 2.3.1.4;
      429 as Google treats it);
    - a network error (timeout, refused, reset, DNS): disallow everything (RFC 9309 2.3.1.4);
    - 4xx other than 429: no robots.txt, allow everything (RFC 9309 2.3.1.3), whatever the body;
    - IgnoreRequest (the gate refused robots.txt, too many redirects): Scrapy's behaviour, allow;
      the gate refuses the page itself anyway.

    The host's decision lasts for the crawl; ``robotstxt/unreachable_disallow`` counts the hosts.
    A robots.txt read within the last day by an earlier crawl is used as it was read, without
    asking again (the spider's ``robots_cache``: crawler.robots_cache; ``robotstxt/cached``
    counts them), and what this crawl reads is kept there for the next.
    It overrides two private hooks of RobotsTxtMiddleware (``_parse_robots``, ``_robots_error``);
    the constructor fails loudly if a Scrapy upgrade removes them.
    """

    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        missing = [m for m in ("_parse_robots", "_robots_error") if not hasattr(RobotsTxtMiddleware, m)]
        missing += [a for a in ("_parsers", "_parserimpl", "_stats") if not hasattr(self, a)]
        if missing:
            raise RuntimeError(f"RobotsTxtMiddleware lacks {missing}: review {type(self).__name__}")
        self._unreachable: dict[str, str] = {}  # netloc -> why its robots.txt could not be read

    async def robot_parser(self, request: Request):
        netloc = urlparse_cached(request).netloc
        cache = self._cache()
        if netloc not in self._parsers and cache is not None and netloc in cache.fresh:
            self._parsers[netloc] = build_from_crawler(self._parserimpl, self.crawler, cache.fresh[netloc])
            self._stats.inc_value("robotstxt/cached")
        return await super().robot_parser(request)

    def _cache(self) -> RobotsCache | None:
        return getattr(self.crawler.spider, "robots_cache", None)

    def process_request_2(self, rp, request: Request) -> None:
        """Scrapy's check; a host disallowed because its robots.txt could not be read says so
        (a proxy that is down is not a site forbidding us)."""
        try:
            super().process_request_2(rp, request)
        except IgnoreRequest:
            why = self._unreachable.get(urlparse_cached(request).netloc)
            if why is None:
                raise
            raise IgnoreRequest(f"robots.txt unreachable ({why}): host disallowed (RFC 9309)") from None

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        cache = self._cache()
        if response.status >= 500 or response.status == 429:
            self._disallow_note(netloc, f"HTTP {response.status}")
            response = response.replace(body=ROBOTS_DISALLOW_ALL)
        else:
            if response.status >= 400:
                response = response.replace(body=b"")
            if cache is not None:
                cache.keep(netloc, response.status, response.body)
        await super()._parse_robots(response, netloc, request)

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        if isinstance(exc, IgnoreRequest):
            super()._robots_error(exc, netloc)
            return
        self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
        self._disallow_note(netloc, _network_reason(exc, self.crawler.settings.get("EXOWATCH_PROXY")))
        parser = build_from_crawler(self._parserimpl, self.crawler, ROBOTS_DISALLOW_ALL)
        pending = self._parsers[netloc]
        self._parsers[netloc] = parser
        if isinstance(pending, Deferred):
            pending.callback(parser)

    def _disallow_note(self, netloc: str, why: str) -> None:
        self._unreachable[netloc] = why
        self._stats.inc_value("robotstxt/unreachable_disallow")
        logger.warning(
            "robots.txt of %(netloc)s unreachable (%(why)s): disallowing the whole host (RFC 9309)",
            {"netloc": netloc, "why": why},
            extra={"spider": self.crawler.spider},
        )


def _network_reason(exc: Exception, proxy: str | None) -> str:
    """What failed, in one bounded line: the error's type, its message, and the proxy if one was
    in the way ("ConnectionRefusedError through the proxy http://127.0.0.1:3128: ...")."""
    text = " ".join(str(exc).split())[:200]
    where = f" through the proxy {proxy}" if proxy else ""
    return f"{type(exc).__name__}{where}: {text}" if text else f"{type(exc).__name__}{where}"


class CountingHttpCompressionMiddleware(HttpCompressionMiddleware):
    """Scrapy's HttpCompressionMiddleware, counting the responses cut by DOWNLOAD_MAXSIZE.

    ``sizelimit/cut/transfer``: the download handler cancelled a body over the limit (announced by
    Content-Length or counted while streaming; any DownloadCancelledError is counted, and the size
    limit is the only thing that cancels a download outside a shutdown).
    ``sizelimit/cut/decompressed``: the decompressed body went over the limit.
    """

    def process_response(self, request: Request, response: Response) -> Request | Response:
        try:
            return super().process_response(request, response)
        except IgnoreRequest:  # the parent raises it only for DOWNLOAD_MAXSIZE
            self._count_cut("decompressed")
            raise

    def process_exception(self, request: Request, exception: Exception) -> None:
        if isinstance(exception, DownloadCancelledError):
            self._count_cut("transfer")

    def _count_cut(self, how: str) -> None:
        if self.stats is not None:
            self.stats.inc_value("sizelimit/cut")
            self.stats.inc_value(f"sizelimit/cut/{how}")


class ProxyMiddleware:
    """Sends every request through `[crawl] proxy` when one is configured (EXOWATCH_PROXY).

    Runs before Scrapy's HttpProxyMiddleware (750), which then speaks to the proxy. The URL gate
    has judged the target URL already; the proxy itself must be allow-listed to be connected to.
    """

    def __init__(self, proxy: str) -> None:
        self.proxy = proxy

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler.settings.get("EXOWATCH_PROXY") or "")

    def process_request(self, request: Request) -> None:
        if self.proxy and "proxy" not in request.meta:
            request.meta["proxy"] = self.proxy
