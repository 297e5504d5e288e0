"""Build a NoticeRecord from what one crawl saw of a notice: feed entries, index links, its page.

Pure functions: the pipeline calls them, the tests call them directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlsplit

from crawler.extract.alert_page import AlertPage
from crawler.extract.feed import FeedEntry
from crawler.relevance import product_names, tag_text
from db.records import NoticeRecord

#: fda.gov path prefixes and the kind of notice found under each; the first match wins.
NOTICE_TYPES = (
    ("/safety/medical-product-safety-information/", "medwatch_alert"),
    ("/vaccines-blood-biologics/safety-availability-biologics/", "cber_safety"),
    ("/vaccines-blood-biologics/consumers-biologics/", "cber_consumer"),
    ("/safety/recalls-market-withdrawals-safety-alerts/", "recall"),
    ("/news-events/press-announcements/", "press_release"),
    ("/drugs/drug-safety-and-availability/", "drug_safety"),
    ("/medical-devices/safety-communications/", "device_safety"),
)
SITE_HOST = "www.fda.gov"


def notice_type(url: str) -> str:
    parts = urlsplit(url)
    if parts.hostname != SITE_HOST:
        return "external"
    return next((kind for prefix, kind in NOTICE_TYPES if parts.path.startswith(prefix)), "other")


def notice_record(
    url: str,
    entries: Sequence[tuple[str, FeedEntry]],
    links: Sequence[tuple[str, str | None]],
    page: AlertPage | None,
    *,
    page_stored: bool,
    fetched_at: datetime,
) -> NoticeRecord:
    """One notice from its sightings in this crawl.

    `entries` are (feed, entry) pairs and `links` (index page, link text) pairs. The page, when
    fetched, is the authority for title and text. When it was not fetched but a page is stored
    (`page_stored`, an incremental crawl), the record states neither title nor tags, so the stored
    page's stay; a notice with no page at all takes title and tags from its feed entries.
    """
    feed_title = next((e.title for _, e in entries if e.title), None)
    link_title = next((text for _, text in links if text), None)
    summary = next((e.summary for _, e in entries if e.summary), None)
    published = [e.published_at for _, e in entries if e.published_at is not None]
    common = {
        "url": url,
        "summary": summary,
        "published_at": min(published) if published else None,
        "notice_type": notice_type(url),
        "feeds": sorted({feed for feed, _ in entries} | {index for index, _ in links}) or None,
    }
    if page is None:
        if page_stored:  # the stored page's title, text and tags stand
            return NoticeRecord(**common)
        title = feed_title or link_title
        return NoticeRecord(**common, title=title, **_tags(f"{title or ''}\n\n{summary or ''}"))
    title = page.title or feed_title or link_title
    return NoticeRecord(
        **common,
        title=title,
        posted_date=page.posted_date,
        audience=page.audience,
        issue=page.issue,
        background=page.background,
        recommendation=page.recommendation,
        body_text=page.body_text,
        content_hash=page.content_hash,
        page_fetched_at=fetched_at,
        **_tags(f"{title or ''}\n\n{page.body_text}"),
    )


def _tags(text: str) -> dict:
    tags = tag_text(text)
    return {
        "tags": [tag.tag for tag in tags],
        "tag_phrases": {tag.tag: list(tag.phrases) for tag in tags},
        "product_names": list(product_names(text)),
    }
