"""A clinic crawl's pages, read and written to the store by the crawl's extraction worker.

Pages are many and large. Each fetched page goes to the worker (crawler.offload), which parses it,
extracts its text, compresses its HTML for the snapshot, picks the treatment links to follow and
keeps the page for the next batch; only the links come back to the spider, which schedules them.
Batches are written as they fill (by count and by bytes of HTML), so a crawl of thousands of pages
holds a few dozen at a time, and the crawl process never holds a page's text or snapshot, nor
loads SQLAlchemy. At the end `finish_pages` writes the rest: the last batch, the pages a 304
showed unchanged, what the clinics' home pages say of them, and prunes old snapshots.

One crawl's worker serves one crawl; every function still takes the crawl's key, because inline
(`extract_workers = 0`) one process may run several crawls.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from crawler.errors import SourceFailure
from crawler.extract.clinic_page import parse_clinic_page
from crawler.extract.listings import ListingEntry, schema_org_entries
from crawler.normalize.clinics import own_description, registrable_domain
from crawler.sites.site_links import ChosenLinks, SiteView, treatment_links
from db.records import HtmlSnapshot, PageRecord

BATCH_PAGES = 100
BATCH_HTML_BYTES = 32 * 1024 * 1024  # compressed
_TEL_LINK = re.compile(rb"""href\s*=\s*["']tel:([+0-9()\s.\-]{4,40})["']""", re.I)
_TEL_SCAN = 2 * 1024 * 1024


@dataclass(frozen=True)
class FetchedPage:
    """What the spider sends of one HTML response."""

    clinic_key: str
    final_url: str  # where redirects led
    body: bytes
    encoding: str | None  # as Scrapy read it
    etag: str | None
    last_modified: str | None
    follows: bool  # below the depth limit: its links are read and chosen
    home: bool  # a home page: it may say who the clinic is


@dataclass(frozen=True)
class PageRead:
    """What comes back: the links to follow (None at the depth limit), and what to count."""

    links: ChosenLinks | None
    encoding_repaired: bool


@dataclass
class _Pages:
    database_url: str
    source: str
    store: Any = None  # db.store.Store, opened at the first write
    batch: dict[str, tuple[PageRecord, str, HtmlSnapshot]] = field(default_factory=dict)
    batch_bytes: int = 0
    checked: list[str] = field(default_factory=list)
    descriptions: list[tuple[str, ListingEntry]] = field(default_factory=list)
    counts: dict[str, int] = field(
        default_factory=lambda: {"new": 0, "changed": 0, "unchanged": 0, "snapshots": 0}
    )


_crawls: dict[str, _Pages] = {}


def begin_pages(crawl: str, database_url: str, source: str) -> None:
    _crawls[crawl] = _Pages(database_url, source)


def read_page(crawl: str, fetched: FetchedPage, site: SiteView) -> PageRead:
    """Extract one page, keep it for the store, and choose its links (a SourceFailure if the
    page cannot be read: it is then not stored)."""
    pages = _crawls[crawl]
    page = parse_clinic_page(
        fetched.body, fetched.final_url, encoding=fetched.encoding, with_links=fetched.follows
    )
    chosen = treatment_links(site, page.links) if fetched.follows else None
    now = datetime.now(UTC)
    record = PageRecord(
        url=page.url,  # the page's own canonical URL: where a redirect led
        title=page.title,
        text=page.text,
        content_hash=page.content_hash,
        lang=page.lang,
        encoding=page.encoding,
        links=None if chosen is None else [[link, anchor] for link, anchor in chosen.links],
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        fetched_at=now,
        checked_at=now,
    )
    snapshot = HtmlSnapshot.of(fetched.body, page.encoding)
    previous = pages.batch.pop(page.url, None)  # the last one wins
    if previous is not None:
        pages.batch_bytes -= len(previous[2].gzip)
    pages.batch[page.url] = (record, fetched.clinic_key, snapshot)
    pages.batch_bytes += len(snapshot.gzip)
    if fetched.home:
        entry = _self_description(fetched, site)
        if entry is not None:
            pages.descriptions.append((fetched.clinic_key, entry))
    if len(pages.batch) >= BATCH_PAGES or pages.batch_bytes >= BATCH_HTML_BYTES:
        _flush(pages)
    return PageRead(links=chosen, encoding_repaired=page.encoding != fetched.encoding)


def page_checked(crawl: str, url: str) -> None:
    """A page asked for again and answered 304: only its check time moves."""
    pages = _crawls[crawl]
    pages.checked.append(url)
    if len(pages.checked) >= BATCH_PAGES * 10:
        _flush_checked(pages)


def finish_pages(crawl: str, database_url: str, source: str, *, retention_days: int) -> dict[str, int]:
    """Write what is left and prune snapshots older than the retention. Returns the counts.
    (The database and source again: if the worker died, this runs where nothing was begun.)"""
    pages = _crawls.pop(crawl, None) or _Pages(database_url, source)
    try:
        _flush(pages)
        _flush_checked(pages)
        store = _store(pages)
        if pages.descriptions:  # fills gaps only: what listings said stands
            records = [own_description(key, entry) for key, entry in pages.descriptions]
            store.upsert_clinics([r for r in records if r is not None], source=pages.source, seen_at=None)
        pruned = store.prune_snapshots(datetime.now(UTC) - timedelta(days=retention_days))
    finally:
        if pages.store is not None:
            pages.store.close()
    return {**pages.counts, "pruned": pruned}


def _store(pages: _Pages):
    if pages.store is None:
        # Imported here, not at the top: the crawl process imports this module to name its
        # functions, and only the worker, which writes, needs SQLAlchemy (see crawler.offload).
        from db.store import Store

        pages.store = Store.open(pages.database_url)
    return pages.store


def _flush(pages: _Pages) -> None:
    if not pages.batch:
        return
    batch, pages.batch, pages.batch_bytes = pages.batch, {}, 0
    report = _store(pages).upsert_pages(
        [record for record, _, _ in batch.values()],
        clinic_keys={url: key for url, (_, key, _) in batch.items()},
        html={url: snapshot for url, (_, _, snapshot) in batch.items()},
        source=pages.source,
    )
    pages.counts["new"] += len(report.new)
    pages.counts["changed"] += len(report.changed)
    pages.counts["unchanged"] += len(report.unchanged)
    pages.counts["snapshots"] += report.snapshots


def _flush_checked(pages: _Pages) -> None:
    if pages.checked:
        checked, pages.checked = pages.checked, []
        _store(pages).mark_pages_checked(checked, datetime.now(UTC))
        pages.counts["unchanged"] += len(checked)


def _self_description(fetched: FetchedPage, site: SiteView) -> ListingEntry | None:
    """The clinic as its home page states it: its schema.org business, else its phone link."""
    try:
        entries, _, _ = schema_org_entries(fetched.body, fetched.final_url, "own_site")
    except SourceFailure:
        entries = []
    own = [e for e in entries if not e.website or registrable_domain(e.website) == site.domain]
    entry = own[0] if own else None
    call = _TEL_LINK.search(fetched.body[:_TEL_SCAN])
    phone = call.group(1).decode("ascii", "replace").strip() if call else None
    if entry is None and phone:
        entry = ListingEntry(source="own_site", name=None, website=None, phone=phone)
    elif entry is not None and entry.phone is None and phone:
        entry = dataclasses.replace(entry, phone=phone)
    return entry
