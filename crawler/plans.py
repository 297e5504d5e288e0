"""What each spider needs from the configuration and the store before it starts.

Spiders only extract and never open the store (DESIGN.md); what they need to know of it (which
letters or notices are stored already, how many letters the listing had) is read here, in the
crawl child before the reactor starts, and handed to the spider as arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from db.store import Store
from monitor.config import Config


@dataclass(frozen=True)
class CrawlPlan:
    spider_kwargs: dict[str, Any]
    pipeline: str  # the store pipeline's import path


def crawl_plan(spider_name: str, config: Config, store: Store, *, full: bool) -> CrawlPlan:
    if spider_name == "fda_warning_letters":
        source = config.sources.fda_warning_letters
        return CrawlPlan(
            spider_kwargs={
                "base_url": source.base_url,
                "page_size": source.page_size,
                "full": full,
                "known": store.letter_listing_states(),
                "listed": store.listed_letter_count(),
            },
            pipeline="crawler.pipelines.letter_store.LetterStorePipeline",
        )
    if spider_name == "fda_notices":
        source = config.sources.fda_notices
        return CrawlPlan(
            spider_kwargs={
                "base_url": source.base_url,
                "feeds": source.feeds,
                "index_pages": source.index_pages,
                "index_link_paths": source.index_link_paths,
                "follow_pages": source.follow_pages,
                "full": full,
                "known": store.notice_page_states(),
            },
            pipeline="crawler.pipelines.notice_store.NoticeStorePipeline",
        )
    raise KeyError(spider_name)
