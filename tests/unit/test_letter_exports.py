import json
from datetime import datetime

import pytest

from crawler.extract.letter_exports import ExportError, read_listing_export
from tests.conftest import LISTING_CSV, LISTING_JSON
from tests.helpers import FDA, write_fda_xlsx

CSV_HEADER = "url,posted_date,letter_date,company,issuing_office,subject\n"


def rows(path):
    return list(read_listing_export(path))


def test_real_csv_and_json_layouts_are_read_whole():
    csv_rows = rows(LISTING_CSV)
    json_rows = rows(LISTING_JSON)
    assert len(csv_rows) == 3374
    assert len(json_rows) == 3202
    number, first = csv_rows[0]
    assert number == 2
    assert first.url.endswith("/patcos-cosmetics-pvt-ltd-718220-03122026")
    assert first.company == "Patcos Cosmetics Pvt. Ltd."
    closed = [r for _, r in json_rows if r.closeout_letter]
    assert len(closed) == 402


def test_fda_xlsx_export_reads_dates_cells_and_hyperlinks(tmp_path):
    path = write_fda_xlsx(
        tmp_path / "export.xlsx",
        [
            {
                "url": FDA + "a-co-123456-01022024",
                "Posted Date": "01/09/2024",
                "Letter Issue Date": datetime(2024, 1, 2),
                "Company Name": "A Co",
                "Issuing Office": "CDER",
                "Subject": "CGMP",
                "Closeout Letter": "05/05/2024",
            },
            {"Posted Date": "01/09/2024", "Letter Issue Date": "01/02/2024", "Company Name": "B Co"},
        ],
    )
    (n1, first), (n2, second) = rows(path)
    assert (n1, n2) == (2, 3)
    assert first.url == FDA + "a-co-123456-01022024"
    assert first.letter_date == datetime(2024, 1, 2)
    assert first.closeout_letter == "05/05/2024"
    assert second.url is None


def test_renamed_file_is_read_by_its_content(tmp_path):
    path = tmp_path / "letters.txt"
    path.write_text(
        json.dumps(
            [
                {
                    "companyUrl": FDA + "x-123456-01012024",
                    "postedDate": "",
                    "letterIssueDate": "",
                    "companyName": "X",
                    "issuingOffice": "",
                    "subject": "",
                }
            ]
        )
    )
    assert rows(path)[0][1].url.endswith("x-123456-01012024")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "the file is empty"),
        (b"  \n\n", "the file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "binary data"),
        (b"\xff\xfe\xfa junk", "not UTF-8 text"),
        (b"name,date\nx,y\n", "wrong columns: missing url, posted_date"),
        ((CSV_HEADER + "a,b\n").encode(), "row 2: 2 fields, the header has 6"),
        (b'[{"companyUrl": "x"}]', "row 1: wrong keys: missing postedDate"),
        (b"[1, 2]", "row 1: expected an object"),
        (b'{"draw": 1}', "expected a JSON list of letters"),
        (b"[", "invalid JSON at line 1"),
        (b"[]", "holds no letters"),
        (b"PK\x03\x04 not really a zip", "not a readable XLSX workbook"),
        (b"[" * 200_000, "JSON nested too deeply"),
        (b"[" + b"1" * 5000 + b"]", "invalid JSON (Exceeds the limit"),
        (b"url,posted_date,letter_date,company,issuing_office,subject\n" + b"x" * 200_000, "malformed CSV"),
    ],
)
def test_malformed_exports_name_the_file_and_the_problem(tmp_path, content, problem):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(ExportError) as caught:
        rows(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert problem in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ExportError, match="no such file"):
        rows(tmp_path / "absent.csv")
    with pytest.raises(ExportError, match="is a directory"):
        rows(tmp_path)


def test_xlsx_with_wrong_columns(tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["Date", "Firm"])
    workbook.save(tmp_path / "x.xlsx")
    with pytest.raises(ExportError, match="wrong columns: missing posted date, letter issue date"):
        rows(tmp_path / "x.xlsx")


def test_xlsx_that_unpacks_past_the_limit_is_refused(tmp_path, monkeypatch):
    import crawler.extract.letter_exports as exports

    path = write_fda_xlsx(tmp_path / "big.xlsx", [{"Company Name": "x" * 2000}] * 50)
    monkeypatch.setattr(exports, "MAX_XLSX_UNPACKED_BYTES", path.stat().st_size + 1)
    with pytest.raises(ExportError, match="unpacks to .* bytes, over the"):
        rows(path)


def test_xlsx_header_below_a_title_row_is_found(tmp_path):
    from openpyxl import Workbook

    from crawler.extract.letter_exports import FDA_XLSX_HEADER

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Warning Letters - exported 03/17/2026"])
    sheet.append([])
    sheet.append(["Letter URL", *FDA_XLSX_HEADER])
    sheet.append([FDA + "a-co-123456-01022024", "01/09/2024", "01/02/2024", "A Co", "CDER", "CGMP", "", ""])
    workbook.save(tmp_path / "titled.xlsx")
    [(number, row)] = rows(tmp_path / "titled.xlsx")
    assert number == 4
    assert row.url == FDA + "a-co-123456-01022024"
    assert row.company == "A Co"


def test_empty_xlsx_sheet(tmp_path):
    from openpyxl import Workbook

    Workbook().save(tmp_path / "empty.xlsx")
    with pytest.raises(ExportError, match="first sheet is empty"):
        rows(tmp_path / "empty.xlsx")


def test_corrupt_xlsx_parts_are_named_not_crashed(tmp_path):
    import zipfile

    good = write_fda_xlsx(tmp_path / "good.xlsx", [{"Company Name": "A"}])
    for part, content in (
        ("xl/worksheets/sheet1.xml", b"<worksheet><sheetData><row"),
        ("xl/workbook.xml", b"<<"),
    ):
        broken = tmp_path / f"broken-{part.replace('/', '_')}.xlsx"
        with zipfile.ZipFile(good) as source, zipfile.ZipFile(broken, "w") as target:
            for item in source.infolist():
                target.writestr(item, content if item.filename == part else source.read(item))
        with pytest.raises(ExportError, match="not a readable XLSX workbook"):
            rows(broken)


def test_special_files_are_refused(tmp_path):
    import os

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ExportError, match="not a regular file"):
        rows(fifo)
    with pytest.raises(ExportError, match="not a regular file"):
        rows("/dev/zero")


def test_spreadsheet_dates_out_of_range_are_refused(tmp_path):
    from crawler.normalize.letters import letter_from_listing

    path = write_fda_xlsx(
        tmp_path / "old.xlsx",
        [{"url": FDA + "a-co-123456-01022024", "Posted Date": datetime(1, 1, 1), "Company Name": "A"}],
    )
    [(_, row)] = rows(path)
    with pytest.raises(ValueError, match="posted date 0001-01-01 is out of range"):
        letter_from_listing(row)
