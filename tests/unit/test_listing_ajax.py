import json

import pytest

from crawler.errors import SourceFailure
from crawler.extract.listing_ajax import MAX_CELL_CHARS, MAX_ROWS, parse_listing_page

KIMERA = [
    '<time datetime="2024-01-04T12:00:00Z">01/04/2024</time>',
    '<time datetime="2023-09-01T12:00:00Z">09/01/2023</time>',
    '<a href="/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/'
    'kimera-labs-inc-649343-09012023">Kimera Labs, Inc.</a>',
    "Division of Biological Products Operations I",
    "Investigational Device Exemptions (IDE)",
    "",
    '<time datetime="2024-08-05T12:00:00Z">08/05/2024</time>',
    "",
]


def answer(rows, total=None, **extra) -> bytes:
    body = {"draw": 3, "recordsTotal": total if total is not None else len(rows), "data": rows, **extra}
    return json.dumps(body).encode()


def test_a_datatables_page_becomes_listing_rows():
    page = parse_listing_page(answer([KIMERA], total=3374, recordsFiltered=3374))
    assert (page.draw, page.records_total, page.records_filtered) == (3, 3374, 3374)
    [row] = page.rows
    assert row.url.endswith("/warning-letters/kimera-labs-inc-649343-09012023")
    assert (row.posted_date, row.letter_date, row.closeout_letter, row.response_letter) == (
        "01/04/2024",
        "09/01/2023",
        "08/05/2024",
        None,
    )
    assert row.company == "Kimera Labs, Inc."
    assert row.issuing_office == "Division of Biological Products Operations I"


def test_the_answer_may_come_wrapped_in_drupal_commands():
    wrapped = json.dumps(
        [{"command": "settings", "settings": {}}, {"command": "insert", "data": json.loads(answer([KIMERA]))}]
    )
    assert len(parse_listing_page(wrapped.encode()).rows) == 1


def test_escaped_and_plain_cells_are_read():
    row = list(KIMERA)
    row[0] = "01/04/2024"
    row[4] = "Unapproved Products &amp; &lt;Misbranded&gt;"
    [parsed] = parse_listing_page(answer([row])).rows
    assert parsed.posted_date == "01/04/2024"
    assert parsed.subject == "Unapproved Products & <Misbranded>"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            b"<html><title>Access Denied</title>Reference #18.abc</html>",
            "a block or apology page instead of JSON",
        ),
        (b"<!DOCTYPE html><html><body>Welcome</body></html>", "an HTML page instead of JSON"),
        (b'{"draw": 1, "recordsTotal": 5', "not valid JSON"),
        (b'{"draw": 1}', "no 'data' list"),
        (answer([KIMERA[:5]]), "listing columns changed: row 1 has 5 cells"),
        (answer([["x"] * 8]), "listing columns changed: row 1 has no posted date and letter link"),
        (answer([KIMERA[:2] + [123] + KIMERA[3:]]), "a cell that is not text"),
        (json.dumps({"data": [], "recordsTotal": "many"}).encode(), "no numeric 'recordsTotal'"),
        (b'[{"command": "alert"}]', "not a DataTables answer"),
    ],
)
def test_anything_else_is_a_source_failure(body, reason):
    with pytest.raises(SourceFailure, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parse_listing_page(body)


def test_hostile_cells_yield_text_only():
    row = list(KIMERA)
    row[0] = '<!-- 01/01/1999 --><time datetime="x">01/04/2024</time>'
    row[3] = "CBER<script>alert('01/01/1999')</script>"
    row[4] = "<b>Unapproved</b> &amp; <i>Misbranded</i>"
    [parsed] = parse_listing_page(answer([row])).rows
    assert parsed.posted_date == "01/04/2024"
    assert parsed.issuing_office == "CBER"
    assert parsed.subject == "Unapproved & Misbranded"


def test_json_rows_and_cells_are_bounded():
    with pytest.raises(SourceFailure, match=f"{MAX_ROWS + 1} rows, over the {MAX_ROWS}-row limit"):
        parse_listing_page(answer([KIMERA] * (MAX_ROWS + 1)))
    row = list(KIMERA)
    row[7] = "x" * (MAX_CELL_CHARS + 1)
    with pytest.raises(SourceFailure, match=f"row 1 has a cell of {MAX_CELL_CHARS + 1} characters"):
        parse_listing_page(answer([row]))


def test_the_walk_ends_where_the_stated_count_ends():
    page = parse_listing_page(answer([KIMERA] * 3, total=7))
    assert not page.ends_walk(start=3, length=3)
    assert page.ends_walk(start=4, length=3)
    assert parse_listing_page(answer([], total=7)).ends_walk(start=0, length=3)  # no rows: nothing after
