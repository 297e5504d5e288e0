"""Rebuild demo/data/ from the real FDA listings in tests/fixtures/ (run by hand, output committed).

The demo imports three real-data files the way a user would backfill a new store, then crawls the
replayed fda.gov, which serves a page for every letter it lists (the built pages of
tests/fixtures/fda/site and the real ones of tests/fixtures/fda/real/letters): the rows sampled
here are of those letters only, so that every letter of the demo gets its body.
  listing_sample.csv  - rows of the 2021-2026 CSV listing of letters with a page, but for the
                        NEW_IN_CRAWL newest, which the demo's crawl finds as new letters;
  listing_sample.json - rows of the 2020-2025 JSON listing: those the CSV sample also holds (the
                        overlap must give one record per letter) plus the 2020 letters with a page;
  fda_export_sample.xlsx - FDA's XLSX export layout, for sampled letters whose close-out letter
                        the JSON listing records: it adds those dates (letter.updated events).
                        Three rows carry no link and are matched by company and dates.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from openpyxl import Workbook

from crawler.extract.letter_exports import FDA_XLSX_HEADER

ROOT = Path(__file__).resolve().parents[1]
LISTINGS = ROOT / "tests" / "fixtures" / "fda" / "listing"
OUT = ROOT / "demo" / "data"
FDA = "https://www.fda.gov/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/"
PAGES = ROOT / "tests" / "fixtures" / "fda"
#: The newest letters with a page left out of the backfill: the demo's crawl finds them new.
NEW_IN_CRAWL = 6


def served() -> set[str]:
    """The letters the demo's replayed fda.gov has a page for."""
    site = PAGES / "site" / FDA.split("www.fda.gov/", 1)[1].rstrip("/")
    built = {p.name.removesuffix(".html") for p in site.glob("*.html") if p.name.count(".") == 1}
    return built | {p.stem for p in (PAGES / "real" / "letters").glob("*.html")}


def slug(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def main() -> None:
    with (LISTINGS / "warning_letters_2021_2026.csv").open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames
        csv_rows = list(reader)
    json_rows = json.loads((LISTINGS / "warning_letters_2020_2025.json").read_text(encoding="utf-8"))

    pages = served()
    with_page = [r for r in csv_rows if slug(r["url"]) in pages]  # the listing is newest first
    chosen = {slug(r["url"]): r for r in with_page[NEW_IN_CRAWL:]}
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / "listing_sample.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(chosen.values())

    in_csv = [r for r in json_rows if slug(r["companyUrl"]) in chosen]
    overlap = [r for r in in_csv if not r["closeoutLetter"]]
    closed = [r for r in in_csv if r["closeoutLetter"]]
    older = [r for r in json_rows if r["postedDate"].endswith("2020") and slug(r["companyUrl"]) in pages]
    (OUT / "listing_sample.json").write_text(json.dumps(overlap + older, indent=1) + "\n", encoding="utf-8")

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Warning Letters"
    sheet.append(FDA_XLSX_HEADER)
    for number, row in enumerate(closed[:25]):
        sheet.append(
            [
                row["postedDate"],
                row["letterIssueDate"],
                row["companyName"],
                row["issuingOffice"],
                row["subject"],
                row["responseLetter"],
                row["closeoutLetter"],
            ]
        )
        if number >= 3:  # the first three rows have no link, as in FDA's own export
            sheet.cell(row=sheet.max_row, column=3).hyperlink = FDA + slug(row["companyUrl"])
    workbook.save(OUT / "fda_export_sample.xlsx")
    print(f"{len(chosen)} CSV rows, {len(overlap) + len(older)} JSON rows, {min(len(closed), 25)} XLSX rows")


if __name__ == "__main__":
    main()
