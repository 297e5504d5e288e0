"""Read clinic listings: directories, store locators, lists of URLs. Pure functions.

Four readers, one entry shape (ListingEntry), chosen by the source's `kind` in config.toml:

* `schema_org_entries`: schema.org businesses in JSON-LD (also inside ItemList and @graph) and in
  microdata, read before anything else because sites state them on purpose;
* `locator_entries`: a store-locator JSON answer, through a field mapping from config;
* `html_entries`: directory pages read with CSS selectors from config (the fallback);
* `url_list_entries`: a CSV (url[,name,country]) or a plain list of URLs.

Listing pages are hostile like any page: sizes are bounded, JSON-LD blocks that do not parse are
skipped and counted, every text is cleaned and bounded, only http(s) websites are kept.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from lxml import etree
from lxml.cssselect import CSSSelector, SelectorError

from crawler.errors import SourceFailure
from crawler.extract.html import blocks, parse_page
from crawler.normalize.text import clean
from crawler.normalize.urls import canonical_url

MAX_JSON_BYTES = 8 * 1024 * 1024
MAX_JSONLD_BLOCK = 2 * 1024 * 1024
MAX_ENTRIES_PER_PAGE = 5000
MAX_FIELD = 500

#: schema.org types that are a clinic, a med spa, a salon or a practitioner's business.
BUSINESS_TYPES = frozenset(
    {
        "LocalBusiness", "MedicalBusiness", "MedicalClinic", "MedicalOrganization", "Physician",
        "Dermatology", "PlasticSurgery", "DaySpa", "BeautySalon", "HealthAndBeautyBusiness",
        "HairSalon", "NailSalon", "HealthClub", "Hospital", "Optician", "Pharmacy", "Dentist",
        "Store", "ProfessionalService", "Organization", "Clinic",
    }
)  # fmt: skip
_X_JSONLD = etree.XPath(
    "//script[translate(@type, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
    "='application/ld+json']"
)
_X_ITEMSCOPES = etree.XPath("//*[@itemscope][@itemtype]")
_X_NEXT = etree.XPath(
    "//a[@href][contains(concat(' ', normalize-space(@rel), ' '), ' next ')]"
    " | //link[@href][contains(concat(' ', normalize-space(@rel), ' '), ' next ')]"
)
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):(?!\d)")
_BARE_DOMAIN = re.compile(r"^(?:[a-z0-9-]+\.)+[a-z]{2,63}(?::\d+)?(?:[/?#]|$)", re.I)
_POSTCODE = re.compile(
    r"\b(?:[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}|\d{5}(?:-\d{4})?|\d{6}|\d{3}-\d{4}|[A-Z]\d[A-Z]\s?\d[A-Z]\d)\b"
)


@dataclass(frozen=True)
class ListingEntry:
    """One clinic as one listing shows it. None: the listing does not say."""

    source: str
    name: str | None
    website: str | None  # canonical http(s) URL of its own site
    phone: str | None  # as written
    street: str | None = None
    locality: str | None = None
    region: str | None = None
    postcode: str | None = None
    country: str | None = None  # as written (a code or a name)
    latitude: float | None = None
    longitude: float | None = None


# --- schema.org: JSON-LD and microdata -----------------------------------------------------------------


def schema_org_entries(html: bytes, page_url: str, source: str) -> tuple[list[ListingEntry], str | None, int]:
    """(entries, the next page's URL, JSON-LD blocks that could not be read)."""
    root, _ = parse_page(html, "listing page")
    entries: list[ListingEntry] = []
    unreadable = 0
    for script in _X_JSONLD(root):
        text = script.text or ""
        if len(text) > MAX_JSONLD_BLOCK:
            unreadable += 1
            continue
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):
            unreadable += 1
            continue
        for thing in _things(document):
            entry = _entry_from_jsonld(thing, page_url, source)
            if entry is not None:
                entries.append(entry)
    for scope in _X_ITEMSCOPES(root):
        if _schema_type(scope.get("itemtype", "")) in BUSINESS_TYPES and not _inside_business_scope(scope):
            entry = _entry_from_microdata(scope, page_url, source)
            if entry is not None:
                entries.append(entry)
    return _dedupe(entries)[:MAX_ENTRIES_PER_PAGE], next_link(root, page_url), unreadable


def _things(node: Any, depth: int = 0) -> Iterator[dict]:
    """Every schema.org business object in a JSON-LD document (ItemList, @graph, nesting)."""
    if depth > 12:
        return
    if isinstance(node, list):
        for item in node[:MAX_ENTRIES_PER_PAGE]:
            yield from _things(item, depth + 1)
    elif isinstance(node, dict):
        types = node.get("@type")
        names = (
            {types}
            if isinstance(types, str)
            else {t for t in types if isinstance(t, str)}
            if isinstance(types, list)
            else set()
        )
        if {_schema_type(t) for t in names} & BUSINESS_TYPES:
            yield node
            return
        for key in ("@graph", "itemListElement", "item", "mainEntity", "hasPart", "containsPlace"):
            if key in node:
                yield from _things(node[key], depth + 1)


def _entry_from_jsonld(thing: dict, page_url: str, source: str) -> ListingEntry | None:
    address = thing.get("address")
    if isinstance(address, list):
        address = address[0] if address else None
    parts: dict[str, str | None] = {}
    if isinstance(address, dict):
        country = address.get("addressCountry")
        if isinstance(country, dict):
            country = country.get("name") or country.get("identifier")
        parts = {
            "street": _text(address.get("streetAddress")),
            "locality": _text(address.get("addressLocality")),
            "region": _text(address.get("addressRegion")),
            "postcode": _text(address.get("postalCode")),
            "country": _text(country),
        }
    elif isinstance(address, str):
        parts = _address_parts(address)
    geo = thing.get("geo") if isinstance(thing.get("geo"), dict) else {}
    website = thing.get("url") or thing.get("sameAs")
    if isinstance(website, list):
        website = next((w for w in website if isinstance(w, str)), None)
    phone = thing.get("telephone")
    if isinstance(phone, list):
        phone = next((p for p in phone if isinstance(p, str)), None)
    return _entry(
        source,
        name=thing.get("name"),
        website=website if isinstance(website, str) else None,
        phone=phone if isinstance(phone, str) else None,
        base=page_url,
        latitude=geo.get("latitude"),
        longitude=geo.get("longitude"),
        **parts,
    )


def _schema_type(value: str) -> str:
    return value.strip().rstrip("/").rsplit("/", 1)[-1]


def _inside_business_scope(scope: etree._Element) -> bool:
    return any(
        ancestor.get("itemscope") is not None and _schema_type(ancestor.get("itemtype", "")) in BUSINESS_TYPES
        for ancestor in scope.iterancestors()
    )


def _entry_from_microdata(scope: etree._Element, page_url: str, source: str) -> ListingEntry | None:
    props: dict[str, str] = {}
    address: dict[str, str] = {}
    for el in scope.iterdescendants():
        name = el.get("itemprop")
        if not name:
            continue
        owner = next((a for a in el.iterancestors() if a.get("itemscope") is not None), None)
        value = el.get("content") or el.get("href") or el.get("src") or " ".join(blocks(el))
        if owner is scope:
            if name not in props and el.get("itemscope") is None:
                props[name] = value
        elif owner is not None and owner.get("itemprop") == "address" and name not in address:
            address[name] = value
    return _entry(
        source,
        name=props.get("name"),
        website=props.get("url"),
        phone=props.get("telephone"),
        base=page_url,
        street=_text(address.get("streetAddress")),
        locality=_text(address.get("addressLocality")),
        region=_text(address.get("addressRegion")),
        postcode=_text(address.get("postalCode")),
        country=_text(address.get("addressCountry")),
    )


# --- store locators -------------------------------------------------------------------------------------


def locator_entries(
    data: bytes, fields: Mapping[str, str], source: str, base: str
) -> tuple[list[ListingEntry], int | None]:
    """(entries, the number of pages the answer reports, when its mapping names `page_count`)."""
    if len(data) > MAX_JSON_BYTES:
        raise SourceFailure(f"locator answer is {len(data)} bytes, over the {MAX_JSON_BYTES}-byte limit")
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise SourceFailure(f"locator answer is not JSON: {str(exc)[:120]}") from None
    locations = _path(document, fields.get("list", "results"))
    if not isinstance(locations, list):
        raise SourceFailure(f"locator answer has no list at {fields.get('list', 'results')!r}")
    entries = []
    for location in locations[:MAX_ENTRIES_PER_PAGE]:
        if not isinstance(location, dict):
            continue
        value = {
            name: _path(location, key) for name, key in fields.items() if name not in ("list", "page_count")
        }
        entry = _entry(
            source,
            name=value.get("name"),
            website=value.get("website"),
            phone=value.get("phone"),
            base=base,
            street=_text(value.get("street")),
            locality=_text(value.get("locality")),
            region=_text(value.get("region")),
            postcode=_text(value.get("postcode")),
            country=_text(value.get("country")),
            latitude=value.get("latitude"),
            longitude=value.get("longitude"),
        )
        if entry is not None:
            entries.append(entry)
    pages = _path(document, fields["page_count"]) if "page_count" in fields else None
    return entries, pages if isinstance(pages, int) and not isinstance(pages, bool) else None


def _path(node: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


# --- HTML directories ------------------------------------------------------------------------------------


def html_entries(
    html: bytes, page_url: str, selectors: Mapping[str, str], source: str
) -> tuple[list[ListingEntry], str | None]:
    """(entries, the next page's URL): CSS selectors from config, relative to each entry."""
    root, _ = parse_page(html, "directory page")
    compiled = {}
    for name, selector in selectors.items():
        try:
            compiled[name] = CSSSelector(selector)
        except SelectorError as exc:
            raise SourceFailure(f"selector {name} = {selector!r} is not valid CSS: {exc}") from None
    entries = []
    for card in compiled["entry"](root)[:MAX_ENTRIES_PER_PAGE]:
        first = {
            name: next(iter(sel(card)), None)
            for name, sel in compiled.items()
            if name not in ("entry", "next")
        }
        website = first.get("website")
        address = _text(" ".join(blocks(first["address"]))) if first.get("address") is not None else None
        entry = _entry(
            source,
            name=" ".join(blocks(first["name"])) if first.get("name") is not None else None,
            website=website.get("href") if website is not None else None,
            phone=" ".join(blocks(first["phone"])) if first.get("phone") is not None else None,
            base=page_url,
            **(_address_parts(address) if address else {}),
        )
        if entry is not None:
            entries.append(entry)
    following = None
    if "next" in compiled:
        link = next(iter(compiled["next"](root)), None)
        following = _link(link.get("href"), page_url) if link is not None else None
    return entries, following or next_link(root, page_url)


# --- lists of URLs ----------------------------------------------------------------------------------------


def url_list_entries(text: str, source: str) -> list[ListingEntry]:
    """A CSV with a `url` column (and optionally `name`, `country`), or one URL per line."""
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        return []
    entries = []
    if "url" in [h.strip().lower() for h in next(csv.reader([lines[0]]))]:
        for row in csv.DictReader(io.StringIO("\n".join(lines))):
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
            entry = _entry(
                source,
                name=row.get("name"),
                website=row.get("url"),
                phone=row.get("phone"),
                base=None,
                country=row.get("country") or None,
            )
            if entry is not None:
                entries.append(entry)
    else:
        for line in lines:
            entry = _entry(source, name=None, website=line.strip(), phone=None, base=None)
            if entry is not None:
                entries.append(entry)
    return entries[: MAX_ENTRIES_PER_PAGE * 20]


# --- shared ------------------------------------------------------------------------------------------------


def next_link(root: etree._Element, page_url: str) -> str | None:
    for link in _X_NEXT(root):
        found = _link(link.get("href"), page_url)
        if found:
            return found
    return None


def with_page(url: str, param: str, number: int) -> str:
    """`url` with its `param` query parameter set to `number` (page-parameter pagination)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != param]
    query.append((param, str(number)))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def _entry(
    source: str, *, name: Any, website: Any, phone: Any, base: str | None, **parts: Any
) -> ListingEntry | None:
    name = _text(name)
    site = _link(website, base) if isinstance(website, str) else None
    phone = _text(phone)
    if not (name or site or phone):
        return None
    return ListingEntry(
        source=source,
        name=name,
        website=site,
        phone=phone,
        street=parts.get("street"),
        locality=parts.get("locality"),
        region=parts.get("region"),
        postcode=parts.get("postcode"),
        country=parts.get("country"),
        latitude=_number(parts.get("latitude"), 90.0),
        longitude=_number(parts.get("longitude"), 180.0),
    )


def _link(href: Any, base: str | None) -> str | None:
    """A website as a canonical http(s) URL: relative ones against `base`, a bare domain
    ("glow.example", "www.glow.example/book") as http://; any other scheme (mailto:, tel:,
    javascript:) is no website."""
    if not isinstance(href, str) or not href.strip() or len(href) > 2000:
        return None
    text = href.strip()
    scheme = _SCHEME.match(text)
    if scheme and scheme.group(1).lower() not in ("http", "https"):
        return None
    if not scheme and _BARE_DOMAIN.match(text):
        target = f"http://{text}"
    elif base:
        target = urljoin(base, text)
    elif scheme:
        target = text
    else:
        return None
    try:
        return canonical_url(target, keep_scheme=True)
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list | bool):
        return None
    try:
        return clean(str(value), field="listing field", max_chars=MAX_FIELD)
    except ValueError:
        return None


def _number(value: Any, limit: float) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if -limit <= number <= limit else None


def _address_parts(address: str) -> dict[str, str | None]:
    """One line of address in its parts: '12 High St, London, W1 2AB, United Kingdom',
    '1 Main St, New York, NY 10001, USA' -> street, locality, region, postcode, country."""
    pieces = [p.strip() for p in address.split(",") if p.strip()]
    found = [(i, m) for i, p in enumerate(pieces) if (m := _POSTCODE.search(p.upper()))]
    out: dict[str, str | None] = dict.fromkeys(("street", "locality", "region", "postcode", "country"))
    if found:
        index, match = found[-1]
        piece = pieces[index]
        out["postcode"] = piece[match.start() : match.end()]
        beside = _text((piece[: match.start()] + " " + piece[match.end() :]).strip(" -"))
        before, after = pieces[:index], pieces[index + 1 :]
        out["country"] = _text(", ".join(after)) if after else None
        if beside and re.fullmatch(r"[A-Z]{2,3}", beside):  # "NY 10001": a state and its ZIP
            out["region"] = beside
        elif beside:  # "London W1 2AB": the town and its postcode
            out["locality"] = beside
        if out["locality"] is None and len(before) >= 2:
            out["locality"] = _text(before[-1])
            before = before[:-1]
        out["street"] = _text(", ".join(before)) if before else None
        return out
    if len(pieces) >= 3:
        out["country"] = _text(pieces[-1])
        pieces = pieces[:-1]
    if len(pieces) >= 2:
        out["locality"] = _text(pieces[-1])
        pieces = pieces[:-1]
    out["street"] = _text(", ".join(pieces)) if pieces else None
    return out


def _dedupe(entries: list[ListingEntry]) -> list[ListingEntry]:
    return list(dict.fromkeys(entries))
