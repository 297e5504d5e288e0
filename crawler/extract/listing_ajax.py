"""Parse one page of FDA's warning-letter listing as its DataTables endpoint answers it.

The endpoint (`/datatables/views/ajax`) answers JSON: `draw`, `recordsTotal`, `recordsFiltered`
and `data`, a list of rows, each a list of HTML cells: posted date, letter issue date, a link to
the letter with the company as its text, issuing office, subject, response letter, close-out
letter, excerpt. Whether the JSON may arrive wrapped in a Drupal command list is unknown, so both
shapes are read. Anything else (an HTML block or "apology" page, other JSON, a row whose cells no
longer look like this) is a SourceFailure: the listing changed or the source is failing, and
nothing stored may change because of it.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass

import lxml.html

from crawler.errors import SourceFailure
from crawler.normalize.letters import ListingRow

MAX_LISTING_BYTES = 20 * 1024 * 1024
CELLS = 8  # posted, issued, company link, office, subject, response, close-out, excerpt
MIN_CELLS = 7  # the excerpt column is the one FDA may drop without the rest moving
_DATE = re.compile(r"\b(\d{2}/\d{2}/\d{4})\b")
_TAG = re.compile(r"<[^<>]*>")
_NOT_SIMPLE = re.compile(r"<!|<\?|<(?:script|style|template|textarea)\b", re.IGNORECASE)
_BLOCK_HINTS = ("access denied", "apology", "request unsuccessful", "incapsula", "reference #")


@dataclass(frozen=True)
class ListingPage:
    draw: int | None
    records_total: int
    records_filtered: int
    rows: tuple[ListingRow, ...]


def parse_listing_page(body: bytes) -> ListingPage:
    if len(body) > MAX_LISTING_BYTES:
        raise SourceFailure(f"listing answer of {len(body)} bytes is over the {MAX_LISTING_BYTES}-byte limit")
    document = _json(body)
    payload = _payload(document)
    rows = payload.get("data")
    if not isinstance(rows, list):
        raise SourceFailure("listing JSON has no 'data' list")
    total = _count(payload, "recordsTotal")
    filtered = _count(payload, "recordsFiltered") if "recordsFiltered" in payload else total
    draw = payload.get("draw")
    parsed = tuple(_row(number, cells) for number, cells in enumerate(rows, start=1))
    return ListingPage(
        draw=int(draw) if isinstance(draw, int | str) and str(draw).isdigit() else None,
        records_total=total,
        records_filtered=filtered,
        rows=parsed,
    )


def _json(body: bytes) -> object:
    text = body.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if text.startswith("<"):
        lowered = text[:4000].lower()
        kind = "a block or apology page" if any(h in lowered for h in _BLOCK_HINTS) else "an HTML page"
        raise SourceFailure(f"listing answered {kind} instead of JSON")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise SourceFailure("listing answer is not valid JSON") from None


def _payload(document: object) -> dict:
    if isinstance(document, dict):
        return document
    if isinstance(document, list):  # a Drupal AJAX command list: find the DataTables payload
        for command in document:
            if isinstance(command, dict):
                for candidate in (command, command.get("data"), command.get("settings")):
                    if isinstance(candidate, dict) and "data" in candidate and "recordsTotal" in candidate:
                        return candidate
    raise SourceFailure("listing JSON is not a DataTables answer")


def _count(payload: dict, key: str) -> int:
    value = payload.get(key)
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise SourceFailure(f"listing JSON has no numeric '{key}'")
    return int(value)


def _row(number: int, cells: object) -> ListingRow:
    if not isinstance(cells, list) or not MIN_CELLS <= len(cells) <= CELLS + 2:
        size = len(cells) if isinstance(cells, list) else type(cells).__name__
        raise SourceFailure(f"listing columns changed: row {number} has {size} cells, expected {CELLS}")
    if not all(isinstance(cell, str | type(None)) for cell in cells):
        raise SourceFailure(f"listing columns changed: row {number} has a cell that is not text")
    posted, issued = _cell_date(cells[0]), _cell_date(cells[1])
    url, company = _link(cells[2])
    if url is None or "/warning-letters/" not in url or posted is None:
        raise SourceFailure(
            f"listing columns changed: row {number} has no posted date and letter link where they were"
        )
    return ListingRow(
        url=url,
        posted_date=posted,
        letter_date=issued,
        company=company,
        issuing_office=_text(cells[3]),
        subject=_text(cells[4]),
        response_letter=_cell_date(cells[5]),
        closeout_letter=_cell_date(cells[6]),
    )


def _fragment(cell: str | None):
    if not cell or not cell.strip():
        return None
    return lxml.html.fragment_fromstring(cell, create_parent="div")


def _text(cell: str | None) -> str | None:
    """A cell's text. Most cells are plain text or one inline element, so tags are stripped and
    entities decoded without building a tree (an lxml parse per cell was a crawl's biggest cost);
    anything with a comment, CDATA or script goes through lxml."""
    if not cell or not cell.strip():
        return None
    if "<" not in cell:
        return html.unescape(cell)
    if _NOT_SIMPLE.search(cell):
        fragment = _fragment(cell)
        for hidden in fragment.xpath(".//script | .//style | .//template | .//textarea"):
            hidden.drop_tree()  # its text is not the cell's text; what follows it stays
        return fragment.text_content()
    return html.unescape(_TAG.sub("", cell))


def _cell_date(cell: str | None) -> str | None:
    """MM/DD/YYYY from a cell's text: a <time> element's text, or any date in the cell."""
    text = _text(cell)
    match = _DATE.search(text or "")
    return match.group(1) if match else None


def _link(cell: str | None) -> tuple[str | None, str | None]:
    fragment = _fragment(cell)
    if fragment is None:
        return None, None
    for anchor in fragment.iter("a"):
        href = anchor.get("href")
        if href:
            return href.strip(), anchor.text_content()
    return None, fragment.text_content()
