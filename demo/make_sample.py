"""Rebuild demo/data/ from the real FDA listings in tests/fixtures/ (run by hand, output committed).

The demo imports three real-data files the way a user would backfill a new store:
  listing_sample.csv  - rows of the 2021-2026 CSV listing: every letter from a biologics office
                        (where exosome and stem-cell letters come from) plus the newest 150 rows;
  listing_sample.json - rows of the 2020-2025 JSON listing: those the CSV sample also holds (the
                        overlap must give one record per letter) plus 60 letters from 2020;
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


def slug(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def main() -> None:
    with (LISTINGS / "warning_letters_2021_2026.csv").open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames
        csv_rows = list(reader)
    json_rows = json.loads((LISTINGS / "warning_letters_2020_2025.json").read_text(encoding="utf-8"))

    biologics = [r for r in csv_rows if "biolog" in r["issuing_office"].lower()]
    chosen = {slug(r["url"]): r for r in biologics + csv_rows[:150]}
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / "listing_sample.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(chosen.values())

    in_csv = [r for r in json_rows if slug(r["companyUrl"]) in chosen]
    overlap = [r for r in in_csv if not r["closeoutLetter"]]
    closed = [r for r in in_csv if r["closeoutLetter"]]
    older = [r for r in json_rows if r["postedDate"].endswith("2020")][:60]
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
