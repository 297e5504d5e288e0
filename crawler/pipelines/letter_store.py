"""Store a crawl's letters, once the crawl is over and only if it did not fail.

A letters crawl stores nothing before its end: a crawl that ends in a source failure (a block
page on page 7 of the listing) must change nothing, and delisting counts a letter's absence only
from a complete walk of the listing. So this pipeline keeps what the spider yields (each listed
letter's row, each letter page, each page that could not be had) and writes it all when the
spider closes, or drops it when the spider failed.

No page sinks a crawl: a letter page that could not be read is stored as that letter's page error
(`page_error`, `page_error_at`): the letter is stored from its listing row all the same (a stored
one keeps its page's fields), later crawls try its page again, and a page read clears the error.
The spider's `page_failures` name them, and the run is partial.

The crawler is the authority on a letter: every field it states replaces the stored one (a stated
value never erases to None). Letter pages are merged with their row as they arrive, so the
spider's close only writes.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

from scrapy.crawler import Crawler

from crawler.items import LetterPageFailedItem, LetterPageItem, ListedLetterItem
from crawler.normalize.letters import ListingRow
from crawler.pipelines.letter_records import letter_record
from db.records import LetterRecord

ALL_LETTER_FIELDS = frozenset(f.name for f in fields(LetterRecord))


class LetterStorePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        settings = crawler.settings
        self.database_url = settings.get("EXOWATCH_DATABASE_URL")
        self.delist_after = settings.getint("EXOWATCH_DELIST_AFTER", 3)
        self.source = settings.get("EXOWATCH_RUN_SOURCE", "crawl")
        self.rows: dict[str, ListingRow] = {}  # the first row seen of each letter
        self.records: dict[str, LetterRecord] = {}  # pages merged with their row as they came
        self.pages: dict[str, LetterPageItem] = {}  # pages read before their row
        self.read: set[str] = set()  # letters whose page was read (the asked-for slug too)
        self.errors: dict[str, str] = {}  # slug -> why its page could not be read

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LetterStorePipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, ListedLetterItem):
            row = self.rows.setdefault(item.slug, item.row)  # FDA can repeat a row: the first wins
            page = self.pages.pop(item.slug, None)
            if page is not None:
                self.records[item.slug] = letter_record(item.slug, row, page, datetime.now(UTC))
        elif isinstance(item, LetterPageItem):
            slug = item.page.slug  # the page's own slug: where a redirect led
            self.read.update((item.asked, slug))
            self.errors.pop(item.asked, None)
            self.errors.pop(slug, None)
            row = self.rows.get(slug)
            if row is not None:
                self.records[slug] = letter_record(slug, row, item, datetime.now(UTC))
            else:
                self.pages[slug] = item
        elif isinstance(item, LetterPageFailedItem) and item.slug not in self.read:
            self.errors[item.slug] = item.reason
        return item

    def close_spider(self) -> None:
        spider = self.crawler.spider
        stats = self.crawler.stats
        if getattr(spider, "failure", None):
            stats.set_value("exowatch/stored", False)
            return
        counts = self._store(complete=bool(spider.complete))
        for name, value in counts["letters"].items():
            stats.set_value(f"exowatch/letters_{name}", value)
        for name, value in counts["records"].items():
            stats.set_value(f"exowatch/records_{name}", value)
        if self.errors:
            stats.set_value("exowatch/pages_failed", len(self.errors))
        for slug, reason in sorted(self.errors.items()):
            spider.page_failures.append(f"letter {slug}: {reason}")
        stats.set_value("exowatch/stored", True)
        stats.set_value("exowatch/listing_complete", bool(spider.complete))

    def _store(self, *, complete: bool) -> dict[str, Any]:
        """Every letter once (a letter whose page failed from its listing row), its page's errors,
        and the listing's presence. Returns the counts."""
        from db.store import Store  # the crawl's only use of SQLAlchemy: imported when it writes

        now = datetime.now(UTC)
        records = [
            self.records.get(slug) or letter_record(slug, self.rows.get(slug), self.pages.get(slug), now)
            for slug in sorted(set(self.rows) | set(self.pages) | set(self.records))
        ]
        store = Store.open(self.database_url)
        try:
            report = store.upsert_letters(records, source=self.source, overwrite=ALL_LETTER_FIELDS)
            store.record_letter_pages(dict(sorted(self.errors.items())), self.read)
            listing = store.record_listing(self.rows, complete=complete, delist_after=self.delist_after)
        finally:
            store.close()
        return {
            "letters": {
                "new": len(report.new),
                "changed": len(report.changed),
                "unchanged": len(report.unchanged),
                "delisted": len(listing.delisted),
                "relisted": len(listing.relisted),
                "pages_read": len(self.pages) + len(self.records),
            },
            "records": dict(zip(("new", "changed", "unchanged"), report.counts(), strict=True)),
        }
