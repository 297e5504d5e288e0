"""Which of a page's links the clinic crawl follows, as a pure function of the site and the links.

A site is its registrable domain (www.glow.example and book.glow.example are glow.example's), read
from one host and scheme: a link to the site is rewritten to them (its www twin is the same site).
Links to other sites are not followed; those whose host is an IP literal that the URL gate refuses
without DNS (a private or loopback address) are returned apart, to be counted. Run where the page
is read (the crawl's extraction worker) and by the spider for sitemaps.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit, urlunsplit

from crawler.normalize.clinics import registrable_domain
from crawler.sites.treatment_links import is_treatment_link
from crawler.urlgate import UrlGate

_IP_LITERAL = re.compile(r"^(?:[0-9.]+|[0-9a-f:.]*:[0-9a-f:.]*)$", re.I)


@dataclass(frozen=True)
class SiteView:
    domain: str  # registrable
    scheme: str
    host: str  # the host its pages are read from


@dataclass(frozen=True)
class ChosenLinks:
    links: tuple[tuple[str, str], ...]  # (url on the site's scheme and host, anchor)
    refused: tuple[tuple[str, str], ...]  # (url, the URL gate's reason)


def on_site_scheme(site: SiteView, url: str) -> str:
    """A link to the site in the site's own scheme and host (its www twin is the same site)."""
    parts = urlsplit(url)
    netloc = site.host if parts.netloc in (site.host, www_twin_host(site.host)) else parts.netloc
    if (parts.scheme, netloc) != (site.scheme, parts.netloc) and registrable_domain(url) == site.domain:
        return urlunsplit((site.scheme, netloc, parts.path, parts.query, ""))
    return url


def treatment_links(site: SiteView, links: Iterable[tuple[str, str]]) -> ChosenLinks:
    chosen, refused = [], []
    suffix = "." + site.domain
    for url, anchor in links:
        host = urlsplit(url).hostname or ""
        if host != site.domain and not host.endswith(suffix):
            if _IP_LITERAL.match(host):  # the gate's DNS-free check: private and loopback addresses
                verdict = _gate().precheck(url)
                if verdict is not None and not verdict.allowed:
                    refused.append((url, verdict.reason))
            continue  # another site
        if is_treatment_link(url, anchor):
            chosen.append((on_site_scheme(site, url), anchor))
    return ChosenLinks(tuple(chosen), tuple(refused))


def www_twin_host(host: str) -> str:
    return host[4:] if host.startswith("www.") else f"www.{host}"


@cache
def _gate() -> UrlGate:
    return UrlGate()  # only its DNS-free precheck
