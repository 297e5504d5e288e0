"""Store a crawl's letters, once the crawl is over and only if it did not fail.

Letters are gathered for the whole crawl (by the spider: its `rows` and `pages`) and written when
the spider closes: a crawl that ends in a source failure (a block page on page 7 of the listing, a
truncated letter) must change nothing, so nothing may be written before its end. The listing row
and the page of one letter arrive separately and are merged here into one record. The crawler is
the authority on a letter: every field it states replaces the stored one (a stated value never
erases to None).
"""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

from scrapy.crawler import Crawler

from crawler.pipelines.letter_records import letter_record
from db.records import LetterRecord
from db.store import Store

ALL_LETTER_FIELDS = frozenset(f.name for f in fields(LetterRecord))


class LetterStorePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        settings = crawler.settings
        self.database_url = settings.get("EXOWATCH_DATABASE_URL")
        self.delist_after = settings.getint("EXOWATCH_DELIST_AFTER", 3)
        self.source = settings.get("EXOWATCH_RUN_SOURCE", "crawl")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LetterStorePipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        return item  # the spider yields none (see above)

    def close_spider(self) -> None:
        spider = self.crawler.spider
        stats = self.crawler.stats
        if getattr(spider, "failure", None):
            stats.set_value("exowatch/stored", False)
            return
        now = datetime.now(UTC)
        rows, pages = spider.rows, spider.pages
        slugs = sorted(set(rows) | set(pages))
        records = [letter_record(s, rows.get(s), pages.get(s), now) for s in slugs]
        store = Store.open(self.database_url)
        try:
            report = store.upsert_letters(records, source=self.source, overwrite=ALL_LETTER_FIELDS)
            listing = store.record_listing(
                rows, complete=bool(spider.complete), delist_after=self.delist_after
            )
        finally:
            store.close()
        for name, value in (
            ("new", len(report.new)),
            ("changed", len(report.changed)),
            ("unchanged", len(report.unchanged)),
            ("delisted", len(listing.delisted)),
            ("relisted", len(listing.relisted)),
        ):
            stats.set_value(f"exowatch/letters_{name}", value)
        for name, value in zip(("new", "changed", "unchanged"), report.counts(), strict=True):
            stats.set_value(f"exowatch/records_{name}", value)
        stats.set_value("exowatch/stored", True)
        stats.set_value("exowatch/listing_complete", bool(spider.complete))
