"""Who a clinic is: its registrable domain, its phone number in E.164, its country, its name key.

One clinic per registrable domain (www.glow.example, glow.example/?utm_source=x and
book.glow.example are one clinic); an entry without a website is the clinic with the same phone
number, else the one with the same name and postcode. Pure functions.

* `registrable_domain`: tldextract with its bundled public-suffix snapshot (never fetched). Hosts
  under reserved names (RFC 2606 / 6761: .example, .test, .invalid, .localhost) keep their last
  two labels. IP addresses have no registrable domain.
* `e164`: phonenumbers, with the entry's country as the region for national formats.
* `country_code`: ISO 3166 alpha-2 from a code, an alpha-3 code or an English name.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
import pycountry
import tldextract

from crawler.extract.listings import ListingEntry
from db.records import ClinicRecord

RESERVED_TLDS = frozenset({"example", "test", "invalid", "localhost"})
COUNTRY_ALIASES = {
    "usa": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "united states of america": "US",
    "america": "US",
    "uk": "GB",
    "u.k.": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "great britain": "GB",
    "south korea": "KR",
    "korea": "KR",
    "republic of korea": "KR",
    "turkey": "TR",
    "türkiye": "TR",
    "turkiye": "TR",
    "uae": "AE",
    "emirates": "AE",
    "russia": "RU",
    "vietnam": "VN",
}
# Words that do not tell two businesses apart ("Glow Med Spa LLC" is "Glow Med Spa").
_NAME_NOISE = re.compile(
    r"\b(?:llc|l\.l\.c|inc|ltd|limited|plc|pllc|pc|co|corp|corporation|gmbh|pvt|private|the)\b\.?", re.I
)


@lru_cache(maxsize=1)
def _extractor() -> tldextract.TLDExtract:
    # suffix_list_urls=(): the bundled snapshot, never a download; cache_dir=None: nothing written
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def registrable_domain(url_or_host: str | None) -> str | None:
    """'https://www.glow.example/x' -> 'glow.example'; 'shop.clinic.co.uk' -> 'clinic.co.uk'."""
    if not url_or_host:
        return None
    text = url_or_host.strip()
    host = urlsplit(text if "//" in text else f"//{text}").hostname or ""
    host = host.rstrip(".").lower()
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    if not re.fullmatch(r"[a-z0-9.-]+", host):
        return None
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    labels = host.split(".")
    if len(labels) >= 2 and labels[-1] in RESERVED_TLDS:
        return ".".join(labels[-2:])
    parts = _extractor()(host)
    if not parts.suffix or not parts.domain:
        return None
    return f"{parts.domain}.{parts.suffix}"


def e164(phone: str | None, country: str | None = None) -> str | None:
    """The number in E.164 (+12125550142), or None when it is not a possible number."""
    if not phone or len(phone) > 64:
        return None
    try:
        number = phonenumbers.parse(phone, country or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=1024)
def country_code(value: str | None) -> str | None:
    """ISO 3166 alpha-2 for 'US', 'USA', 'United States', 'South Korea', 'Türkiye'...; else None."""
    if not value:
        return None
    text = " ".join(value.split()).strip()
    if not text or len(text) > 80:
        return None
    alias = COUNTRY_ALIASES.get(text.casefold()) or COUNTRY_ALIASES.get(_fold(text))
    if alias:
        return alias
    if len(text) == 2 and text.isalpha():
        found = pycountry.countries.get(alpha_2=text.upper())
        return found.alpha_2 if found else None
    if len(text) == 3 and text.isalpha():
        found = pycountry.countries.get(alpha_3=text.upper())
        if found:
            return found.alpha_2
    try:
        return pycountry.countries.lookup(text).alpha_2
    except LookupError:
        return None


def _fold(text: str) -> str:
    """Case and accents folded: "TÜRKİYE" and "Türkiye" are "turkiye" (casefold alone turns the
    dotted capital I into i and a combining dot)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def name_key(name: str | None) -> str | None:
    """A business name reduced for matching: accents and case folded, legal forms and punctuation
    dropped ("Glow Med-Spa, LLC" and "glow med spa" are one key)."""
    if not name:
        return None
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = _NAME_NOISE.sub(" ", text)
    text = re.sub(r"[\W_]+", " ", text)
    text = " ".join(text.split())
    return text or None


def postcode_key(postcode: str | None) -> str | None:
    if not postcode:
        return None
    text = re.sub(r"[\s-]+", "", postcode).upper()
    return text or None


def resolve_clinics(
    entries: Iterable[tuple[ListingEntry, str | None]], stored: Iterable[Mapping[str, Any]] = ()
) -> list[ClinicRecord]:
    """One ClinicRecord per clinic from listing entries ((entry, the source's country) pairs),
    matched against each other and against the stored clinics.

    An entry with a website is the clinic of its registrable domain. One without is the clinic
    with its phone number (E.164), else the one with its name and postcode, stored or listed;
    else a clinic of its own, keyed `tel:+...` or `name:<name key>|<postcode>`. An entry with
    neither a website, a phone nor a name is dropped.
    """
    by_phone: dict[str, str] = {}
    by_name: dict[tuple[str, str], str] = {}
    for row in stored:
        key = row["clinic_key"]
        if row.get("phone"):
            by_phone.setdefault(row["phone"], key)
        postcode = postcode_key(row.get("postcode"))
        for name in [row.get("name"), *(row.get("names") or [])]:
            if name_key(name) and postcode:
                by_name.setdefault((name_key(name), postcode), key)
    prepared = []
    for entry, default_country in entries:
        country = country_code(entry.country) or default_country
        prepared.append((entry, registrable_domain(entry.website), country, e164(entry.phone, country)))
    # entries with a website first (they name the clinic), then those with a phone (they link a
    # name and postcode to it), so the result does not depend on the order of the listings
    prepared.sort(key=lambda item: (item[1] is None, item[3] is None))
    merged: dict[str, dict[str, Any]] = {}
    for entry, domain, country, phone in prepared:
        name, postcode = name_key(entry.name), postcode_key(entry.postcode)
        key = (
            domain or (phone and by_phone.get(phone)) or (name and postcode and by_name.get((name, postcode)))
        )
        if not key:
            key = f"tel:{phone}" if phone else (f"name:{name}|{postcode or ''}" if name else None)
        if not key:
            continue
        if phone:
            by_phone.setdefault(phone, key)
        if name and postcode:
            by_name.setdefault((name, postcode), key)
        record = merged.setdefault(key, {"clinic_key": key, "listings": set(), "names": set()})
        record["listings"].add(entry.source)
        if entry.name:
            record["names"].add(entry.name)
        values = {
            "name": entry.name,
            "domain": domain,
            "website": entry.website if domain else None,
            "phone": phone,
            "street": entry.street,
            "locality": entry.locality,
            "region": entry.region,
            "postcode": entry.postcode,
            "country": country,
            "latitude": entry.latitude,
            "longitude": entry.longitude,
        }
        for field_name, value in values.items():
            if value is not None and record.get(field_name) is None:
                record[field_name] = value
    return [
        ClinicRecord(
            **{**record, "listings": sorted(record["listings"]), "names": sorted(record["names"]) or None}
        )
        for record in (merged[key] for key in sorted(merged))
    ]


def own_description(clinic_key: str, entry: ListingEntry) -> ClinicRecord | None:
    """A clinic's record as its own site describes it, under the key it already has."""
    country = country_code(entry.country)
    return ClinicRecord(
        clinic_key=clinic_key,
        name=entry.name,
        phone=e164(entry.phone, country),
        street=entry.street,
        locality=entry.locality,
        region=entry.region,
        postcode=entry.postcode,
        country=country,
        latitude=entry.latitude,
        longitude=entry.longitude,
        names=[entry.name] if entry.name else None,
    )
