"""Canonical URLs: the key of a notice (and later of a page), the same for every spelling of it.

FDA's feeds carry one page as http and https, with and without a trailing slash, with GovDelivery
tracking parameters and with fragments. `canonical_url` maps all of those to one string:

* scheme https (an http and an https URL of one page are one page); host lower-case, without a
  trailing dot, default port and user info; `fda.gov` is `www.fda.gov` (it redirects there);
* path with dot segments resolved, percent-encoding normalized (w3lib), no trailing slash;
* query without tracking parameters (utm_*, GovDelivery's, click ids), the rest sorted;
* no fragment.

Anything that is not an absolute http(s) URL with a host is a ValueError naming it.
"""

from __future__ import annotations

import posixpath
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

MAX_URL_CHARS = 4000

#: Query parameters that only say who sent a visitor: never part of a page's identity.
TRACKING_PARAMETERS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "igshid",
        "yclid",
    }
)
#: (parameter, value) pairs that are tracking although the parameter alone may not be.
TRACKING_PAIRS = frozenset({("source", "govdelivery")})
TRACKING_PREFIXES = ("utm_",)

# Paths and queries made only of characters that percent-encoding normalization leaves alone.
_PLAIN_PATH = re.compile(r"^[A-Za-z0-9\-._~/]*$")
_PLAIN_QUERY = re.compile(r"^[A-Za-z0-9\-._~=&]*$")

#: Hosts that are another name of one site.
HOST_ALIASES = {"fda.gov": "www.fda.gov"}
_ALIAS_PREFIXES = tuple(f"{scheme}://{alias}" for alias in HOST_ALIASES for scheme in ("https", "http"))
# https, a lower-case host without port or trailing dot, plain path segments (no "." or ".."),
# no trailing slash (the root alone excepted), no query, no fragment: canonical as it stands.
_ALREADY_CANONICAL = re.compile(
    r"^https://[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:/|(?:/(?!\.\.?(?:/|$))[A-Za-z0-9\-._~]+)+)$"
)
_ALREADY_CANONICAL_HTTP = re.compile(
    r"^http://[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:/|(?:/(?!\.\.?(?:/|$))[A-Za-z0-9\-._~]+)+)$"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def canonical_url(url: str, *, keep_scheme: bool = False) -> str:
    """The one spelling of `url` used as a key (see the module docstring). `keep_scheme` keeps
    http as http: a URL that will be fetched as it is (a clinic's site may not speak https)."""
    if not isinstance(url, str):
        raise ValueError(f"not a URL: {url!r}")
    text = url.strip()
    plain = _ALREADY_CANONICAL.match(text) or (keep_scheme and _ALREADY_CANONICAL_HTTP.match(text))
    if plain and len(text) <= MAX_URL_CHARS and not text.startswith(_ALIAS_PREFIXES):
        return text  # the common case: nothing to change
    shown = text[:120]
    if len(text) > MAX_URL_CHARS:
        raise ValueError(f"URL is longer than {MAX_URL_CHARS} characters: {shown!r}...")
    if _CONTROL.search(text):
        raise ValueError(f"URL holds a control character: {shown!r}")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"not a valid URL ({exc}): {shown!r}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError(f"not an http(s) URL: {shown!r}")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ValueError(f"URL has no host: {shown!r}")
    host = HOST_ALIASES.get(host, host)
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    if port is not None and port not in (80, 443):
        host = f"{host}:{port}"
    path = _path(parts.path)
    query = urlencode(
        sorted(
            (name, value)
            for name, value in parse_qsl(parts.query, keep_blank_values=True)
            if not _tracking(name, value)
        )
    )
    scheme = parts.scheme.lower() if keep_scheme else "https"
    if keep_scheme and port in (80, 443) and port != {"http": 80, "https": 443}[scheme]:
        host = f"{host}:{port}"  # http on 443 or https on 80: then not a default port
    url = urlunsplit((scheme, host, path, query, ""))
    if _PLAIN_PATH.match(path) and _PLAIN_QUERY.match(query) and host.isascii():
        return url  # nothing for w3lib to normalize: it would return the same string
    # w3lib normalizes percent-encoding and IDNA hosts (and sorts the query again: harmless)
    return canonicalize_url(url, keep_fragments=False)


def _path(path: str) -> str:
    if not path or path == "/":
        return "/"
    resolved = posixpath.normpath(path)
    if resolved.startswith("//"):  # normpath keeps a leading double slash; a path never needs it
        resolved = "/" + resolved.lstrip("/")
    return resolved.rstrip("/") or "/"


def _tracking(name: str, value: str) -> bool:
    lowered = name.lower()
    return (
        lowered in TRACKING_PARAMETERS
        or lowered.startswith(TRACKING_PREFIXES)
        or (lowered, value.lower()) in TRACKING_PAIRS
    )


def fetch_url(canonical: str, site_origin: str, site_host: str = "www.fda.gov") -> str:
    """Where to fetch a canonical URL: pages of `site_host` from `site_origin` (fda.gov itself, or
    the replay server that stands in for it in tests and the demo); other hosts as they are."""
    parts = urlsplit(canonical)
    if parts.hostname != site_host:
        return canonical
    origin = urlsplit(site_origin)
    return urlunsplit((origin.scheme, origin.netloc, parts.path, parts.query, ""))


def site_url(fetched: str, site_origin: str, site_host: str = "www.fda.gov") -> str:
    """The inverse of `fetch_url`: a URL fetched from `site_origin` as the site's own URL."""
    parts, origin = urlsplit(fetched), urlsplit(site_origin)
    if (parts.scheme, parts.netloc) != (origin.scheme, origin.netloc):
        return fetched
    return urlunsplit(("https", site_host, parts.path, parts.query, parts.fragment))
