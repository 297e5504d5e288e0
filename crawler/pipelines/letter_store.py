"""Store a crawl's letters, once the crawl is over and only if it did not fail.

Letters are gathered for the whole crawl and written when the spider closes: a crawl that ends in
a source failure (a block page on page 7 of the listing) must change nothing, so nothing may be
written before its end. A letter page that could not be read is no such failure: the letter is
stored from its listing row with its page error, and the spider's `page_failures` name it (the
run is then partial). They are gathered, merged (a letter's listing row and
its page make one record) and written in the crawl's worker (crawler.pipelines.letter_collection);
this pipeline tells it to store them, or to drop them, and puts the counts in the crawl's stats.
The crawler is the authority on a letter: every field it states replaces the stored one (a
stated value never erases to None).
"""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler

from crawler import offload
from crawler.pipelines.letter_collection import discard_letters, store_letters


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

    async def close_spider(self) -> None:
        spider = self.crawler.spider
        stats = self.crawler.stats
        if getattr(spider, "failure", None):
            await offload.run(discard_letters, spider.crawl_key)
            stats.set_value("exowatch/stored", False)
            return
        counts = await offload.run(
            store_letters,
            spider.crawl_key,
            self.database_url,
            complete=bool(spider.complete),
            delist_after=self.delist_after,
            source=self.source,
        )
        for name, value in counts["letters"].items():
            stats.set_value(f"exowatch/letters_{name}", value)
        for name, value in counts["records"].items():
            stats.set_value(f"exowatch/records_{name}", value)
        if counts["page_errors"]:
            stats.set_value("exowatch/pages_failed", len(counts["page_errors"]))
        for slug, reason in counts["page_errors"].items():
            spider.page_failures.append(f"letter {slug}: {reason}")
        stats.set_value("exowatch/stored", True)
        stats.set_value("exowatch/listing_complete", bool(spider.complete))
