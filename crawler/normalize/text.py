"""Small text clean-ups shared by every normalizer."""

from __future__ import annotations

import re
from datetime import date, datetime

# C0/C1 controls other than whitespace, and bidi overrides: they can rewrite a terminal or a report.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"})
MAX_FIELD_CHARS = 2000


def clean(value: object, *, field: str = "value", max_chars: int = MAX_FIELD_CHARS) -> str | None:
    """Drop control characters, collapse whitespace, strip; empty means absent.

    Over-long values are refused, not cut: a truncated company name would be a different record.
    """
    if value is None:
        return None
    text = str(value)
    if _CONTROL.search(text):
        text = _CONTROL.sub("", text)
    text = " ".join(text.split())  # str.split() is \s+ and strip in one pass, and 4x faster
    if not text:
        return None
    if len(text) > max_chars:
        raise ValueError(f"{field} is longer than {max_chars} characters")
    if not text.isascii():  # isascii() is a flag read: most values skip the encode
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate, e.g. from a JSON "\ud800" escape
            raise ValueError(f"{field} is not valid Unicode text") from None
    return text


def unify_dashes(text: str) -> str:
    return text.translate(_DASHES)


_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})", re.ASCII)
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})", re.ASCII)


def parse_listing_date(value: object, *, field: str = "date") -> date | None:
    """FDA listings write MM/DD/YYYY; spreadsheets may hold real dates; ISO is accepted too."""
    if value is None:
        return None
    if isinstance(value, date):  # spreadsheets hold real dates (datetime is a date too)
        parsed = value.date() if isinstance(value, datetime) else value
        if not 1900 <= parsed.year <= 2100:
            raise ValueError(f"{field} {parsed.isoformat()} is out of range")
        return parsed
    text = str(value).strip()
    if not text:
        return None
    us, iso = _US_DATE.fullmatch(text), _ISO_DATE.fullmatch(text)  # not strptime: a tenth of its cost
    parts = (us[3], us[1], us[2]) if us else (iso[1], iso[2], iso[3]) if iso else None
    if parts is not None:
        try:
            parsed = date(*map(int, parts))
        except ValueError:
            parsed = None
        if parsed is not None and 1900 <= parsed.year <= 2100:
            return parsed
    shown = text if len(text) <= 40 else text[:40] + "..."
    raise ValueError(f"{field} {shown!r} is not a date (expected MM/DD/YYYY)")
