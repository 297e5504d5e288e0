"""The baseline of bench/letters.py: a Scrapy spider that fetches the same URLs and does nothing.

`python bench/bare_spider.py URLS_FILE` with exowatch's own crawl settings (URL gate, limits),
no parsing and no store. Prints the number of responses.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import scrapy
from scrapy.crawler import CrawlerProcess

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler.settings import crawl_settings  # noqa: E402


class BareSpider(scrapy.Spider):
    name = "bare"

    def __init__(self, urls: list[str], **kwargs):
        super().__init__(**kwargs)
        self.urls = urls
        self.responses = 0

    async def start(self):
        for url in self.urls:
            yield scrapy.Request(url, dont_filter=True)

    def parse(self, response):
        self.responses += 1
        return None


def main() -> None:
    job = json.loads(Path(sys.argv[1]).read_text())
    settings = crawl_settings(
        user_agent_contact="bench@example.org",
        allow_hosts=tuple(job["allow_hosts"]),
        overrides={**job["overrides"], "LOG_INSTALL_ROOT_HANDLER": False},
    )
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(BareSpider)
    process.crawl(crawler, urls=job["urls"])
    process.start()
    print(crawler.spider.responses)


if __name__ == "__main__":
    main()
