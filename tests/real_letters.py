"""Field agreement of the letter extractor with FDA's own listing, on real fda.gov letter pages.

The pages are real captures (tests/fixtures/fda/real/letters, MANIFEST.json names the source of
each); the truth is independent of them: FDA's listing exports (tests/fixtures/fda/listing), which
give company, letter date, issuing office and the letter's URL (its slug ends in the MARCS-CMS
number) for 4,021 letters. A page whose slug is in neither export is extracted but not scored.

Comparison rules, chosen so that only a real disagreement counts:

* company: Unicode NFKC, case folded, curly quotes made straight, dashes unified, whitespace
  collapsed, a final period dropped ("Inc." / "Inc");
* letter date: the same calendar date;
* issuing office: the same canonical office (crawler.normalize.offices: the listing spells one
  office many ways, "Center for Drug Evaluation and Research | CDER" / "... (CDER)");
* MARCS-CMS number: the page's number equals the number in the listing row's URL.

A field agrees when it matches a listing row of that slug (the two exports overlap; where they
differ, either counts). Every disagreement must carry a reason in KNOWN_DISAGREEMENTS.

    .venv/bin/python -m tests.real_letters     # rewrites AGREEMENT.md beside the pages
"""

from __future__ import annotations

import csv
import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from crawler.errors import SourceFailure
from crawler.extract.letter_page import LetterPage, parse_letter_page
from crawler.normalize.letters import marcs_cms_number
from crawler.normalize.offices import canonical_office
from crawler.normalize.text import parse_listing_date, unify_dashes

HERE = Path(__file__).parent
REAL_LETTERS = HERE / "fixtures" / "fda" / "real" / "letters"
MANIFEST = REAL_LETTERS / "MANIFEST.json"
REPORT = REAL_LETTERS / "AGREEMENT.md"
LISTING_CSV = HERE / "fixtures" / "fda" / "listing" / "warning_letters_2021_2026.csv"
LISTING_JSON = HERE / "fixtures" / "fda" / "listing" / "warning_letters_2020_2025.json"
FDA = "https://www.fda.gov/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/"
FIELDS = ("company", "letter_date", "issuing_office", "marcs_cms")
GOAL = 0.99

#: (slug, field) -> why the page and the listing differ, found by reading both.
KNOWN_DISAGREEMENTS: dict[tuple[str, str], str] = {}

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u00b4": "'"})


@dataclass(frozen=True)
class ListingRow:
    company: str
    letter_date: str  # MM/DD/YYYY
    office: str
    url: str


@dataclass(frozen=True)
class Outcome:
    slug: str
    page: LetterPage | None
    error: str | None
    rows: tuple[ListingRow, ...]
    verdicts: dict  # field -> (agrees, page value, listing values)


def manifest() -> list[dict]:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))["pages"]


def listing_rows() -> dict[str, list[ListingRow]]:
    """Every listing row of both exports, by the slug of its letter URL."""
    rows: dict[str, list[ListingRow]] = {}
    with LISTING_CSV.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            url = row["url"]
            rows.setdefault(_slug(url), []).append(
                ListingRow(row["company"], row["letter_date"], row["issuing_office"], url)
            )
    for row in json.loads(LISTING_JSON.read_text(encoding="utf-8")):
        url = row["companyUrl"]
        rows.setdefault(_slug(url), []).append(
            ListingRow(row["companyName"], row["letterIssueDate"], row["issuingOffice"], url)
        )
    return rows


def _slug(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1].lower()


def fold_company(name: str | None) -> str:
    text = unify_dashes(unicodedata.normalize("NFKC", name or "")).translate(_QUOTES).casefold()
    return " ".join(text.split()).rstrip(".")


def score(slug: str, rows: list[ListingRow]) -> Outcome:
    try:
        page = parse_letter_page((REAL_LETTERS / f"{slug}.html").read_bytes(), FDA + slug)
    except SourceFailure as exc:
        return Outcome(slug, None, str(exc), tuple(rows), {})
    verdicts = {}
    if rows:
        page_values = {
            "company": page.company_name,
            "letter_date": page.letter_date.isoformat() if page.letter_date else None,
            "issuing_office": canonical_office(page.issuing_office_raw),
            "marcs_cms": page.marcs_cms_number,
        }
        truths = {
            "company": [r.company for r in rows],
            "letter_date": [_iso(r.letter_date) for r in rows],
            "issuing_office": [canonical_office(r.office) for r in rows],
            "marcs_cms": [marcs_cms_number(_slug(r.url)) for r in rows],
        }
        for field in FIELDS:
            got, want = page_values[field], truths[field]
            if field == "company":
                agrees = fold_company(got) in {fold_company(w) for w in want}
            else:
                agrees = got is not None and got in want
            verdicts[field] = (agrees, got, tuple(dict.fromkeys(want)))
    return Outcome(slug, page, None, tuple(rows), verdicts)


def _iso(mdy: str) -> str | None:
    try:
        parsed = parse_listing_date(mdy)
    except ValueError:
        return None
    return parsed.isoformat() if parsed else None


def outcomes() -> list[Outcome]:
    rows = listing_rows()
    return [score(entry["slug"], rows.get(entry["slug"], [])) for entry in manifest()]


def agreement(results: list[Outcome]) -> dict[str, tuple[int, int]]:
    """field -> (agreeing pages, scored pages)."""
    scored = [r for r in results if r.verdicts]
    return {f: (sum(r.verdicts[f][0] for r in scored), len(scored)) for f in FIELDS}


def disagreements(results: list[Outcome]) -> list[tuple[str, str, object, tuple]]:
    return [
        (r.slug, field, got, want)
        for r in results
        for field, (agrees, got, want) in r.verdicts.items()
        if not agrees
    ]


def report(results: list[Outcome]) -> str:
    figures = agreement(results)
    failed = [r for r in results if r.error]
    lines = [
        "# Letter extraction against FDA's listing, on real fda.gov pages",
        "",
        "Generated by `.venv/bin/python -m tests.real_letters` (tests/real_letters.py says how fields",
        "are compared); `tests/unit/test_real_letter_pages.py` checks that this file is current.",
        "",
        f"Pages: {len(results)}; extracted: {len(results) - len(failed)}; "
        f"with a listing row (scored): {figures['company'][1]}.",
        "",
        "| field | agree | scored | agreement |",
        "|---|---|---|---|",
    ]
    for field, (agree, total) in figures.items():
        ratio = agree / total if total else 0.0
        lines.append(f"| {field} | {agree} | {total} | {ratio:.1%} |")
    lines += ["", "## Disagreements", ""]
    found = disagreements(results)
    if not found:
        lines.append("None.")
    for slug, field, got, want in found:
        reason = KNOWN_DISAGREEMENTS.get((slug, field), "NOT EXPLAINED")
        lines.append(f"- `{slug}` {field}: page {got!r}, listing {' / '.join(map(repr, want))}: {reason}")
    lines += ["", "## Pages that did not extract", ""]
    lines += [f"- `{r.slug}`: {r.error}" for r in failed] or ["None."]
    unscored = [r.slug for r in results if not r.error and not r.verdicts]
    lines += ["", "## Extracted, not in either listing export (not scored)", ""]
    lines += [f"- `{slug}`" for slug in unscored] or ["None."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    text = report(outcomes())
    REPORT.write_text(text, encoding="utf-8")
    print(text)
