"""Builders for test inputs made to the real layouts."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

from crawler.extract.letter_exports import FDA_XLSX_HEADER

FDA = "https://www.fda.gov/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/"


def write_fda_xlsx(path: Path, rows: list[dict], *, links: bool = True) -> Path:
    """An XLSX in the layout of FDA's export; `links` puts the letter URL on the company cell."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(FDA_XLSX_HEADER)
    for row in rows:
        sheet.append([row.get(h, "") for h in FDA_XLSX_HEADER])
        if links and row.get("url"):
            sheet.cell(row=sheet.max_row, column=3).hyperlink = row["url"]
    workbook.save(path)
    return path
