"""The clinic-sites crawl's pipelines: what a clinic's home page says of it, and its pages stored.

Pages are many and large, so they are written in batches as they come (by count and by bytes of
compressed HTML): a crawl of thousands of pages holds a few dozen at a time. At the end the rest is
written, with the pages a 304 showed unchanged, and snapshots older than the retention are pruned.
A site's faults never lose the others: a page the spider could not read yields no item.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from scrapy.crawler import Crawler

from crawler.errors import SourceFailure
from crawler.extract.listings import ListingEntry, schema_org_entries
from crawler.items import ClinicPageItem, PageCheckedItem
from crawler.normalize.clinics import own_description, registrable_domain
from db.records import HtmlSnapshot, PageRecord

BATCH_PAGES = 100
BATCH_HTML_BYTES = 32 * 1024 * 1024  # compressed
_TEL_LINK = re.compile(rb"""href\s*=\s*["']tel:([+0-9()\s.\-]{4,40})["']""", re.I)
_TEL_SCAN = 2 * 1024 * 1024


def _open_store(database_url: str):
    from db.store import Store  # the crawl's only use of SQLAlchemy: imported when it writes

    return Store.open(database_url)


class ClinicDescriptionPipeline:
    """A clinic's home page may say who it is (its schema.org business, a phone link): kept, and
    written at the end where the listings left a gap (what listings said stands)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.database_url = crawler.settings.get("EXOWATCH_DATABASE_URL")
        self.source = crawler.settings.get("EXOWATCH_RUN_SOURCE", "crawl")
        self.descriptions: list[tuple[str, ListingEntry]] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ClinicDescriptionPipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, ClinicPageItem) and item.home:
            entry = self_description(item.html, item.page.url, item.site_domain)
            if entry is not None:
                self.descriptions.append((item.clinic_key, entry))
        return item

    def close_spider(self) -> None:
        records = [own_description(key, entry) for key, entry in self.descriptions]
        records = [r for r in records if r is not None]
        if not records:
            return
        store = _open_store(self.database_url)
        try:
            store.upsert_clinics(records, source=self.source, seen_at=None)
        finally:
            store.close()


class ClinicPageStorePipeline:
    """Each page stored with its snapshot, in batches; pages answered 304 marked checked."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        settings = crawler.settings
        self.database_url = settings.get("EXOWATCH_DATABASE_URL")
        self.source = settings.get("EXOWATCH_RUN_SOURCE", "crawl")
        self.retention_days = settings.getint("EXOWATCH_SNAPSHOT_RETENTION_DAYS", 730)
        self.store = None  # opened at the first write
        self.batch: dict[str, tuple[PageRecord, str, HtmlSnapshot]] = {}
        self.batch_bytes = 0
        self.checked: list[str] = []
        self.counts = {"new": 0, "changed": 0, "unchanged": 0, "snapshots": 0}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ClinicPageStorePipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, ClinicPageItem):
            self._keep(item)
        elif isinstance(item, PageCheckedItem):
            self.checked.append(item.url)
            if len(self.checked) >= BATCH_PAGES * 10:
                self._flush_checked()
        return item

    def _keep(self, item: ClinicPageItem) -> None:
        page, now = item.page, datetime.now(UTC)
        record = PageRecord(
            url=page.url,  # the page's own canonical URL: where a redirect led
            title=page.title,
            text=page.text,
            content_hash=page.content_hash,
            lang=page.lang,
            encoding=page.encoding,
            links=None if item.links is None else [[link, anchor] for link, anchor in item.links],
            etag=item.etag,
            last_modified=item.last_modified,
            fetched_at=now,
            checked_at=now,
        )
        snapshot = HtmlSnapshot.of(item.html, page.encoding)
        previous = self.batch.pop(page.url, None)  # the last one wins
        if previous is not None:
            self.batch_bytes -= len(previous[2].gzip)
        self.batch[page.url] = (record, item.clinic_key, snapshot)
        self.batch_bytes += len(snapshot.gzip)
        if len(self.batch) >= BATCH_PAGES or self.batch_bytes >= BATCH_HTML_BYTES:
            self._flush()

    def close_spider(self) -> None:
        stats = self.crawler.stats
        try:
            self._flush()
            self._flush_checked()
            pruned = self._store().prune_snapshots(datetime.now(UTC) - timedelta(days=self.retention_days))
        finally:
            if self.store is not None:
                self.store.close()
        stats.set_value("exowatch/snapshots_pruned", pruned)
        for name in ("new", "changed", "unchanged"):
            stats.set_value(f"exowatch/records_{name}", self.counts[name])
        stats.set_value("exowatch/snapshots", self.counts["snapshots"])
        stats.set_value("exowatch/stored", True)

    def _store(self):
        if self.store is None:
            self.store = _open_store(self.database_url)
        return self.store

    def _flush(self) -> None:
        if not self.batch:
            return
        batch, self.batch, self.batch_bytes = self.batch, {}, 0
        report = self._store().upsert_pages(
            [record for record, _, _ in batch.values()],
            clinic_keys={url: key for url, (_, key, _) in batch.items()},
            html={url: snapshot for url, (_, _, snapshot) in batch.items()},
            source=self.source,
        )
        self.counts["new"] += len(report.new)
        self.counts["changed"] += len(report.changed)
        self.counts["unchanged"] += len(report.unchanged)
        self.counts["snapshots"] += report.snapshots

    def _flush_checked(self) -> None:
        if self.checked:
            checked, self.checked = self.checked, []
            self._store().mark_pages_checked(checked, datetime.now(UTC))
            self.counts["unchanged"] += len(checked)


def self_description(html: bytes, url: str, domain: str) -> ListingEntry | None:
    """The clinic as its home page states it: its schema.org business, else its phone link."""
    try:
        entries, _, _ = schema_org_entries(html, url, "own_site")
    except SourceFailure:
        entries = []
    own = [e for e in entries if not e.website or registrable_domain(e.website) == domain]
    entry = own[0] if own else None
    call = _TEL_LINK.search(html[:_TEL_SCAN])
    phone = call.group(1).decode("ascii", "replace").strip() if call else None
    if entry is None and phone:
        entry = ListingEntry(source="own_site", name=None, website=None, phone=phone)
    elif entry is not None and entry.phone is None and phone:
        entry = dataclasses.replace(entry, phone=phone)
    return entry
