"""Builders for test inputs made to the real layouts."""

from __future__ import annotations

import contextlib
import signal
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


@contextlib.contextmanager
def cpu_time_limit(seconds: float):
    """TimeoutError once the process has used `seconds` of CPU time: a guard for inputs built to
    make a parser run away (exponential regex backtracking), never a measure of speed; the limit
    is orders of magnitude above the time a sound parser needs. SIGPROF, so pytest-timeout's
    SIGALRM is left alone; regular expressions check for signals, so a runaway match stops too."""

    def expire(_signum, _frame):
        raise TimeoutError(f"still running after {seconds} s of CPU time")

    previous = signal.signal(signal.SIGPROF, expire)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
