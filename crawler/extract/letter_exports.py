"""Read warning-letter listing exports: the CSV and JSON layouts public tools save, and FDA's XLSX.

Each reader yields (row number, ListingRow) and raises ExportError naming the file and the row.
The format is told from the bytes, not the file name, so a renamed file is still read correctly
and a binary file posing as CSV is refused.
"""

from __future__ import annotations

import csv
import io
import json
import stat
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path

from crawler.normalize.letters import ListingRow

MAX_EXPORT_BYTES = 256 * 1024 * 1024
# openpyxl holds a whole workbook in memory at many times its XML size: FDA's full export is a few MB.
MAX_XLSX_UNPACKED_BYTES = 64 * 1024 * 1024
CSV_COLUMNS = ("url", "posted_date", "letter_date", "company", "issuing_office", "subject")
JSON_KEYS = ("companyUrl", "postedDate", "letterIssueDate", "companyName", "issuingOffice", "subject")
#: The header row of FDA's own XLSX export of the warning-letter listing.
FDA_XLSX_HEADER = (
    "Posted Date",
    "Letter Issue Date",
    "Company Name",
    "Issuing Office",
    "Subject",
    "Response Letter",
    "Closeout Letter",
)
XLSX_COLUMNS = tuple(h.lower() for h in FDA_XLSX_HEADER[:5])
XLSX_OPTIONAL = tuple(h.lower() for h in FDA_XLSX_HEADER[5:])
XLSX_URL_COLUMNS = ("url", "link", "letter url", "company url")
XLSX_HEADER_SEARCH_ROWS = 10


class ExportError(ValueError):
    """A listing export cannot be read; the message names the file and, where known, the row."""


def read_listing_export(path: str | Path) -> Iterator[tuple[int, ListingRow]]:
    """Yield (row number, row) from a CSV, JSON or XLSX listing export."""
    path = Path(path)
    data = _read_bytes(path)
    if data.startswith(b"PK\x03\x04"):
        yield from _read_xlsx(path, data)
        return
    text = _decode(path, data)
    if text.lstrip().startswith(("[", "{")):
        yield from _read_json(path, text)
    else:
        yield from _read_csv(path, text)


def _read_bytes(path: Path) -> bytes:
    """The whole file, refusing what is not a regular file (a FIFO would hang, /dev/zero never ends)."""
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise ExportError(f"{path}: is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise ExportError(f"{path}: not a regular file")
        if info.st_size > MAX_EXPORT_BYTES:
            raise ExportError(
                f"{path}: {info.st_size} bytes is larger than the {MAX_EXPORT_BYTES}-byte limit"
            )
        with path.open("rb") as handle:
            data = handle.read(MAX_EXPORT_BYTES + 1)
    except FileNotFoundError:
        raise ExportError(f"{path}: no such file") from None
    except OSError as exc:
        raise ExportError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(data) > MAX_EXPORT_BYTES:
        raise ExportError(f"{path}: larger than the {MAX_EXPORT_BYTES}-byte limit")
    if not data.strip():
        raise ExportError(f"{path}: the file is empty")
    return data


def _decode(path: Path, data: bytes) -> str:
    if b"\x00" in data:
        raise ExportError(f"{path}: binary data, not a CSV, JSON or XLSX listing")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ExportError(f"{path}: not UTF-8 text (bad byte at offset {exc.start})") from None


def _read_csv(path: Path, text: str) -> Iterator[tuple[int, ListingRow]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except csv.Error as exc:
        raise ExportError(f"{path}: row 1: malformed CSV ({exc})") from None
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise ExportError(
            f"{path}: wrong columns: missing {', '.join(missing)} "
            f"(expected {','.join(CSV_COLUMNS)}; found {','.join(header)[:200]})"
        )
    at = {name: header.index(name) for name in CSV_COLUMNS}
    line = 1
    try:
        for line, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise ExportError(f"{path}: row {line}: {len(cells)} fields, the header has {len(header)}")
            yield (
                line,
                ListingRow(
                    url=cells[at["url"]],
                    posted_date=cells[at["posted_date"]],
                    letter_date=cells[at["letter_date"]],
                    company=cells[at["company"]],
                    issuing_office=cells[at["issuing_office"]],
                    subject=cells[at["subject"]],
                ),
            )
    except csv.Error as exc:
        raise ExportError(f"{path}: row {line + 1}: malformed CSV ({exc})") from None


def _read_json(path: Path, text: str) -> Iterator[tuple[int, ListingRow]]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ExportError(
            f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise ExportError(f"{path}: JSON nested too deeply to be a listing") from None
    except ValueError as exc:  # e.g. a number longer than Python's integer-digit limit
        raise ExportError(f"{path}: invalid JSON ({str(exc)[:80]})") from None
    if isinstance(document, dict) and isinstance(document.get("data"), list):
        document = document["data"]
    if not isinstance(document, list):
        raise ExportError(f"{path}: expected a JSON list of letters, found {type(document).__name__}")
    if not document:
        raise ExportError(f"{path}: the JSON list holds no letters")
    for number, item in enumerate(document, start=1):
        if not isinstance(item, dict):
            raise ExportError(f"{path}: row {number}: expected an object, found {type(item).__name__}")
        missing = [k for k in JSON_KEYS if k not in item]
        if missing:
            raise ExportError(f"{path}: row {number}: wrong keys: missing {', '.join(missing)}")
        bad = [
            k
            for k in (*JSON_KEYS, "responseLetter", "closeoutLetter")
            if item.get(k) is not None and not isinstance(item[k], str)
        ]
        if bad:
            raise ExportError(f"{path}: row {number}: {bad[0]} must be a string")
        yield (
            number,
            ListingRow(
                url=item["companyUrl"],
                posted_date=item["postedDate"],
                letter_date=item["letterIssueDate"],
                company=item["companyName"],
                issuing_office=item["issuingOffice"],
                subject=item["subject"],
                response_letter=item.get("responseLetter"),
                closeout_letter=item.get("closeoutLetter"),
            ),
        )


def _read_xlsx(path: Path, data: bytes) -> Iterator[tuple[int, ListingRow]]:
    # Imported here: openpyxl is only needed for spreadsheets.
    from openpyxl import load_workbook

    try:
        unpacked = sum(member.file_size for member in zipfile.ZipFile(io.BytesIO(data)).infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ExportError(f"{path}: not a readable XLSX workbook ({exc})") from None
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise ExportError(
            f"{path}: unpacks to {unpacked} bytes, over the {MAX_XLSX_UNPACKED_BYTES}-byte limit"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles FDA's export lacks
            # Not read-only: only a full load exposes the hyperlinks that carry letter URLs.
            workbook = load_workbook(io.BytesIO(data), data_only=True)
            sheet = workbook.worksheets[0]
    except Exception as exc:  # noqa: BLE001 - a corrupt part can fail in any of openpyxl's parsers
        reason = " ".join(str(exc).split())[:120] or type(exc).__name__
        raise ExportError(f"{path}: not a readable XLSX workbook ({reason})") from None
    rows = sheet.iter_rows()
    header, header_number = _find_xlsx_header(path, rows)
    at = {
        name: header.index(name)
        for name in (*XLSX_COLUMNS, *XLSX_OPTIONAL, *XLSX_URL_COLUMNS)
        if name in header
    }
    url_column = next((at[c] for c in XLSX_URL_COLUMNS if c in at), None)
    for number, cells in enumerate(rows, start=header_number + 1):
        values = [c.value for c in cells]
        if not any(v not in (None, "") for v in values):
            continue

        def cell(name: str, values=values):
            index = at.get(name)
            return values[index] if index is not None and index < len(values) else None

        company_cell = cells[at["company name"]]
        url = values[url_column] if url_column is not None else None
        if not url and company_cell.hyperlink is not None:
            url = company_cell.hyperlink.target
        yield (
            number,
            ListingRow(
                url=str(url) if url else None,
                posted_date=cell("posted date"),
                letter_date=cell("letter issue date"),
                company=cell("company name"),
                issuing_office=cell("issuing office"),
                subject=cell("subject"),
                response_letter=cell("response letter"),
                closeout_letter=cell("closeout letter"),
            ),
        )


def _find_xlsx_header(path: Path, rows: Iterator[tuple]) -> tuple[list[str], int]:
    """The header row and its number: the first of the first ten rows that names every column
    (an export may put a title or a date line above the table)."""
    first: list[str] | None = None
    for number, cells in enumerate(rows, start=1):
        header = [" ".join(str(c.value or "").split()).lower() for c in cells]
        if all(column in header for column in XLSX_COLUMNS):
            return header, number
        if first is None and any(header):
            first = header
        if number == XLSX_HEADER_SEARCH_ROWS:
            break
    if first is None:
        raise ExportError(f"{path}: the workbook's first sheet is empty")
    missing = ", ".join(c for c in XLSX_COLUMNS if c not in first)
    found = ", ".join(h for h in first if h)[:200]
    raise ExportError(f"{path}: wrong columns: missing {missing} (found {found})")
