"""What the store accepts: plain, typed, already-normalized records (no ORM objects, no raw HTML)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)  # no slots: the store reads vars(record), the cheapest view of its fields
class LetterRecord:
    """One warning letter as a source saw it. None means "this source does not say"."""

    slug: str
    url: str
    marcs_cms_number: str | None = None
    company_name: str | None = None
    posted_date: date | None = None
    letter_date: date | None = None
    issuing_office: str | None = None
    issuing_office_raw: str | None = None
    subject: str | None = None
    response_letter_date: date | None = None
    closeout_letter_date: date | None = None


#: Fields that record a letter's lifecycle: a source that states them overrides what is stored.
LETTER_LIFECYCLE_FIELDS = frozenset({"response_letter_date", "closeout_letter_date"})
