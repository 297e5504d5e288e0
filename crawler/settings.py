"""Hardened Scrapy settings for every exowatch crawl: ``crawl_settings(...)`` builds them.

Scrapy's defaults are not hardened. These settings:

- turn off the telnet console and 2.19's remote-control HTTP server (it runs Python code sent to a
  loopback port), and the file:, data:, ftp: and s3: download handlers;
- send every request through the URL gate (crawler.middlewares.UrlGateMiddleware at 60: after
  OffsiteMiddleware (50), before RobotsTxtMiddleware (100), so a refused host is never asked for
  its robots.txt; every redirect hop comes back through it as a new Request), and check the
  address each download connects to (crawler.middlewares.GatedResolver);
- set explicit limits: DOWNLOAD_MAXSIZE applies to the decompressed body too (Scrapy >= 2.11.1),
  timeouts, redirects (5, as RFC 9309 asks for robots.txt), retries (429 and 5xx included);
- obey robots.txt, with RFC 9309's "unreachable means disallow" on 5xx, 429 and network errors
  (crawler.middlewares.StrictRobotsTxtMiddleware);
- crawl politely: one request at a time per domain, at least DOWNLOAD_DELAY apart, AutoThrottle;
  no cookies; a User-Agent carrying the operator's contact address; TLS certificates verified.

Give the returned dict to the CrawlerProcess (not to a spider's ``custom_settings``): the DNS
resolver is built from the process settings. Tests and benchmarks against a loopback replay pass
``overrides`` (e.g. ``{"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0}``); the URL gate stays
on whatever the overrides say.
"""

from __future__ import annotations

import re
from email.utils import parseaddr
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from scrapy.settings import default_settings

from crawler.urlgate import UrlGate

__all__ = ["GATE_MIDDLEWARE", "crawl_settings", "user_agent"]

GATE_MIDDLEWARE = "crawler.middlewares.UrlGateMiddleware"
_SCRAPY_DMW = "scrapy.downloadermiddlewares"

MiB = 1024 * 1024

BASE_SETTINGS: dict[str, Any] = {
    "BOT_NAME": "exowatch",
    "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
    "LOG_LEVEL": "INFO",
    # Nothing listens, nothing but http(s) is fetched.
    "TELNETCONSOLE_ENABLED": False,
    "REMOTE_CONTROL_ENABLED": False,
    # and not even imported: Scrapy imports every extension it lists, disabled or not, and the
    # remote-control one imports aiohttp (a tenth of a second of every crawl's start)
    "EXTENSIONS_BASE": {
        path: order
        for path, order in default_settings.EXTENSIONS_BASE.items()
        if path
        not in ("scrapy.extensions.telnet.TelnetConsole", "scrapy.extensions.remote_control.RemoteControl")
    },
    "DOWNLOAD_HANDLERS": {
        "file": None,
        "data": None,
        "ftp": None,
        "s3": None,
        # connections to a proxy kept alive for every request in flight (crawler.handlers)
        "http": "crawler.handlers.ProxyPoolDownloadHandler",
        "https": "crawler.handlers.ProxyPoolDownloadHandler",
    },
    # The URL gate, RFC 9309 robots.txt and counted size cuts.
    "DOWNLOADER_MIDDLEWARES": {
        GATE_MIDDLEWARE: 60,
        f"{_SCRAPY_DMW}.robotstxt.RobotsTxtMiddleware": None,
        "crawler.middlewares.StrictRobotsTxtMiddleware": 100,
        f"{_SCRAPY_DMW}.httpcompression.HttpCompressionMiddleware": None,
        "crawler.middlewares.CountingHttpCompressionMiddleware": 590,
        "crawler.middlewares.ProxyMiddleware": 700,
    },
    "TWISTED_DNS_RESOLVER": "crawler.middlewares.GatedResolver",
    "DNS_TIMEOUT": 15,
    # Limits. Pages and listing JSON are well under 4 MiB; anything over 16 MiB is not a page.
    "DOWNLOAD_MAXSIZE": 16 * MiB,
    "DOWNLOAD_WARNSIZE": 4 * MiB,
    "DOWNLOAD_FAIL_ON_DATALOSS": True,
    "DOWNLOAD_TIMEOUT": 30,
    "REDIRECT_MAX_TIMES": 5,
    "RETRY_ENABLED": True,
    "RETRY_TIMES": 2,
    "RETRY_HTTP_CODES": [429, 500, 502, 503, 504, 522, 524, 408],
    "DOWNLOAD_VERIFY_CERTIFICATES": True,
    # Politeness.
    "ROBOTSTXT_OBEY": True,
    "ROBOTSTXT_USER_AGENT": "exowatch",
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
    "DOWNLOAD_DELAY": 1.0,
    "AUTOTHROTTLE_ENABLED": True,
    "AUTOTHROTTLE_START_DELAY": 2.0,
    "AUTOTHROTTLE_MAX_DELAY": 30.0,
    "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
    "COOKIES_ENABLED": False,
    # Scrapy starts this many item workers for EVERY callback's output; our pipelines are
    # synchronous, so 100 (the default) only costs: measured, it was most of the crawl's overhead.
    "CONCURRENT_ITEMS": 1,
    "FEED_EXPORT_ENCODING": "utf-8",
}

# Component settings whose overrides are merged key by key, so an override adds to them.
_MERGED = (
    "DOWNLOADER_MIDDLEWARES",
    "DOWNLOAD_HANDLERS",
    "SPIDER_MIDDLEWARES",
    "EXTENSIONS",
    "ITEM_PIPELINES",
)
_CONTACT = re.compile(r"[^\s()<>\"\\]+")


def user_agent(contact: str) -> str:
    """``exowatch/<version> (+mailto:<address>)``, or ``(+<url>)`` for an http(s) contact URL.

    `contact` is an e-mail address, a name and address (``ops team <ops@example.org>``, as in
    config.toml) or an http(s) URL; anything else, or a control character, is a ValueError.
    """
    text = contact.strip()
    if any(ord(c) < 32 or ord(c) == 127 for c in contact):
        raise ValueError(f"user_agent_contact must be one line, got {contact!r}")
    if text.lower().startswith(("http://", "https://")):
        uri = text
    else:
        address = parseaddr(text.removeprefix("mailto:"))[1]
        local, _, domain = address.rpartition("@")
        if not local or not domain:
            address = ""
        uri = f"mailto:{address}"
    if not _CONTACT.fullmatch(uri) or uri == "mailto:":
        raise ValueError(f"user_agent_contact must be an e-mail address or URL, got {contact!r}")
    try:
        release = version("exowatch")
    except PackageNotFoundError:
        release = "0"
    return f"exowatch/{release} (+{uri})"


def crawl_settings(
    *, user_agent_contact: str, allow_hosts: tuple[str, ...], overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The Scrapy settings of an exowatch crawl.

    `allow_hosts` ("host" or "host:port") become ``EXOWATCH_ALLOW_HOSTS``: hosts the URL gate lets
    through although they are not public. `overrides` replace settings; the component dicts
    (DOWNLOADER_MIDDLEWARES, DOWNLOAD_HANDLERS, ...) are merged key by key. Neither may switch
    the URL gate off or change the allow-list (ValueError).
    """
    UrlGate(frozenset(allow_hosts))  # a bad entry is a ValueError here, not in the crawl
    settings = {k: (dict(v) if isinstance(v, dict) else v) for k, v in BASE_SETTINGS.items()}
    settings["USER_AGENT"] = user_agent(user_agent_contact)
    settings["EXOWATCH_ALLOW_HOSTS"] = list(allow_hosts)
    for key, value in (overrides or {}).items():
        if key == "EXOWATCH_ALLOW_HOSTS":
            raise ValueError("pass allow_hosts, not an EXOWATCH_ALLOW_HOSTS override")
        if key in _MERGED and isinstance(value, dict):
            settings[key] = {**settings.get(key, {}), **value}
        else:
            settings[key] = value
    if settings["DOWNLOADER_MIDDLEWARES"].get(GATE_MIDDLEWARE) is None:
        raise ValueError(f"overrides must not disable {GATE_MIDDLEWARE}")
    return settings
