"""The letters one crawl has read, kept where they were extracted, and stored from there at its end.

A letters crawl stores nothing until it is over (a failure must change nothing), so what it reads
has to be kept until then. It is kept here, in the crawl's extraction worker (crawler.offload),
which parses each listing page and letter page: the crawl process only decides what to fetch, and
never holds, receives or stores a letter. At the end `store_letters` merges each letter's listing
row and page into one record and writes them all, or `discard_letters` drops them.

Every function takes the crawl's key: the worker of one crawl serves one crawl, but inline (no
worker, `extract_workers = 0`) one process may run several crawls, and their letters must not mix.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from crawler.errors import SourceFailure
from crawler.extract.listing_ajax import parse_listing_page
from crawler.items import LetterPageItem
from crawler.normalize.letters import ListingRow, letter_slug
from crawler.pipelines.letter_records import letter_record, read_letter_page
from db.records import LetterRecord

ALL_LETTER_FIELDS = frozenset(f.name for f in fields(LetterRecord))


@dataclass(frozen=True)
class ListedLetter:
    """What the spider needs of one listing row to decide whether to fetch its letter."""

    slug: str
    response_letter: object
    closeout_letter: object


@dataclass(frozen=True)
class ListingSummary:
    records_filtered: int
    letters: tuple[ListedLetter, ...]


@dataclass
class _Letters:
    rows: dict[str, ListingRow] = field(default_factory=dict)  # the first row seen of each letter
    # each page's record, built as it arrives when its row had been seen (the row cannot change:
    # the first one wins), so that the crawl's end only writes
    records: dict[str, LetterRecord] = field(default_factory=dict)
    pages: dict[str, LetterPageItem] = field(default_factory=dict)  # pages read before their row
    failure: str | None = None  # a page that could not be read: nothing may be stored


_crawls: dict[str, _Letters] = {}


def _letters(crawl: str) -> _Letters:
    return _crawls.setdefault(crawl, _Letters())


def read_listing(crawl: str, body: bytes) -> ListingSummary:
    """Parse one listing page, keep its rows, and say which letters it lists."""
    page = parse_listing_page(body)
    kept = _letters(crawl).rows
    letters = []
    for row in page.rows:
        try:
            slug = letter_slug(row.url or "")
        except ValueError as exc:
            raise SourceFailure(f"listing columns changed: {exc}") from None
        kept.setdefault(slug, row)  # FDA can repeat a row while the crawl pages: the first wins
        letters.append(ListedLetter(slug, row.response_letter, row.closeout_letter))
    return ListingSummary(records_filtered=page.records_filtered, letters=tuple(letters))


def read_letter(crawl: str, html: bytes, url: str) -> None:
    """Extract and tag one letter page and keep it (a SourceFailure if it is not a whole letter)."""
    letters = _letters(crawl)
    try:
        item = read_letter_page(html, url)
    except SourceFailure as exc:
        # the spider hears of it too, but its store call may already be on its way: refuse it here
        letters.failure = letters.failure or str(exc)
        raise
    slug = item.page.slug  # the page's own slug: where a redirect led
    row = letters.rows.get(slug)
    if row is not None:
        letters.records[slug] = letter_record(slug, row, item, datetime.now(UTC))
    else:
        letters.pages[slug] = item


def discard_letters(crawl: str) -> None:
    _crawls.pop(crawl, None)


def store_letters(
    crawl: str, database_url: str, *, complete: bool, delist_after: int, source: str
) -> dict[str, Any]:
    """Write what the crawl read: every letter once, and the listing's presence. Returns counts."""
    # Imported here, not at the top: the crawl process imports this module to name its functions,
    # and only the worker, which calls this one, needs SQLAlchemy (see crawler.offload).
    from db.store import Store

    letters = _crawls.pop(crawl, _Letters())
    if letters.failure is not None:
        raise SourceFailure(f"nothing stored: {letters.failure}")
    now = datetime.now(UTC)
    records = [
        letters.records.get(slug) or letter_record(slug, letters.rows.get(slug), letters.pages.get(slug), now)
        for slug in sorted(set(letters.rows) | set(letters.pages))
    ]
    store = Store.open(database_url)
    try:
        report = store.upsert_letters(records, source=source, overwrite=ALL_LETTER_FIELDS)
        listing = store.record_listing(letters.rows, complete=complete, delist_after=delist_after)
    finally:
        store.close()
    return {
        "letters": {
            "new": len(report.new),
            "changed": len(report.changed),
            "unchanged": len(report.unchanged),
            "delisted": len(listing.delisted),
            "relisted": len(listing.relisted),
        },
        "records": dict(zip(("new", "changed", "unchanged"), report.counts(), strict=True)),
    }
