"""The listing as a Drupal AJAX command list (`POST /views/ajax`) carrying the view's HTML table.

THE FIXTURE HERE IS WRITTEN BY US, NOT A CAPTURE: no real answer of fda.gov's `/views/ajax` is
saved. It is built from the real shape: the command list as Drupal renders it (a `settings`
command, then `insert` / `replaceWith` on the view's `.js-view-dom-id-<hash>` with the view's HTML
as `data`; Drupal's ReplaceCommand), the view parameters and the header texts a public scraper of
fda.gov sends and checks (chleogks1598-beep/fda-warning-letters, scripts/fda-common.mjs: Posted
Date, Letter Issue Date, Company Name; <tbody> rows of <td> cells, the letter link in a cell), and
Drupal Views' table markup. The cells are the ones the JSON form's fixtures use
(tests.fda_site.listing_cells) for real listing rows (tests/fixtures/fda/listing/).
"""

from __future__ import annotations

import json

import pytest

from crawler.errors import SourceFailure
from crawler.extract.listing_ajax import MAX_CELL_CHARS, MAX_ROWS, parse_listing_page
from tests.fda_site import DOM_ID, HEADERS, commands, listing_cells, real_listing_rows, view_table
from tests.unit.test_listing_ajax import answer

# real listing rows: a plain one, one with a response letter, one with "&" and a doubled space,
# one with a close-out
SLUGS = [
    "kimera-labs-inc-649343-09012023",
    "synaptent-llc-610683-11092021",
    "amwiner-raphe-holdings-llc-dba-raphegenerics-corp-698782-01292025",
    "tova-industries-llc-693241-10292024",
]


def real_cells() -> list[list[str]]:
    rows = real_listing_rows()
    return [listing_cells(rows[slug]) for slug in SLUGS]


def test_the_command_list_table_gives_the_rows_the_json_form_gives():
    cells = real_cells()
    from_table = parse_listing_page(commands(view_table(cells)), require_count=False)
    from_json = parse_listing_page(answer(cells, total=4))
    assert from_table.rows == from_json.rows
    kimera, synaptent, amwiner, tova = from_table.rows
    assert kimera.url.endswith("/warning-letters/kimera-labs-inc-649343-09012023")
    assert (kimera.posted_date, kimera.letter_date, kimera.company) == (
        "01/04/2024",
        "09/01/2023",
        "Kimera Labs, Inc.",
    )
    assert synaptent.response_letter == "02/01/2022" and synaptent.closeout_letter is None
    assert amwiner.company == "AmWiner & Raphe Holdings, LLC  dba rapheGenerics Corp"
    assert tova.closeout_letter == "12/03/2024"
    assert tova.issuing_office == "Human Foods Program"
    assert (from_table.draw, from_table.records_total, from_table.records_filtered) == (None, None, None)


def test_without_a_stated_count_the_walk_ends_at_a_short_page_and_the_default_refuses_it():
    cells = real_cells()
    page = parse_listing_page(commands(view_table(cells)), require_count=False)
    assert not page.ends_walk(start=0, length=4)  # a full page: ask for the next one
    assert page.ends_walk(start=300, length=5)  # fewer rows than asked: the last page
    with pytest.raises(SourceFailure, match="states no row count"):
        parse_listing_page(commands(view_table(cells)))


@pytest.mark.parametrize(
    ("summary", "total", "filtered"),
    [
        ("Showing 1 to 4 of 3,374 entries", 3374, 3374),
        ("Displaying 1 - 4 of 3374", 3374, 3374),
        ("Showing 1 to 4 of 120 entries (filtered from 3,374 total entries)", 3374, 120),
    ],
)
def test_a_stated_count_is_read(summary, total, filtered):
    page = parse_listing_page(commands(view_table(real_cells(), summary=summary)))
    assert (page.records_total, page.records_filtered, len(page.rows)) == (total, filtered, 4)
    assert not page.ends_walk(start=0, length=4) and page.ends_walk(start=filtered - 4, length=4)


def test_columns_are_found_by_their_header():
    order = [2, 0, 1, 3, 4, 6, 5]  # no excerpt column, the rest moved
    cells = [[row[i] for i in order] for row in real_cells()]
    headers = [HEADERS[i] for i in order]
    headers[1] = (
        '<a href="?order=field_final_posted_date&amp;sort=asc" title="sort by Posted Date">Posted Date</a>'
    )
    headers[5] = 'Close-out Letter<span class="visually-hidden">Sort descending</span>'
    page = parse_listing_page(commands(view_table(cells, headers)), require_count=False)
    assert page.rows == parse_listing_page(answer(real_cells())).rows


@pytest.mark.parametrize(
    ("headers", "shown"),
    [
        (HEADERS[:2] + HEADERS[3:], "'Posted Date', 'Letter Issue Date', 'Issuing Office'"),  # no company
        (HEADERS[:7] + ["FEI Number"], "'Closeout Letter', 'FEI Number'"),
        (["Date", "Firm", "Office", "Subject", "Response", "Closeout", "Excerpt"], "'Date', 'Firm'"),
    ],
)
def test_a_header_that_is_not_the_listings_is_a_failure_naming_its_columns(headers, shown):
    with pytest.raises(SourceFailure, match="listing columns changed: the table's header reads") as caught:
        parse_listing_page(commands(view_table(real_cells(), headers)), require_count=False)
    assert shown in str(caught.value)


def test_a_row_of_another_width_or_without_its_link_is_a_failure():
    cells = real_cells()
    cells[1] = cells[1][:6]
    with pytest.raises(SourceFailure, match="row 2 has 6 cells, the header 8"):
        parse_listing_page(commands(view_table(cells)), require_count=False)
    cells = real_cells()
    cells[0][2] = "Kimera Labs, Inc."  # the company without its letter link
    with pytest.raises(SourceFailure, match="row 1 has no posted date and letter link"):
        parse_listing_page(commands(view_table(cells)), require_count=False)


def test_an_empty_view_is_zero_rows_for_the_caller_to_judge():
    empty_row = '<tr class="odd"><td valign="top" colspan="8" class="dataTables_empty">No data available in table</td></tr>'
    table = view_table([]).replace("<tbody>", f"<tbody>{empty_row}")
    assert parse_listing_page(commands(table), require_count=False).rows == ()
    no_results = (
        f'<div class="view js-view-dom-id-{DOM_ID}"><div class="view-empty">No results found.</div></div>'
    )
    assert parse_listing_page(commands(no_results), require_count=False).rows == ()
    counted = view_table([], summary="Showing 0 to 0 of 0 entries").replace("<tbody>", f"<tbody>{empty_row}")
    page = parse_listing_page(commands(counted))
    assert (page.rows, page.records_filtered) == ((), 0)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'[{"command": "settings", "settings": {}}]', "not a DataTables answer nor a Drupal command list"),
        (
            json.dumps([{"command": "insert", "data": "<div><p>Page not found</p></div>"}]).encode(),
            "(commands: insert)",
        ),
        (
            json.dumps([{"command": "insert", "data": "<table><tr><td>x</td></tr></table>"}]).encode(),
            "with a table with a header row",
        ),
        (
            commands(view_table(real_cells(), summary="Showing 1 to 4 of 2 entries")),
            "holds 2 letters but shows 4",
        ),
    ],
)
def test_a_command_list_without_the_listing_is_a_failure(body, reason):
    with pytest.raises(SourceFailure, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parse_listing_page(body, require_count=False)


def test_hostile_table_cells_yield_text_only_and_are_bounded():
    cells = real_cells()
    cells[0][3] = "Division of Biological Products Operations I<script>document.write('01/01/1999')</script>"
    cells[0][4] = "Investigational\x00 Device Exemptions <!-- 01/01/1999 -->(IDE)"
    kimera = parse_listing_page(commands(view_table(cells)), require_count=False).rows[0]
    assert kimera.issuing_office == "Division of Biological Products Operations I"
    assert kimera.subject == "Investigational Device Exemptions (IDE)"

    cells[0][7] = "x" * (MAX_CELL_CHARS + 1)
    with pytest.raises(SourceFailure, match="row 1 has a cell of 20001 characters"):
        parse_listing_page(commands(view_table(cells)), require_count=False)

    many = real_cells()[:1] * (MAX_ROWS + 1)
    with pytest.raises(SourceFailure, match=f"{MAX_ROWS + 1} rows, over the {MAX_ROWS}-row limit"):
        parse_listing_page(commands(view_table(many)), require_count=False)
