"""Scrapy's HTTP/1.1 download handler, keeping enough connections alive to a proxy.

Scrapy keeps at most CONCURRENT_REQUESTS_PER_DOMAIN idle connections per host:port it connects
to. Direct, that is right: one site, one request at a time (`[crawl] requests_per_site`). Through
an HTTP proxy every request connects to the same host:port, the proxy's, so with 32 sites side by
side and a limit of 1, all but one connection were closed after their answer and opened again
for the next request: about 4,700 connections for 5,500 requests in a clinic crawl, each one a
TCP handshake and its CPU on both sides. With a proxy this handler keeps up to CONCURRENT_REQUESTS
idle connections to it (what can be in flight at once); without one it changes nothing.
"""

from __future__ import annotations

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.crawler import Crawler


class ProxyPoolDownloadHandler(HTTP11DownloadHandler):
    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        pool = getattr(self, "_pool", None)
        if pool is None or not hasattr(pool, "maxPersistentPerHost"):
            raise RuntimeError(f"HTTP11DownloadHandler has no connection pool: review {type(self).__name__}")
        settings = crawler.settings
        if settings.get("EXOWATCH_PROXY"):
            pool.maxPersistentPerHost = max(
                pool.maxPersistentPerHost, settings.getint("CONCURRENT_REQUESTS")
            )
