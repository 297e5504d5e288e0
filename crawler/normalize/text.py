"""Small text clean-ups shared by every normalizer."""

from __future__ import annotations

import re
from datetime import date, datetime

_SPACE = re.compile(r"\s+")
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"})
MAX_FIELD_CHARS = 2000


def clean(value: object, *, field: str = "value", max_chars: int = MAX_FIELD_CHARS) -> str | None:
    """Collapse whitespace and strip; empty means absent. Over-long values are refused, not cut."""
    if value is None:
        return None
    text = _SPACE.sub(" ", str(value)).strip()
    if not text:
        return None
    if len(text) > max_chars:
        raise ValueError(f"{field} is longer than {max_chars} characters")
    return text


def unify_dashes(text: str) -> str:
    return text.translate(_DASHES)


def parse_listing_date(value: object, *, field: str = "date") -> date | None:
    """FDA listings write MM/DD/YYYY; spreadsheets may hold real dates; ISO is accepted too."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if not text:
        return None
    for pattern in ("%m/%d/%Y", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(text, pattern).date()
        except ValueError:
            continue
        if not 1900 <= parsed.year <= 2100:
            break
        return parsed
    shown = text if len(text) <= 40 else text[:40] + "..."
    raise ValueError(f"{field} {shown!r} is not a date (expected MM/DD/YYYY)")
