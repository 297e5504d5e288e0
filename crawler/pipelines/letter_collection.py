"""The letters one crawl has read, kept where they were extracted, and stored from there at its end.

A letters crawl stores nothing until it is over (a source failure must change nothing), so what it
reads has to be kept until then. It is kept here, in the crawl's extraction worker
(crawler.offload), which parses each listing page and letter page: the crawl process only decides
what to fetch, and never holds, receives or stores a letter. At the end `store_letters` merges
each letter's listing row and page into one record and writes them all, or `discard_letters`
drops them.

No page sinks a crawl: a letter page that cannot be read (the extractor refuses it, or the spider
could not get it: an HTTP error after retries, a truncated answer) is kept here as that letter's
page error. The letter is stored from its listing row all the same (a stored one keeps its page's
fields), the store notes the reason and the time on it (`page_error`, `page_error_at`) and later
crawls try its page again; a page read clears them. The crawl's answer counts and names them, and
its run is partial.

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
    records_filtered: int | None  # None: the answer states no count (Drupal's command list)
    letters: tuple[ListedLetter, ...]


@dataclass
class _Letters:
    rows: dict[str, ListingRow] = field(default_factory=dict)  # the first row seen of each letter
    # each page's record, built as it arrives when its row had been seen (the row cannot change:
    # the first one wins), so that the crawl's end only writes
    records: dict[str, LetterRecord] = field(default_factory=dict)
    pages: dict[str, LetterPageItem] = field(default_factory=dict)  # pages read before their row
    read: set[str] = field(default_factory=set)  # letters whose page was read (asked-for slug too)
    errors: dict[str, str] = field(default_factory=dict)  # slug -> why its page could not be read


_crawls: dict[str, _Letters] = {}


def _letters(crawl: str) -> _Letters:
    return _crawls.setdefault(crawl, _Letters())


def read_listing(crawl: str, body: bytes) -> ListingSummary:
    """Parse one listing page, keep its rows, and say which letters it lists."""
    page = parse_listing_page(body, require_count=False)
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


def read_letter(crawl: str, html: bytes, url: str, slug: str) -> None:
    """Extract and tag the page of letter `slug` (the one asked for) and keep it; a page that is
    not a whole letter page is kept as the letter's page error instead (never raised: one page
    does not sink the crawl)."""
    letters = _letters(crawl)
    try:
        item = read_letter_page(html, url)
    except SourceFailure as exc:
        letters.errors[slug] = str(exc)
        return
    except Exception as exc:  # noqa: BLE001 - an extractor bug on one page is that page's error
        letters.errors[slug] = f"the letter page could not be extracted: {type(exc).__name__}: {exc}"
        return
    page_slug = item.page.slug  # the page's own slug: where a redirect led
    letters.read.update((slug, page_slug))
    letters.errors.pop(slug, None)
    letters.errors.pop(page_slug, None)
    row = letters.rows.get(page_slug)
    if row is not None:
        letters.records[page_slug] = letter_record(page_slug, row, item, datetime.now(UTC))
    else:
        letters.pages[page_slug] = item


def letter_page_failed(crawl: str, slug: str, reason: str) -> None:
    """The page of letter `slug` could not be had (an HTTP error after retries, a broken
    connection, a truncated answer): kept as its page error."""
    letters = _letters(crawl)
    if slug not in letters.read:
        letters.errors[slug] = reason


def discard_letters(crawl: str) -> None:
    _crawls.pop(crawl, None)


def store_letters(
    crawl: str, database_url: str, *, complete: bool, delist_after: int, source: str
) -> dict[str, Any]:
    """Write what the crawl read: every letter once (a letter whose page failed from its listing
    row), its page's errors, and the listing's presence. Returns counts, and the page errors."""
    # Imported here, not at the top: the crawl process imports this module to name its functions,
    # and only the worker, which calls this one, needs SQLAlchemy (see crawler.offload).
    from db.store import Store

    letters = _crawls.pop(crawl, _Letters())
    now = datetime.now(UTC)
    records = [
        letters.records.get(slug) or letter_record(slug, letters.rows.get(slug), letters.pages.get(slug), now)
        for slug in sorted(set(letters.rows) | set(letters.pages))
    ]
    errors = dict(sorted(letters.errors.items()))
    store = Store.open(database_url)
    try:
        report = store.upsert_letters(records, source=source, overwrite=ALL_LETTER_FIELDS)
        store.record_letter_pages(errors, letters.read)
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
            "pages_read": len(letters.pages) + len(letters.records),
        },
        "records": dict(zip(("new", "changed", "unchanged"), report.counts(), strict=True)),
        "page_errors": errors,
    }
