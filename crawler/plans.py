"""What each spider needs from the configuration and the store before it starts.

Spiders only extract and never open the store (DESIGN.md); what they need to know of it (which
letters or notices are stored already, how many letters the listing had) is read here, in the
crawl child before the reactor starts, and handed to the spider as arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from db.store import Store
from monitor.config import Config


@dataclass(frozen=True)
class CrawlPlan:
    spider_kwargs: dict[str, Any]
    pipeline: str  # the store pipeline's import path
    settings: dict[str, Any] = field(default_factory=dict)  # this crawl's own Scrapy settings


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
    if spider_name == "clinic_listings":
        return CrawlPlan(
            spider_kwargs={
                "sources": config.sources.clinic_listings,
                "base_dir": str(config.base_dir),
            },
            pipeline="crawler.pipelines.clinic_store.ClinicListingsPipeline",
        )
    if spider_name == "clinic_sites":
        source = config.sources.clinic_sites
        return CrawlPlan(
            spider_kwargs={
                "sites": store.clinic_sites(),
                "states": store.page_states(),
                "depth": source.depth,
                "pages_per_site": source.pages_per_site,
                "recheck_after_hours": 0.0 if full else source.recheck_after_hours,
            },
            pipeline="crawler.pipelines.clinic_store.ClinicPagesPipeline",
            settings={
                "EXOWATCH_SNAPSHOT_RETENTION_DAYS": source.snapshot_retention_days,
                # many sites side by side, each one request at a time ([crawl] requests_per_site)
                "CONCURRENT_REQUESTS": 32,
            },
        )
    raise KeyError(spider_name)
