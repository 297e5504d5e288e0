"""Parse one page of FDA's warning-letter listing, in either form fda.gov answers it.

1. DataTables JSON (`/datatables/views/ajax`): `draw`, `recordsTotal`, `recordsFiltered` and
   `data`, a list of rows, each a list of HTML cells: posted date, letter issue date, a link to the
   letter with the company as its text, issuing office, subject, response letter, close-out
   letter, excerpt. The same object inside a Drupal command (an earlier guess) is read too.
2. A Drupal AJAX command list (`POST /views/ajax`, what a public scraper of fda.gov reads, as
   `datatables/views/ajax` is blocked for it): a JSON array of commands such as
   `{"command": "settings", ...}` and `{"command": "insert", "method": "replaceWith",
   "selector": ".js-view-dom-id-...", "data": "<div class=\"view ...\"> ... <table> ... </div>"}`.
   The insert's HTML holds the view's table: a header row naming the columns (Posted Date,
   Letter Issue Date, Company Name, Issuing Office, Subject, Response Letter, Closeout Letter,
   and optionally Excerpt), and one `<tr>` a letter whose `<td>`s hold what the JSON cells hold.
   Columns are found by their header, so a reordering is read right; a header that lacks one of
   them or names another is a SourceFailure naming the columns, never zero rows.

Counts. The JSON form states them. The HTML form states them only where the view renders a
summary ("Showing 1 to 100 of 3,374 entries", "Displaying 1 - 100 of 3374"); otherwise
`records_total` and `records_filtered` are None, and only the caller knows when its walk is
complete: at the first page holding fewer rows than it asked for (`length`), or none
(`ListingPage.ends_walk`). `parse_listing_page` refuses such a page (SourceFailure) unless called
with `require_count=False`, so a caller that pages by the count never mistakes it for the end.

Anything else (an HTML block or "apology" page, other JSON, a row whose cells no longer look like
this) is a SourceFailure: the listing changed or the source is failing, and nothing stored may
change because of it. Everything is bounded: the answer's size, its rows, each cell's length.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass

import lxml.html
from lxml import etree

from crawler.errors import SourceFailure
from crawler.extract.html import parse_text
from crawler.normalize.letters import ListingRow

MAX_LISTING_BYTES = 20 * 1024 * 1024
MAX_ROWS = 1000  # one answer's rows; a crawl asks for at most 500 (sources.fda_warning_letters.page_size)
MAX_CELL_CHARS = 20_000  # one cell's HTML (JSON form) or text (table form); an excerpt is the longest
MAX_TABLES = 20  # tables looked at in one command list
CELLS = 8  # posted, issued, company link, office, subject, response, close-out, excerpt
MIN_CELLS = 7  # the excerpt column is the one FDA may drop without the rest moving
#: The table form's columns, as their headers read once lower-cased and cut to letters.
COLUMNS = (
    "posteddate",
    "letterissuedate",
    "companyname",
    "issuingoffice",
    "subject",
    "responseletter",
    "closeoutletter",
)
OPTIONAL_COLUMNS = ("excerpt",)
_DATE = re.compile(r"\b(\d{2}/\d{2}/\d{4})\b")
_TAG = re.compile(r"<[^<>]*>")
_NOT_SIMPLE = re.compile(r"<!|<\?|<(?:script|style|template|textarea)\b", re.IGNORECASE)
_BLOCK_HINTS = ("access denied", "apology", "request unsuccessful", "incapsula", "reference #")
_HIDDEN = ("script", "style", "template", "textarea")
_SORT_NOTE = re.compile(r"sort(?:ed)?\s*(?:ascending|descending)|activate to sort.*", re.I)
_NOT_LETTERS = re.compile(r"[^a-z]+")
_C0 = dict.fromkeys([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F])
_NUMBER = r"(\d[\d,]{0,12})"
# DataTables' info line and Drupal Views' result summary, the two ways a rendered view states its count
_SUMMARY = re.compile(
    rf"\b(?:showing|displaying)\s+{_NUMBER}\s*(?:-|\u2013|to)\s*{_NUMBER}\s+of\s+{_NUMBER}"
    rf"(?:\s+entries)?(?:\s*\(\s*filtered\s+from\s+{_NUMBER}\s+total)?",
    re.IGNORECASE,
)
_SUMMARY_CHARS = 100_000  # text read outside the table, looking for the summary


@dataclass(frozen=True)
class ListingPage:
    """One answer of the listing. The counts are None only for a table that states none (module doc)."""

    draw: int | None
    records_total: int | None
    records_filtered: int | None
    rows: tuple[ListingRow, ...]

    def ends_walk(self, start: int, length: int) -> bool:
        """Whether this page, asked for with `start` and `length`, is the listing's last: by the
        stated count where there is one, else because it holds fewer rows than asked (or none).
        Whether an empty page is a failure (no rows where the count says there are) is the
        caller's to judge."""
        if not self.rows:
            return True
        if self.records_filtered is not None:
            return start + len(self.rows) >= self.records_filtered
        return len(self.rows) < length


def parse_listing_page(body: bytes, *, require_count: bool = True) -> ListingPage:
    """Parse one listing answer (either form). With `require_count` (the default) a page that
    states no count is a SourceFailure, so `records_total` and `records_filtered` are ints."""
    if len(body) > MAX_LISTING_BYTES:
        raise SourceFailure(f"listing answer of {len(body)} bytes is over the {MAX_LISTING_BYTES}-byte limit")
    document = _json(body)
    payload = _datatables_payload(document)
    page = _datatables_page(payload) if payload is not None else _commands_page(document)
    if require_count and page.records_filtered is None:
        raise SourceFailure(
            "listing answer states no row count (a Drupal command list with the view's table and "
            "no summary): it cannot be paged by its count"
        )
    return page


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


# -- the DataTables JSON form ------------------------------------------------------------------


def _datatables_payload(document: object) -> dict | None:
    if isinstance(document, dict):
        return document
    if isinstance(document, list):  # a Drupal AJAX command list may carry the DataTables payload
        for command in document:
            if isinstance(command, dict):
                for candidate in (command, command.get("data"), command.get("settings")):
                    if isinstance(candidate, dict) and "data" in candidate and "recordsTotal" in candidate:
                        return candidate
        return None
    raise SourceFailure("listing JSON is not a DataTables answer")


def _datatables_page(payload: dict) -> ListingPage:
    rows = payload.get("data")
    if not isinstance(rows, list):
        raise SourceFailure("listing JSON has no 'data' list")
    if len(rows) > MAX_ROWS:
        raise SourceFailure(f"listing answer has {len(rows)} rows, over the {MAX_ROWS}-row limit")
    total = _count(payload, "recordsTotal")
    filtered = _count(payload, "recordsFiltered") if "recordsFiltered" in payload else total
    draw = payload.get("draw")
    parsed = tuple(_json_row(number, cells) for number, cells in enumerate(rows, start=1))
    return ListingPage(
        draw=int(draw) if isinstance(draw, int | str) and str(draw).isdigit() else None,
        records_total=total,
        records_filtered=filtered,
        rows=parsed,
    )


def _count(payload: dict, key: str) -> int:
    value = payload.get(key)
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise SourceFailure(f"listing JSON has no numeric '{key}'")
    return int(value)


def _json_row(number: int, cells: object) -> ListingRow:
    if not isinstance(cells, list) or not MIN_CELLS <= len(cells) <= CELLS + 2:
        size = len(cells) if isinstance(cells, list) else type(cells).__name__
        raise SourceFailure(f"listing columns changed: row {number} has {size} cells, expected {CELLS}")
    if not all(isinstance(cell, str | type(None)) for cell in cells):
        raise SourceFailure(f"listing columns changed: row {number} has a cell that is not text")
    for cell in cells:
        _check_cell(number, cell)
    return _listing_row(
        number,
        posted=_text(cells[0]),
        issued=_text(cells[1]),
        link=_link(cells[2]),
        office=_text(cells[3]),
        subject=_text(cells[4]),
        response=_text(cells[5]),
        closeout=_text(cells[6]),
    )


def _check_cell(number: int, cell: str | None) -> None:
    if cell is not None and len(cell) > MAX_CELL_CHARS:
        raise SourceFailure(
            f"listing row {number} has a cell of {len(cell)} characters, over the {MAX_CELL_CHARS} limit"
        )


def _listing_row(
    number: int,
    *,
    posted: str | None,
    issued: str | None,
    link: tuple[str | None, str | None],
    office: str | None,
    subject: str | None,
    response: str | None,
    closeout: str | None,
) -> ListingRow:
    """The row record of either form, from each cell's text and the company cell's link."""
    url, company = link
    posted_date = _date_in(posted)
    if url is None or "/warning-letters/" not in url or posted_date is None:
        raise SourceFailure(
            f"listing columns changed: row {number} has no posted date and letter link where they were"
        )
    return ListingRow(
        url=url,
        posted_date=posted_date,
        letter_date=_date_in(issued),
        company=company,
        issuing_office=office,
        subject=subject,
        response_letter=_date_in(response),
        closeout_letter=_date_in(closeout),
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


def _date_in(text: str | None) -> str | None:
    """MM/DD/YYYY from a cell's text: a <time> element's text, or any date in the cell."""
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


# -- the Drupal command-list form --------------------------------------------------------------


def _commands_page(document: list) -> ListingPage:
    """The view's table in the command list's insert commands (module doc, form 2)."""
    names = [str(c.get("command"))[:40] for c in document[:20] if isinstance(c, dict)]
    views = [
        c["data"]
        for c in document
        if isinstance(c, dict) and c.get("command") == "insert" and isinstance(c.get("data"), str)
    ]
    best: tuple[int, etree._Element, list[str]] | None = None  # (columns known, table, headers)
    empty_view = False
    tables = 0
    for markup in views:
        lowered = markup.lower()
        if "<table" not in lowered:
            empty_view = empty_view or "view-empty" in lowered
            continue
        root = parse_text(markup.translate(_C0), "listing table HTML")
        etree.strip_elements(root, *_HIDDEN, with_tail=False)
        for table in root.iter("table"):
            tables += 1
            if tables > MAX_TABLES:
                raise SourceFailure(f"listing HTML holds over {MAX_TABLES} tables")
            headers = _headers(table)
            if headers is None:
                continue
            known = sum(_column_key(h) in COLUMNS for h in headers)
            if best is None or known > best[0]:
                best = (known, table, headers)
        if best is not None and best[0] == len(COLUMNS):
            break
    if best is None:
        if empty_view and not tables:  # the view rendered its "no results" text: zero rows, stated
            return ListingPage(draw=None, records_total=None, records_filtered=None, rows=())
        what = "a table with a header row" if tables else "the listing table"
        raise SourceFailure(
            f"listing JSON is not a DataTables answer nor a Drupal command list with {what} "
            f"(commands: {', '.join(names) or 'none'})"
        )
    _, table, headers = best
    columns = _columns(headers)
    rows = _table_rows(table, columns, len(headers))
    total, filtered = _stated_count(table)
    if filtered is not None and len(rows) > filtered:
        raise SourceFailure(f"listing table says it holds {filtered} letters but shows {len(rows)} rows")
    return ListingPage(draw=None, records_total=total, records_filtered=filtered, rows=rows)


def _element_text(element: etree._Element) -> str:
    return "".join(element.itertext())


def _headers(table: etree._Element) -> list[str] | None:
    """The header cells' texts: the thead's last row, else a first row of th cells."""
    head = table.xpath("./thead/tr[th or td]")
    if head:
        row = head[-1]
    else:
        first = table.xpath("(./tr | ./tbody/tr)[1]")
        if not first or first[0].xpath("./td") or not first[0].xpath("./th"):
            return None
        row = first[0]
    return [" ".join(_element_text(cell).split())[:200] for cell in row.xpath("./th | ./td")]


def _column_key(header: str) -> str:
    return _NOT_LETTERS.sub("", _SORT_NOTE.sub("", header).lower())


def _columns(headers: list[str]) -> dict[str, int]:
    """Column name -> index; a SourceFailure naming the columns unless they are the expected ones."""
    keys = [_column_key(h) for h in headers]
    missing = [c for c in COLUMNS if keys.count(c) != 1]
    unknown = [h for h, k in zip(headers, keys, strict=True) if k not in COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown:
        shown = ", ".join(repr(h[:60]) for h in headers[:16]) + (", ..." if len(headers) > 16 else "")
        raise SourceFailure(f"listing columns changed: the table's header reads {shown or 'nothing'}")
    return {key: index for index, key in enumerate(keys) if key in COLUMNS}


def _table_rows(table: etree._Element, columns: dict[str, int], width: int) -> tuple[ListingRow, ...]:
    body = [tr for tr in table.xpath("./tbody/tr | ./tr | ./tfoot/tr") if tr.xpath("./td")]
    if len(body) > MAX_ROWS:
        raise SourceFailure(f"listing answer has {len(body)} rows, over the {MAX_ROWS}-row limit")
    if len(body) == 1 and _is_empty_note(body[0]):
        return ()  # DataTables' or Views' "no data" row: one cell across the table, no letter
    rows = []
    for number, tr in enumerate(body, start=1):
        cells = tr.xpath("./td | ./th")
        if len(cells) != width:
            raise SourceFailure(
                f"listing columns changed: row {number} has {len(cells)} cells, the header {width}"
            )
        all_texts = [_element_text(cell).strip() for cell in cells]
        for text in all_texts:
            _check_cell(number, text)
        texts = {key: all_texts[index] or None for key, index in columns.items()}
        rows.append(
            _listing_row(
                number,
                posted=texts["posteddate"],
                issued=texts["letterissuedate"],
                link=_cell_link(cells[columns["companyname"]]),
                office=texts["issuingoffice"],
                subject=texts["subject"],
                response=texts["responseletter"],
                closeout=texts["closeoutletter"],
            )
        )
    return tuple(rows)


def _is_empty_note(tr: etree._Element) -> bool:
    cells = tr.xpath("./td | ./th")
    return len(cells) == 1 and (cells[0].get("colspan") or "1").strip() != "1" and not tr.xpath(".//a[@href]")


def _cell_link(cell: etree._Element) -> tuple[str | None, str | None]:
    for anchor in cell.iter("a"):
        href = anchor.get("href")
        if href:
            return href.strip(), _element_text(anchor).strip()
    return None, _element_text(cell).strip() or None


def _stated_count(table: etree._Element) -> tuple[int | None, int | None]:
    """(total, filtered) from the summary the view renders around its table, or (None, None)."""
    container = table.getroottree().getroot()  # the whole insert: the summary may sit above the table
    texts, size = [], 0
    for text in container.xpath(".//text()[not(ancestor::table)]"):
        texts.append(str(text))
        size += len(text)
        if size > _SUMMARY_CHARS:
            break
    match = _SUMMARY.search(" ".join(" ".join(texts).split()))
    if match is None:
        return None, None
    filtered = int(match.group(3).replace(",", ""))
    total = int(match.group(4).replace(",", "")) if match.group(4) else filtered
    return total, filtered
