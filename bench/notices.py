"""Feed parsing plus storing, as the notices crawl does it, against feedparser alone on one feed.

Why it measures the way it does:

* The feed: 200 RSS items in the structure of FDA's feeds (title, link, HTML description,
  pubDate with a zone name, dc:creator, guid), filled from real warning-letter listing rows
  (companies, subjects, dates); written by `build_feed` below, the same bytes for both sides.
* The baseline is feedparser alone: `feedparser.parse(bytes)` with the options the crawler passes
  (no HTML sanitizing, no relative-URI resolution: the crawler reads descriptions as text), so
  the ratio is the cost of everything exowatch adds around the same parse.
* The full side is the notices pipeline without the network: `parse_feed` (the hostile-input
  screen, feedparser, canonical links, descriptions as text, dates to UTC), `notice_record` for
  each entry (relevance tags and product names on title and description), and
  `Store.upsert_notices` into SQLite: into a fresh store (200 new notices and their events, a
  first crawl) and into a store that has them (200 unchanged, a re-crawl).
* Noise: the sides alternate in each round and each side's rate is its best round (on a shared
  machine noise only adds time). Nothing is asserted.

Run: `python bench/notices.py` (EXOWATCH_BENCH_ITEMS, EXOWATCH_BENCH_ROUNDS to change the size).
"""

from __future__ import annotations

import csv
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape
from pathlib import Path

import feedparser

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler.extract.feed import parse_feed  # noqa: E402
from crawler.normalize.notices import notice_record  # noqa: E402
from db.store import Store  # noqa: E402

ITEMS = int(os.environ.get("EXOWATCH_BENCH_ITEMS", "200"))
ROUNDS = int(os.environ.get("EXOWATCH_BENCH_ROUNDS", "7"))
LISTING_CSV = ROOT / "tests" / "fixtures" / "fda" / "listing" / "warning_letters_2021_2026.csv"
FEED_URL = "https://www.fda.gov/about-fda/contact-fda/stay-informed/rss-feeds/recalls/rss.xml"
GOAL = 0.7


def build_feed(items: int) -> bytes:
    with LISTING_CSV.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))[:items]
    entries = []
    for row in rows:
        slug = row["url"].rstrip("/").rsplit("/", 1)[-1]
        posted = datetime.strptime(row["posted_date"], "%m/%d/%Y").replace(hour=16, minute=30, tzinfo=UTC)
        description = (
            f"<p>{escape(row['company'])} received a letter from {escape(row['issuing_office'])} "
            f"about {escape(row['subject'])}.</p><p>Consumers who have questions may contact the "
            f'company; report adverse events to FDA\'s <a href="/safety/medwatch">MedWatch</a>.</p>'
        )
        link = f"https://www.fda.gov/safety/recalls-market-withdrawals-safety-alerts/{slug}"
        entries.append(
            "<item>"
            f"<title>{escape(row['company'])} Recalls Products Because of {escape(row['subject'])}</title>"
            f"<link>{link}</link>"
            f"<description>{escape(description)}</description>"
            f"<pubDate>{format_datetime(posted).replace('+0000', 'GMT')}</pubDate>"
            "<dc:creator>FDA</dc:creator>"
            f'<guid isPermaLink="true">{link}</guid>'
            "</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0"><channel>'
        "<title>FDA Recalls RSS Feed</title><link>http://www.fda.gov/</link><language>en</language>"
        + "".join(entries)
        + "</channel></rss>"
    ).encode("utf-8")


def feedparser_alone(data: bytes) -> int:
    parsed = feedparser.parse(
        data,
        response_headers={"content-location": FEED_URL, "content-type": "application/xml"},
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    return len(parsed.entries)


def parse_and_store(data: bytes, store: Store) -> tuple[int, tuple[int, int, int]]:
    feed = parse_feed(data, FEED_URL)
    now = datetime.now(UTC)
    records = [
        notice_record(entry.link, [(FEED_URL, entry)], (), None, page_stored=False, fetched_at=now)
        for entry in feed.entries
    ]
    report = store.upsert_notices(records, source="bench")
    return len(feed.entries), report.counts()


def main() -> int:
    data = build_feed(ITEMS)
    print(f"{ITEMS}-item feed, {len(data):,} bytes; best of {ROUNDS} rounds, sides alternating", flush=True)
    with tempfile.TemporaryDirectory(prefix="exowatch-bench-notices-") as tmp:
        folder = Path(tmp)
        kept = Store.open(f"sqlite:///{folder / 'kept.db'}")
        kept.init()
        parse_and_store(data, kept)  # the re-crawl side's store holds the feed already
        timings: dict[str, list[float]] = {"feedparser": [], "new": [], "unchanged": []}
        for round_no in range(ROUNDS):
            fresh = Store.open(f"sqlite:///{folder / f'fresh-{round_no}.db'}")
            fresh.init()
            sides = ["feedparser", "new", "unchanged"]
            for side in sides if round_no % 2 == 0 else reversed(sides):
                start = time.perf_counter()
                if side == "feedparser":
                    count, counts = feedparser_alone(data), None
                else:
                    count, counts = parse_and_store(data, fresh if side == "new" else kept)
                timings[side].append(time.perf_counter() - start)
                if count != ITEMS:
                    raise SystemExit(f"{side}: {count} entries, expected {ITEMS}")
                if side == "new" and counts != (ITEMS, 0, 0):
                    raise SystemExit(f"a fresh store did not take {ITEMS} new notices: {counts}")
                if side == "unchanged" and counts != (0, 0, ITEMS):
                    raise SystemExit(f"a re-crawl changed notices: {counts}")
            fresh.close()
        kept.close()
    rates = {side: ITEMS / min(seconds) for side, seconds in timings.items()}
    print(f"feedparser alone: {rates['feedparser']:,.0f} items/s")
    print(f"parse + store, first crawl (all new): {rates['new']:,.0f} items/s")
    print(f"parse + store, re-crawl (all unchanged): {rates['unchanged']:,.0f} items/s")
    print(f"ratio first crawl: {rates['new'] / rates['feedparser']:.2f} (goal >= {GOAL:.2f})")
    print(f"ratio re-crawl: {rates['unchanged'] / rates['feedparser']:.2f} (goal >= {GOAL:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
