"""The real labelled pages (../shared/data/real/flagging) and their one split by site.

The labels live in the shared folder, beside the project; the page texts are other people's
writing and never enter the repository: each is a stored public copy found by its record's
`query`, saved by a developer as `<texts>/<id>.txt` in a folder git ignores (`.cache/real-pages`
by default). A page whose text is absent is skipped and counted, never guessed.

The split is made once, at random with a fixed seed, by site: every page of one registrable
domain falls on one side, so that a clinic's wording learned on the development part cannot
reappear in the test part. The seed and the share are constants: changing either makes a new
test part, which must then be treated as read.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from crawler.normalize.clinics import registrable_domain
from monitor.errors import InputError
from monitor.rules.model import SITE_KINDS

LABEL_FILES = ("dev_en.jsonl", "dev_intl.jsonl")
DEFAULT_LABELS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real" / "flagging"
DEFAULT_TEXTS = Path(".cache") / "real-pages"
SPLIT_SEED = 20261207
TEST_SHARE = 0.3
PARTS = ("dev", "test")


@dataclass(frozen=True)
class LabelledPage:
    id: str
    url: str
    site: str
    language: str
    kind: str  # the site's kind as labelled: clinic, news, vendor... (monitor.rules.model.SITE_KINDS)
    label: str  # flag | no_flag
    severity: str  # high | medium | low | none


def load_labels(folder: Path = DEFAULT_LABELS) -> list[LabelledPage]:
    """Every labelled page of the shared files, in file order; a bad record is an InputError."""
    pages: list[LabelledPage] = []
    for name in LABEL_FILES:
        path = folder / name
        if not path.is_file():
            raise InputError(f"{path}: no such file (the shared labels of real pages)")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                pages.append(_record(line, f"{path}: line {number}"))
    ids = [page.id for page in pages]
    if len(set(ids)) != len(ids):
        raise InputError(f"{folder}: a page id is used twice")
    return pages


def load_label_file(path: Path) -> list[LabelledPage]:
    """The labelled pages of one JSONL file of the same form (the project's own extra labels)."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    lines = path.read_text(encoding="utf-8").splitlines()
    return [_record(line, f"{path}: line {n}") for n, line in enumerate(lines, 1) if line.strip()]


def _record(line: str, where: str) -> LabelledPage:
    try:
        item = json.loads(line)
    except ValueError as exc:
        raise InputError(f"{where}: not JSON ({exc})") from None
    if not isinstance(item, dict):
        raise InputError(f"{where}: not a JSON object")
    url, page_id = item.get("url"), item.get("id")
    site = registrable_domain(url) if isinstance(url, str) else None
    if not isinstance(page_id, str) or not page_id.isalnum() or site is None:
        raise InputError(f"{where}: needs an alphanumeric id and an http(s) url")
    label, severity = item.get("label"), item.get("severity")
    if label not in ("flag", "no_flag") or severity not in ("high", "medium", "low", "none"):
        raise InputError(f"{where}: label {label!r} / severity {severity!r} is not of the policy")
    kind = str(item.get("kind", ""))
    kind = kind if kind in SITE_KINDS else "other"
    return LabelledPage(page_id, url, site, str(item.get("language", "")), kind, label, severity)


def split(pages: Iterable[LabelledPage]) -> dict[str, list[LabelledPage]]:
    """{"dev": [...], "test": [...]}: whole sites, shuffled with SPLIT_SEED, go to the test part
    until it holds TEST_SHARE of the pages; the rest is the development part."""
    pages = list(pages)
    sites = sorted({page.site for page in pages})
    random.Random(SPLIT_SEED).shuffle(sites)
    wanted = round(len(pages) * TEST_SHARE)
    by_site: dict[str, list[LabelledPage]] = {}
    for page in pages:
        by_site.setdefault(page.site, []).append(page)
    test_sites: set[str] = set()
    taken = 0
    for site in sites:
        if taken >= wanted:
            break
        test_sites.add(site)
        taken += len(by_site[site])
    return {
        "dev": [page for page in pages if page.site not in test_sites],
        "test": [page for page in pages if page.site in test_sites],
    }


def page_text(page: LabelledPage, texts: Path = DEFAULT_TEXTS) -> str | None:
    """The saved text of `page`, or None when it was not saved (or is empty)."""
    path = texts / f"{page.id}.txt"
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8", errors="replace")
    return text if text.strip() else None
