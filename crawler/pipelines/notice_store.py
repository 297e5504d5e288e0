"""Store a crawl's notices, once the crawl is over and only if it did not fail as a whole.

Feed entries, index links and pages of one notice arrive separately, from several feeds; they are
gathered here by canonical URL and merged into one record per notice (crawler.normalize.notices).
Sources that failed contribute nothing, so a failed feed never makes a notice look removed.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from scrapy.crawler import Crawler

from crawler.extract.alert_page import AlertPage
from crawler.extract.feed import FeedEntry
from crawler.items import NoticeFeedItem, NoticeIndexItem, NoticePageItem
from crawler.normalize.notices import notice_record
from db.store import Store


class NoticeStorePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.database_url = crawler.settings.get("EXOWATCH_DATABASE_URL")
        self.source = crawler.settings.get("EXOWATCH_RUN_SOURCE", "crawl")
        self.entries: dict[str, list[tuple[str, FeedEntry]]] = defaultdict(list)
        self.links: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
        self.pages: dict[str, AlertPage] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NoticeStorePipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, NoticeFeedItem):
            for entry in item.entries:
                self.entries[entry.link].append((item.feed, entry))
        elif isinstance(item, NoticeIndexItem):
            for url, text in item.links:
                self.links[url].append((item.index, text))
        elif isinstance(item, NoticePageItem):
            self.pages[item.page.url] = item.page
        return item

    def close_spider(self) -> None:
        spider = self.crawler.spider
        stats = self.crawler.stats
        if spider.failure:
            stats.set_value("exowatch/stored", False)
            return
        now = datetime.now(UTC)
        known = spider.known
        urls = sorted(set(self.entries) | set(self.links) | set(self.pages))
        records = [
            notice_record(
                url,
                self.entries.get(url, ()),
                self.links.get(url, ()),
                self.pages.get(url),
                page_stored=bool(known.get(url)),
                fetched_at=now,
            )
            for url in urls
        ]
        store = Store.open(self.database_url)
        try:
            report = store.upsert_notices(records, source=self.source)
        finally:
            store.close()
        for name, value in zip(("new", "changed", "unchanged"), report.counts(), strict=True):
            stats.set_value(f"exowatch/records_{name}", value)
        stats.set_value("exowatch/stored", True)
