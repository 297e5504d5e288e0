"""`exowatch import-letters`: backfill warning letters from listing exports.

Every file is read and validated before anything is written, so a bad row anywhere leaves the
store exactly as it was. Letters from all the files are merged by slug and written in batches;
the store decides per letter whether it is new, changed (a response or close-out date appeared)
or unchanged, and records the matching event.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from crawler.extract.letter_exports import ExportError, read_listing_export
from crawler.normalize.letters import ListingRow, letter_from_listing
from crawler.normalize.text import clean, parse_listing_date
from db.records import LetterRecord
from db.store import Store, UpsertReport
from monitor.errors import InputError
from monitor.leader import identity
from monitor.runs import close_dead_runs

RUN_SOURCE = "import-letters"


@dataclass
class ImportSummary:
    rows_per_file: dict[str, int] = field(default_factory=dict)
    letters: int = 0
    matched_without_link: int = 0
    unmatched_without_link: list[str] = field(default_factory=list)
    report: UpsertReport = field(default_factory=UpsertReport)


@dataclass(frozen=True)
class _Linkless:
    where: str
    row: ListingRow


def read_exports(paths: Sequence[str | Path]) -> tuple[list[LetterRecord], list[_Linkless], dict[str, int]]:
    """Parse and validate every file; raises InputError on the first bad file or row."""
    records: list[LetterRecord] = []
    linkless: list[_Linkless] = []
    counts: dict[str, int] = {}
    for path in paths:
        rows = 0
        try:
            for number, row in read_listing_export(path):
                rows += 1
                if not row.url:
                    linkless.append(_Linkless(f"{path}: row {number}", row))
                    continue
                try:
                    records.append(letter_from_listing(row))
                except ValueError as exc:
                    raise InputError(f"{path}: row {number}: {exc}") from None
        except ExportError as exc:
            raise InputError(str(exc)) from None
        if rows == 0:
            raise InputError(f"{path}: no letters in the file")
        counts[str(path)] = rows
    return records, linkless, counts


@dataclass
class ImportPlan:
    """Validated letters ready to store; building one writes nothing."""

    paths: list[str]
    records: list[LetterRecord]
    summary: ImportSummary


def plan_import(store: Store, paths: Sequence[str | Path]) -> ImportPlan:
    """Read and validate every file, and resolve rows without a link against the store."""
    records, linkless, counts = read_exports(paths)
    summary = ImportSummary(rows_per_file=counts)
    if linkless:
        records += _match_linkless(store, records, linkless, summary)
    summary.letters = len({r.slug for r in records})
    return ImportPlan([str(p) for p in paths], records, summary)


def run_import(
    store: Store, plan: ImportPlan, *, progress: Callable[[int], None] | None = None
) -> ImportSummary:
    """Write a plan's letters, recording the run in crawl_runs."""
    summary = plan.summary
    close_dead_runs(store)  # an import killed before (kill -9) left its run 'running'
    run_id = store.start_run(RUN_SOURCE, runner=identity("import"))
    source = f"{RUN_SOURCE} {', '.join(Path(p).name for p in plan.paths)}"[:200]
    try:
        summary.report = store.upsert_letters(plan.records, source=source, progress=progress)
    except BaseException as exc:
        store.finish_run(
            run_id, status="failed", seen=len(plan.records), error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise
    store.finish_run(run_id, status="ok", counts=summary.report.counts(), seen=len(plan.records))
    return summary


def import_letter_files(
    store: Store, paths: Sequence[str | Path], *, progress: Callable[[int], None] | None = None
) -> ImportSummary:
    return run_import(store, plan_import(store, paths), progress=progress)


def _match_linkless(
    store: Store, records: list[LetterRecord], linkless: list[_Linkless], summary: ImportSummary
) -> list[LetterRecord]:
    """FDA's own XLSX export has no letter links: find each row's letter by company and dates."""
    index = store.letters_by_listing_fields()
    for record in records:
        key = ((record.company_name or "").casefold(), record.letter_date, record.posted_date)
        if record.slug not in index.setdefault(key, []):
            index[key].append(record.slug)
    matched = []
    for item in linkless:
        try:
            key = (
                (clean(item.row.company, field="company") or "").casefold(),
                parse_listing_date(item.row.letter_date, field="letter issue date"),
                parse_listing_date(item.row.posted_date, field="posted date"),
            )
            slugs = index.get(key, [])
            if len(slugs) != 1:
                summary.unmatched_without_link.append(item.where)
                continue
            matched.append(letter_from_listing(item.row, slug=slugs[0]))
        except ValueError as exc:
            raise InputError(f"{item.where}: {exc}") from None
    summary.matched_without_link = len(matched)
    return matched
