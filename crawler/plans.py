"""What each spider needs from the configuration and the store before it starts.

Spiders only extract and never open the store (DESIGN.md); what they need to know of it (which
letters or notices are stored already, how many letters the listing had) is read by
`stored_state`, before the reactor starts, and handed to the spider as arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from crawler.robots_cache import MAX_AGE_HOURS, RobotsCache
from monitor.config import Config, DatabaseConfig


@dataclass(frozen=True)
class CrawlPlan:
    spider_kwargs: dict[str, Any]
    pipelines: dict[str, int]  # ITEM_PIPELINES: import path -> order (each pipeline one concern)
    settings: dict[str, Any] = field(default_factory=dict)  # this crawl's own Scrapy settings


def crawl_plan(spider_name: str, config: Config, *, full: bool) -> CrawlPlan:
    """What the configuration says of a crawl; `stored_state` adds what the store says."""
    if spider_name == "fda_warning_letters":
        source = config.sources.fda_warning_letters
        return CrawlPlan(
            spider_kwargs={
                "base_url": source.base_url,
                "page_size": source.page_size,
                "listing_endpoint": source.listing_endpoint,
                "pages_per_run": source.pages_per_run,
                "full": full,
            },
            pipelines={
                "crawler.pipelines.letter_tags.LetterTagPipeline": 200,
                "crawler.pipelines.letter_store.LetterStorePipeline": 300,
            },
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
            },
            pipelines={"crawler.pipelines.notice_store.NoticeStorePipeline": 300},
        )
    if spider_name == "clinic_listings":
        return CrawlPlan(
            spider_kwargs={
                "sources": config.sources.clinic_listings,
                "base_dir": str(config.base_dir),
            },
            pipelines={"crawler.pipelines.clinic_store.ClinicListingsPipeline": 300},
        )
    if spider_name == "clinic_sites":
        source = config.sources.clinic_sites
        return CrawlPlan(
            spider_kwargs={
                "depth": source.depth,
                "pages_per_site": source.pages_per_site,
                "recheck_after_hours": 0.0 if full else source.recheck_after_hours,
            },
            pipelines={
                "crawler.pipelines.clinic_pages.ClinicDescriptionPipeline": 200,
                "crawler.pipelines.clinic_pages.ClinicPageStorePipeline": 300,
            },
            settings={
                "EXOWATCH_SNAPSHOT_RETENTION_DAYS": source.snapshot_retention_days,
                # many sites side by side, each one request at a time ([crawl] requests_per_site)
                "CONCURRENT_REQUESTS": 32,
            },
        )
    raise KeyError(spider_name)


def stored_state(spider_name: str, database: DatabaseConfig, *, letter_pages: int = 200) -> dict[str, Any]:
    """The spider's arguments that come from the store: what it has already (for the letters
    crawl, also the `letter_pages` newest letters still without a readable page), and the
    robots.txt read within a day (crawler.robots_cache)."""
    from db.store import Store  # imported when it is needed: `scrapy list` needs no SQLAlchemy

    store = Store.open(database.url, busy_timeout_seconds=database.busy_timeout_seconds)
    try:
        since = datetime.now(UTC) - timedelta(hours=MAX_AGE_HOURS)
        state: dict[str, Any] = {"robots_cache": RobotsCache(fresh=store.robots_txt_since(since))}
        if spider_name == "fda_warning_letters":
            state |= {
                "known": store.letter_listing_states(),
                "listed": store.listed_letter_count(),
                "backlog": store.letter_page_backlog(letter_pages),
            }
        elif spider_name == "fda_notices":
            state["known"] = store.notice_page_states()
        elif spider_name == "clinic_sites":
            state |= {"sites": store.clinic_sites(), "states": store.page_states()}
        return state
    finally:
        store.close()
