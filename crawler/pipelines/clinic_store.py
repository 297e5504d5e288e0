"""Store what the clinic listings crawl saw: the clinics.

Listings are small: their entries are gathered for the whole crawl and resolved into clinics at
its end, against each other and against the stored clinics (crawler.normalize.clinics). The
clinics' own sites have their own pipelines (crawler.pipelines.clinic_pages).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from scrapy.crawler import Crawler

from crawler.extract.listings import ListingEntry
from crawler.items import ListingEntriesItem
from crawler.normalize.clinics import resolve_clinics


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
        from db.store import Store  # imported when it writes: loading this module needs no SQLAlchemy

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
