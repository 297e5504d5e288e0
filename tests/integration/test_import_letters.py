"""`exowatch import-letters` end to end through the command line, on SQLite and PostgreSQL."""

import csv
import json
from datetime import date

import pytest
from sqlalchemy import select

from db.models import Event, WarningLetter
from monitor.cli import main
from tests.conftest import LISTING_CSV, LISTING_JSON
from tests.helpers import FDA, write_fda_xlsx


@pytest.fixture
def run(db_url, monkeypatch, capsys):
    """Run the CLI in-process against this test's database; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("EXOWATCH_DATABASE_URL", db_url)
    monkeypatch.delenv("EXOWATCH_CONFIG", raising=False)

    def invoke(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    assert invoke("init")[0] == 0
    return invoke


def snapshot(store):
    with store.engine.connect() as connection:
        return (
            [
                tuple(r)
                for r in connection.execute(select(WarningLetter.__table__).order_by(WarningLetter.id))
            ],
            [tuple(r) for r in connection.execute(select(Event.__table__).order_by(Event.id))],
        )


def slugs_in_files() -> set[str]:
    """Counted independently of the importer: last URL path segment of every row of both files."""
    with LISTING_CSV.open(newline="", encoding="utf-8") as handle:
        slugs = {row["url"].rstrip("/").split("/")[-1] for row in csv.DictReader(handle)}
    for row in json.loads(LISTING_JSON.read_text(encoding="utf-8")):
        slugs.add(row["companyUrl"].rstrip("/").split("/")[-1])
    return slugs


def test_both_real_listings_give_one_record_per_letter_and_reimport_adds_nothing(run, store):
    expected = len(slugs_in_files())
    assert expected == 4021
    code, out, err = run("import-letters", str(LISTING_CSV), str(LISTING_JSON))
    assert code == 0, err
    assert f"{expected} letters: {expected} new, 0 changed, 0 unchanged" in out
    counts = store.table_counts()
    assert counts["warning_letters"] == expected
    assert counts["events"] == expected
    first = snapshot(store)

    # again, in the other order and one file at a time: no rows, no events
    for path in (LISTING_JSON, LISTING_CSV):
        code, out, _ = run("import-letters", str(path))
        assert code == 0
        assert " 0 new, 0 changed," in out
    assert snapshot(store) == first

    with store.engine.connect() as connection:
        kimera = connection.execute(
            select(WarningLetter.__table__).where(WarningLetter.slug == "kimera-labs-inc-649343-09012023")
        ).one()
    assert kimera.marcs_cms_number == "649343"
    assert kimera.issuing_office == "Office of Biological Products Operations - Division 1"
    assert kimera.issuing_office_raw == "Division of Biological Products Operations I"


def test_a_file_that_adds_a_closeout_date_emits_letter_updated(run, store, tmp_path):
    assert run("import-letters", str(LISTING_CSV))[0] == 0
    events_before = store.table_counts()["events"]
    # the JSON export knows close-out dates the CSV lacks; take one letter both files share
    shared = next(
        row
        for row in json.loads(LISTING_JSON.read_text())
        if row["closeoutLetter"]
        and row["companyUrl"].endswith("-" + row["companyUrl"].split("-")[-1])
        and row["postedDate"].endswith(("2021", "2022", "2023", "2024"))
    )
    update = tmp_path / "update.json"
    update.write_text(json.dumps([shared]))
    code, out, _ = run("import-letters", str(update))
    assert code == 0
    assert "1 letters: 0 new, 1 changed, 0 unchanged" in out
    latest = store.latest_events(1)[0]
    assert latest.kind == "letter.updated"
    assert latest.subject_key == shared["companyUrl"].rsplit("/", 1)[-1]
    month, day, year = shared["closeoutLetter"].split("/")
    assert latest.summary["changes"]["closeout_letter_date"] == {"from": None, "to": f"{year}-{month}-{day}"}
    assert store.table_counts()["events"] == events_before + 1
    # the same file again: nothing
    assert "0 new, 0 changed, 1 unchanged" in run("import-letters", str(update))[1]
    assert store.table_counts()["events"] == events_before + 1


def test_fda_xlsx_export_with_links_and_without(run, store, tmp_path):
    assert run("import-letters", str(LISTING_CSV))[0] == 0
    with LISTING_CSV.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))[:3]

    def fda_row(row, **extra):
        return {
            "url": FDA + row["url"].rsplit("/", 1)[-1],
            "Posted Date": row["posted_date"],
            "Letter Issue Date": row["letter_date"],
            "Company Name": row["company"],
            "Issuing Office": row["issuing_office"],
            "Subject": row["subject"],
            **extra,
        }

    linked = write_fda_xlsx(tmp_path / "linked.xlsx", [fda_row(rows[0], **{"Response Letter": "04/01/2026"})])
    code, out, _ = run("import-letters", str(linked))
    assert code == 0 and "0 new, 1 changed, 0 unchanged" in out

    unlinked = write_fda_xlsx(
        tmp_path / "unlinked.xlsx",
        [
            fda_row(rows[1], **{"Closeout Letter": "04/02/2026"}),
            {
                "Posted Date": "01/01/2020",
                "Letter Issue Date": "01/01/2020",
                "Company Name": "Nobody Known LLC",
            },
        ],
        links=False,
    )
    code, out, _ = run("import-letters", str(unlinked))
    assert code == 0
    assert "1 matched to a known letter, 1 skipped" in out
    assert f"skipped {unlinked}: row 3" in out
    with store.engine.connect() as connection:
        closed = connection.execute(
            select(WarningLetter.closeout_letter_date).where(
                WarningLetter.slug == rows[1]["url"].rsplit("/", 1)[-1]
            )
        ).scalar_one()
    assert closed == date(2026, 4, 2)
    assert store.table_counts()["warning_letters"] == 3374


BAD_FILES = {
    "wrong-columns.csv": (b"name,when\nx,01/01/2024\n", "wrong columns"),
    "bad-date.csv": (
        b"url,posted_date,letter_date,company,issuing_office,subject\n"
        b"/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/a-123456-01012024,"
        b"01/09/2024,01/01/2024,A,CDER,CGMP\n"
        b"/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/b-123457-01012024,"
        b"31/31/2024,01/01/2024,B,CDER,CGMP\n",
        "row 3: posted date '31/31/2024' is not a date",
    ),
    "junk.csv": (bytes(range(256)) * 4, "binary data"),
    "empty.json": (b"", "the file is empty"),
    # valid JSON that no database can store: must be refused before anything is written
    "surrogate.json": (
        json.dumps(
            [
                {
                    "companyUrl": f"{FDA}zz-{700000 + i}-01012024",
                    "postedDate": "01/09/2024",
                    "letterIssueDate": "01/01/2024",
                    "companyName": "\ud800" if i == 699 else f"Firm {i}",
                    "issuingOffice": "CDER",
                    "subject": "CGMP",
                }
                for i in range(700)
            ]
        ).encode(),
        "row 700: company is not valid Unicode text",
    ),
}


@pytest.mark.parametrize("name", [*BAD_FILES, "missing.csv", "a-directory"])
def test_malformed_input_exits_2_with_one_line_and_changes_nothing(run, store, tmp_path, name):
    assert run("import-letters", str(LISTING_CSV))[0] == 0
    before = snapshot(store)
    runs_before = store.table_counts()["crawl_runs"]
    path = tmp_path / name
    if name in BAD_FILES:
        path.write_bytes(BAD_FILES[name][0])
        problem = BAD_FILES[name][1]
    elif name == "a-directory":
        path.mkdir()
        problem = "is a directory"
    else:
        problem = "no such file"
    # the bad file comes after a good one: the good one must not be half-imported either
    code, out, err = run("import-letters", str(LISTING_JSON), str(path))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"exowatch: error: {path}: ")
    assert problem in lines[0]
    assert "Traceback" not in err
    assert snapshot(store) == before
    assert store.table_counts()["crawl_runs"] == runs_before


def test_verbose_shows_the_traceback(run, tmp_path):
    code, _, err = run("-v", "import-letters", str(tmp_path / "absent.csv"))
    assert code == 2
    assert "Traceback" in err
    assert err.strip().splitlines()[-1].startswith("exowatch: error: ")


def test_large_imports_show_progress_on_stderr(run, tmp_path):
    code, out, err = run("import-letters", str(LISTING_CSV))
    assert code == 0
    progress = [line for line in err.splitlines() if line.startswith("storing letters: ")]
    assert 2 <= len(progress) <= 11
    assert progress[-1] == "storing letters: 3374/3374"
    assert "storing letters" not in out
    small = tmp_path / "one.json"
    small.write_text(json.dumps(json.loads(LISTING_JSON.read_text())[:1]))
    assert run("import-letters", str(small))[2] == ""
