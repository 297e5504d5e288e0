"""A replayable fda.gov: the warning-letter listing's DataTables answers and the letter pages.

The letter pages are saved responses (tests/fixtures/fda/site/, built to FDA's page structure
from real letters). The listing answers are generated from real listing rows, one page per
`start`/`length`, in the JSON and cell shapes FDA's endpoint uses, so a test can add a close-out
or drop a letter between two crawls.
"""

from __future__ import annotations

import csv
import html
import json
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from crawler.normalize.letters import LETTERS_PATH
from crawler.spiders.fda_warning_letters import LISTING_AJAX_PATH, LISTING_VIEWS_PATH
from tests.conftest import FIXTURES, LISTING_CSV, LISTING_JSON
from tests.replay import ReplayServer, replay_config_head, saved_file

PAGES = FIXTURES / "fda" / "site" / LETTERS_PATH.strip("/")
#: Real fda.gov letter pages (fda.gov's article markup as saved; MANIFEST.json names each source).
REAL_PAGES = FIXTURES / "fda" / "real" / "letters"


@dataclass(frozen=True)
class ListedLetter:
    slug: str
    posted: str  # MM/DD/YYYY
    issued: str
    company: str
    office: str
    subject: str
    response: str = ""
    closeout: str = ""


def real_listing_rows() -> dict[str, ListedLetter]:
    """Every real listing row by slug; the CSV's wording where both files have a letter."""
    rows: dict[str, ListedLetter] = {}
    for item in json.loads(LISTING_JSON.read_text(encoding="utf-8")):
        slug = item["companyUrl"].rstrip("/").rsplit("/", 1)[-1]
        rows[slug] = ListedLetter(
            slug,
            item["postedDate"],
            item["letterIssueDate"],
            item["companyName"],
            item["issuingOffice"],
            item["subject"],
            item["responseLetter"],
            item["closeoutLetter"],
        )
    with LISTING_CSV.open(newline="", encoding="utf-8") as handle:
        for item in csv.DictReader(handle):
            slug = item["url"].rstrip("/").rsplit("/", 1)[-1]
            old = rows.get(slug)
            rows[slug] = ListedLetter(
                slug,
                item["posted_date"],
                item["letter_date"],
                item["company"],
                item["issuing_office"],
                item["subject"],
                old.response if old else "",
                old.closeout if old else "",
            )
    return rows


def fixture_slugs() -> list[str]:
    return sorted(p.name.removesuffix(".html") for p in PAGES.glob("*.html") if p.name.count(".") == 1)


def real_slugs() -> list[str]:
    return sorted(p.stem for p in REAL_PAGES.glob("*.html"))


def _time(day: str) -> str:
    if not day:
        return ""
    iso = datetime.strptime(day, "%m/%d/%Y").date().isoformat()
    return f'<time datetime="{iso}T12:00:00Z">{day}</time>'


def listing_cells(letter: ListedLetter) -> list[str]:
    link = f'<a href="{LETTERS_PATH}{letter.slug}">{html.escape(letter.company)}</a>'
    return [
        _time(letter.posted),
        _time(letter.issued),
        link,
        html.escape(letter.office),
        html.escape(letter.subject),
        _time(letter.response),
        _time(letter.closeout),
        "",
    ]


def listing_answer(letters: list[ListedLetter], query: dict[str, str]) -> bytes:
    start, length = int(query.get("start", 0)), int(query.get("length", 10))
    ordered = sorted(
        letters, key=lambda item: (datetime.strptime(item.posted, "%m/%d/%Y"), item.slug), reverse=True
    )
    return json.dumps(
        {
            "draw": int(query.get("draw", 1)),
            "recordsTotal": len(ordered),
            "recordsFiltered": len(ordered),
            "data": [listing_cells(letter) for letter in ordered[start : start + length]],
        }
    ).encode()


# --- the listing as a Drupal AJAX command list (POST /views/ajax) --------------------------------
# WRITTEN BY US, NOT A CAPTURE: no answer of fda.gov's /views/ajax is saved anywhere we know of.
# Built from the real shape: Drupal's command list (a `settings` command, then `insert` /
# `replaceWith` on the view's `.js-view-dom-id-<hash>` with the view's HTML as `data`), Drupal
# Views' table markup, and the header texts a public scraper of fda.gov reads
# (chleogks1598-beep/fda-warning-letters); the cells are the JSON form's (listing_cells).

DOM_ID = "2e2d2c381ef0abd5df20f7cf2d8ac139acea1e178514f1f7bb44d25e2a7e0dba"
HEADERS = [
    "Posted Date",
    "Letter Issue Date",
    "Company Name",
    "Issuing Office",
    "Subject",
    "Response Letter",
    "Closeout Letter",
    "Excerpt",
]
FIELDS = [
    "field-final-posted-date",
    "field-letter-issue-datetime",
    "field-company-name-warning-lette",
    "field-building",
    "field-detailed-description-2",
    "field-response-letter",
    "field-closeout-letter",
    "field-excerpt",
]


def view_table(rows: list[list[str]], headers: list[str] = HEADERS, *, summary: str = "") -> str:
    """The view's HTML as Drupal Views renders a table display (written by us, see the module doc)."""
    head = "".join(
        f'\n        <th id="view-{field}-table-column" class="views-field views-{field}" scope="col">{name}</th>'
        for name, field in zip(headers, FIELDS, strict=False)
    )
    body = "".join(
        "\n      <tr>"
        + "".join(
            f'\n        <td headers="view-{field}-table-column" class="views-field views-{field}">{cell}          </td>'
            for cell, field in zip(row, FIELDS, strict=False)
        )
        + "\n      </tr>"
        for row in rows
    )
    header = f'\n  <div class="view-header">{summary}</div>' if summary else ""
    return (
        f'<div class="views-element-container"><div class="view view-warning-letter-solr-index '
        f'view-id-warning_letter_solr_index view-display-id-warning_letter_solr_block js-view-dom-id-{DOM_ID}">'
        f'{header}\n  <div class="view-content">\n'
        f'    <table class="views-table views-view-table cols-{len(headers)}">\n      <thead>\n      <tr>{head}\n'
        f"      </tr>\n      </thead>\n      <tbody>{body}\n      </tbody>\n    </table>\n  </div>\n</div></div>"
    )


def commands(view_html: str) -> bytes:
    """The command list `POST /views/ajax` answers: settings, then the view replacing itself."""
    return json.dumps(
        [
            {
                "command": "settings",
                "settings": {
                    "ajaxPageState": {"theme": "fda_theme", "libraries": "core/drupal.ajax,views/views.ajax"},
                    "views": {
                        "ajaxViews": {
                            f"views_dom_id:{DOM_ID}": {
                                "view_name": "warning_letter_solr_index",
                                "view_display_id": "warning_letter_solr_block",
                                "view_args": "",
                                "view_path": "/node/360089",
                                "view_dom_id": DOM_ID,
                                "pager_element": 0,
                            }
                        }
                    },
                },
                "merge": True,
            },
            {
                "command": "insert",
                "method": "replaceWith",
                "selector": f".js-view-dom-id-{DOM_ID}",
                "data": view_html,
                "settings": None,
            },
        ]
    ).encode()


def listing_commands(letters: list[ListedLetter], form: dict[str, str]) -> bytes:
    """One page of the listing as `POST /views/ajax` answers it: no row count, only rows."""
    start, length = int(form.get("start", 0)), int(form.get("length", 10))
    ordered = sorted(
        letters, key=lambda item: (datetime.strptime(item.posted, "%m/%d/%Y"), item.slug), reverse=True
    )
    return commands(view_table([listing_cells(letter) for letter in ordered[start : start + length]]))


class FdaSite:
    """The listing and letter pages of `letters`, served by a ReplayServer."""

    def __init__(self, server: ReplayServer, letters: list[ListedLetter], *, real: bool = False) -> None:
        """`real`: serve the real letter pages too, each at its own path."""
        self.server = server
        self.letters = list(letters)
        self.listing_override: tuple[int, dict[str, str], bytes] | None = None
        server.routes[LISTING_AJAX_PATH] = self._listing
        server.routes[LISTING_VIEWS_PATH] = self._listing_commands
        for page in PAGES.glob("*.html"):
            if page.name.count(".") == 1:
                server.routes[f"{LETTERS_PATH}{page.name.removesuffix('.html')}"] = saved_file(page)
        if real:
            for page in REAL_PAGES.glob("*.html"):
                server.routes[f"{LETTERS_PATH}{page.stem}"] = saved_file(page)

    def _listing(self, query: dict[str, str]):
        if self.listing_override is not None:
            return self.listing_override
        return 200, {"Content-Type": "application/json"}, listing_answer(self.letters, query)

    def _listing_commands(self, form: dict[str, str]):
        return 200, {"Content-Type": "application/json"}, listing_commands(self.letters, form)

    def close_out(self, slug: str, day: str) -> None:
        self.letters = [replace(item, closeout=day) if item.slug == slug else item for item in self.letters]

    def remove(self, slug: str) -> None:
        self.letters = [item for item in self.letters if item.slug != slug]


def site_letters(*, real: bool = False) -> list[ListedLetter]:
    """The real listing rows of every letter that has a saved page (`real`: real pages too)."""
    rows = real_listing_rows()
    slugs = sorted({*fixture_slugs(), *(real_slugs() if real else ())})
    return [rows[slug] for slug in slugs if slug in rows]


def write_config(path: Path, server: ReplayServer, database_url: str, **crawl: object) -> Path:
    """A config for crawling `server`: allow-listed, no delays, no retries unless `crawl` says."""
    path.write_text(
        replay_config_head(server, database_url, **crawl)
        + f'[sources.fda_warning_letters]\nbase_url = "{server.base_url}"\npage_size = 4\n',
        encoding="utf-8",
    )
    return path
