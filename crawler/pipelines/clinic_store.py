"""Store what the clinic spiders saw: clinics from the listings, pages from the clinics' sites.

Listings are small: their entries are gathered for the whole crawl and resolved into clinics at
its end, against each other and against the stored clinics (crawler.normalize.clinics). Pages are
many and large: the crawl's worker writes them in batches as they come (crawler.pipelines.
clinic_pages). A site's faults never lose the others.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from scrapy.crawler import Crawler

from crawler import offload
from crawler.extract.listings import ListingEntry
from crawler.items import ListingEntriesItem
from crawler.normalize.clinics import resolve_clinics
from crawler.pipelines.clinic_pages import begin_pages, finish_pages


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
        from db.store import Store  # here: the clinic-site crawl, which imports this module, does not need it

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
    """The clinic-site crawl's pages are read and written by its worker (crawler.pipelines.
    clinic_pages); this tells it where to write, and at the end to finish, and counts."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        settings = crawler.settings
        self.database_url = settings.get("EXOWATCH_DATABASE_URL")
        self.source = settings.get("EXOWATCH_RUN_SOURCE", "crawl")
        self.retention_days = settings.getint("EXOWATCH_SNAPSHOT_RETENTION_DAYS", 730)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ClinicPagesPipeline:
        return cls(crawler)

    async def open_spider(self) -> None:
        await offload.run(begin_pages, self.crawler.spider.crawl_key, self.database_url, self.source)

    def process_item(self, item: Any) -> Any:
        return item  # the spider yields none: its pages go to the worker

    async def close_spider(self) -> None:
        stats = self.crawler.stats
        counts = await offload.run(
            finish_pages,
            self.crawler.spider.crawl_key,
            self.database_url,
            self.source,
            retention_days=self.retention_days,
        )
        stats.set_value("exowatch/snapshots_pruned", counts["pruned"])
        for name in ("new", "changed", "unchanged"):
            stats.set_value(f"exowatch/records_{name}", counts[name])
        stats.set_value("exowatch/snapshots", counts["snapshots"])
        stats.set_value("exowatch/stored", True)
