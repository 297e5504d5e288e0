"""Dates as FDA's pages write them: "December 6, 2019", "Dec. 6 2019", "Date: July 22, 2020",
"12/09/2019", MedWatch's "[Posted 12/09/2019]". Pure functions; an impossible or far-off date is
None, never a guess."""

from __future__ import annotations

import re
from datetime import date

_MONTH_NAMES = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
MONTHS = {
    **{name: number for number, name in enumerate(_MONTH_NAMES, 1)},
    **{name[:3]: number for number, name in enumerate(_MONTH_NAMES, 1)},
    "sept": 9,
}
_LONG_DATE = re.compile(r"^(?:date\s*:\s*)?([a-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})$", re.I)
_SLASH_DATE = re.compile(r"^(?:date\s*:\s*)?(\d{1,2})/(\d{1,2})/(\d{4})$", re.I)
_POSTED = re.compile(r"^\[?\s*posted\s*:?\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*\]?$", re.I)


def date_line(text: str) -> date | None:
    """The date a whole line states, in any of the forms above; None for anything else."""
    text = text.strip()
    match = _LONG_DATE.match(text)
    if match:
        return make_date(match.group(3), MONTHS.get(match.group(1).lower()), match.group(2))
    match = _SLASH_DATE.match(text) or _POSTED.match(text)
    if match:
        return make_date(match.group(3), match.group(1), match.group(2))
    return None


def make_date(year: object, month: object, day: object) -> date | None:
    """A calendar date from its parts, or None when they name none (or one outside 1900-2100)."""
    if month is None:
        return None
    try:
        parsed = date(int(year), int(month), int(day))
    except ValueError:
        return None
    return parsed if 1900 <= parsed.year <= 2100 else None
