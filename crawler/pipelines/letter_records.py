"""Build a LetterRecord from what a crawl saw of one letter: its listing row, its page, its tags.

A pure function: the store pipeline calls it, the tests call it directly.
"""

from __future__ import annotations

from datetime import datetime

from crawler.items import LetterPageItem
from crawler.normalize.letters import ListingRow, letter_from_listing, letter_url, marcs_cms_number
from db.records import LetterRecord


def letter_record(
    slug: str, row: ListingRow | None, item: LetterPageItem | None, fetched_at: datetime
) -> LetterRecord:
    """The listing row gives the listing's fields; the page, when fetched, adds its own and wins
    where both state a value (it is the letter itself)."""
    base = (
        letter_from_listing(row, slug=slug)
        if row is not None
        else LetterRecord(slug=slug, url=letter_url(slug))
    )
    if item is None:
        return base
    page, tags = item.page, item.tags
    fields = {
        "marcs_cms_number": page.marcs_cms_number or base.marcs_cms_number or marcs_cms_number(slug),
        "company_name": page.company_name or base.company_name,
        "letter_date": page.letter_date or base.letter_date,
        "issuing_office": page.issuing_office or base.issuing_office,
        "issuing_office_raw": page.issuing_office_raw or base.issuing_office_raw,
        "delivery_method": page.delivery_method,
        "products": list(page.products) or None,
        "reference_number": page.reference_number,
        "recipient_name": page.recipient_name,
        "recipient_title": page.recipient_title,
        "address_line1": page.address_line1,
        "locality": page.locality,
        "region": page.region,
        "postal_code": page.postal_code,
        "country": page.country,
        "emails": list(page.emails) or None,
        "response_letters": _links(page.response_letters),
        "closeout_letters": _links(page.closeout_letters),
        "response_letter_date": base.response_letter_date or _latest_date(page.response_letters),
        "closeout_letter_date": base.closeout_letter_date or _latest_date(page.closeout_letters),
        "body_text": page.body_text,
        "content_hash": page.content_hash,
        "tags": [tag.tag for tag in tags],
        "tag_phrases": {tag.tag: list(tag.phrases) for tag in tags},
        "product_names": list(item.product_names),
        "page_fetched_at": fetched_at,
    }
    return LetterRecord(**{**base.__dict__, **fields})


def _links(pairs) -> list[dict] | None:
    links = [{"date": day.isoformat() if day else None, "url": url} for day, url in pairs]
    return links or None


def _latest_date(pairs):
    dates = sorted(day for day, _ in pairs if day is not None)
    return dates[-1] if dates else None
