"""Store what the clinic spiders saw: clinics from the listings, pages from the clinics' sites.

Listings are small: their entries are gathered for the whole crawl and resolved into clinics at
its end, against each other and against the stored clinics (crawler.normalize.clinics). Pages are
many and large: they are written in batches as they come (by count and by bytes of HTML), so a
crawl of thousands of pages holds a few dozen at a time. A site's faults never lose the others.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from scrapy.crawler import Crawler

from crawler.extract.listings import ListingEntry
from crawler.items import ClinicPageItem, ClinicSelfItem, ListingEntriesItem, PageCheckedItem
from crawler.normalize.clinics import own_description, resolve_clinics
from db.records import PageRecord
from db.store import Store

BATCH_PAGES = 100
BATCH_HTML_BYTES = 32 * 1024 * 1024  # compressed


class ClinicListingsPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.database_url = crawler.settings.get("EXOWATCH_DATABASE_URL")
        self.source = crawler.settings.get("EXOWATCH_RUN_SOURCE", "crawl")
        self.entries: list[tuple[ListingEntry, str | None]] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ClinicListingsPipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, ListingEntriesItem):
            self.entries.extend((entry, item.country) for entry in item.entries)
        return item

    def close_spider(self) -> None:
        stats = self.crawler.stats
        if self.crawler.spider.failure:
            stats.set_value("exowatch/stored", False)
            return
        store = Store.open(self.database_url)
        try:
            clinics = resolve_clinics(self.entries, store.clinics_for_matching())
            report = store.upsert_clinics(clinics, source=self.source, seen_at=datetime.now(UTC))
        finally:
            store.close()
        stats.set_value("exowatch/listing_entries", len(self.entries))
        for name, value in zip(("new", "changed", "unchanged"), report.counts(), strict=True):
            stats.set_value(f"exowatch/records_{name}", value)
        stats.set_value("exowatch/stored", True)


class ClinicPagesPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        settings = crawler.settings
        self.database_url = settings.get("EXOWATCH_DATABASE_URL")
        self.source = settings.get("EXOWATCH_RUN_SOURCE", "crawl")
        self.retention_days = settings.getint("EXOWATCH_SNAPSHOT_RETENTION_DAYS", 730)
        self.store: Store | None = None
        self.pages: list[ClinicPageItem] = []
        self.pending_bytes = 0
        self.checked: list[str] = []
        self.descriptions: list[ClinicSelfItem] = []
        self.counts = {"new": 0, "changed": 0, "unchanged": 0, "snapshots": 0}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ClinicPagesPipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        self.store = Store.open(self.database_url)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, ClinicPageItem):
            self.pages.append(item)
            self.pending_bytes += len(item.html.gzip)
            if len(self.pages) >= BATCH_PAGES or self.pending_bytes >= BATCH_HTML_BYTES:
                self._flush()
        elif isinstance(item, ClinicSelfItem):
            self.descriptions.append(item)
        elif isinstance(item, PageCheckedItem):
            self.checked.append(item.url)
            if len(self.checked) >= BATCH_PAGES * 10:
                self._flush_checked()
        return item

    def close_spider(self) -> None:
        stats = self.crawler.stats
        try:
            self._flush()
            self._flush_checked()
            if self.descriptions:  # fills gaps only: what listings said stands
                records = [own_description(item.clinic_key, item.entry) for item in self.descriptions]
                self.store.upsert_clinics(
                    [r for r in records if r is not None], source=self.source, seen_at=None
                )
            pruned = self.store.prune_snapshots(datetime.now(UTC) - timedelta(days=self.retention_days))
            stats.set_value("exowatch/snapshots_pruned", pruned)
        finally:
            self.store.close()
        for name in ("new", "changed", "unchanged"):
            stats.set_value(f"exowatch/records_{name}", self.counts[name])
        stats.set_value("exowatch/snapshots", self.counts["snapshots"])
        stats.set_value("exowatch/stored", True)

    def _flush(self) -> None:
        if not self.pages:
            return
        now = datetime.now(UTC)
        batch: dict[str, ClinicPageItem] = {item.page.url: item for item in self.pages}  # last one wins
        records = [
            PageRecord(
                url=url,
                title=item.page.title,
                text=item.page.text,
                content_hash=item.page.content_hash,
                lang=item.page.lang,
                encoding=item.page.encoding,
                links=None if item.links is None else [[link, anchor] for link, anchor in item.links],
                etag=item.etag,
                last_modified=item.last_modified,
                fetched_at=now,
                checked_at=now,
            )
            for url, item in batch.items()
        ]
        report = self.store.upsert_pages(
            records,
            clinic_keys={url: item.clinic_key for url, item in batch.items()},
            html={url: item.html for url, item in batch.items()},
            source=self.source,
        )
        self.counts["new"] += len(report.new)
        self.counts["changed"] += len(report.changed)
        self.counts["unchanged"] += len(report.unchanged)
        self.counts["snapshots"] += report.snapshots
        self.pages.clear()
        self.pending_bytes = 0

    def _flush_checked(self) -> None:
        if self.checked:
            self.store.mark_pages_checked(self.checked, datetime.now(UTC))
            self.counts["unchanged"] += len(self.checked)
            self.checked.clear()
