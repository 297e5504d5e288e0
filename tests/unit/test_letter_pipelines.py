"""The letters crawl's pipelines on their own: tags added to a page, and the store pipeline's
bookkeeping (a page before its row, a failed page read later, a redirect to another letter)."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy.utils.test import get_crawler

from crawler.extract.letter_page import parse_letter_page
from crawler.items import LetterPageFailedItem, LetterPageItem, ListedLetterItem
from crawler.normalize.letters import LETTERS_PATH, ListingRow
from crawler.pipelines.letter_store import LetterStorePipeline
from crawler.pipelines.letter_tags import LetterTagPipeline

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "fda" / "real" / "letters"
SLUG = "chara-biologics-inc-698004-01172025"


@pytest.fixture(scope="module")
def page():
    url = f"https://www.fda.gov{LETTERS_PATH}{SLUG}"
    return parse_letter_page((REAL / f"{SLUG}.html").read_bytes(), url)


def row(slug: str) -> ListingRow:
    return ListingRow(url=f"{LETTERS_PATH}{slug}", company="Listed Co", letter_date="01/17/2025")


def pipeline() -> LetterStorePipeline:
    return LetterStorePipeline.from_crawler(get_crawler(settings_dict={"EXOWATCH_DATABASE_URL": "sqlite://"}))


def test_the_tag_pipeline_adds_tags_and_products_and_passes_other_items_by(page):
    tagged = LetterTagPipeline().process_item(LetterPageItem(SLUG, page))
    assert tagged.page is page
    assert {tag.tag for tag in tagged.tags} >= {"exosome", "stem_cell"}
    assert "CharaExo" in tagged.product_names
    other = ListedLetterItem(SLUG, row(SLUG))
    assert LetterTagPipeline().process_item(other) is other


def test_a_page_before_its_row_and_a_row_before_its_page_make_one_record(page):
    first, second = pipeline(), pipeline()
    first.process_item(LetterPageItem(SLUG, page))
    first.process_item(ListedLetterItem(SLUG, row(SLUG)))
    second.process_item(ListedLetterItem(SLUG, row(SLUG)))
    second.process_item(LetterPageItem(SLUG, page))
    for kept in (first, second):
        assert list(kept.records) == [SLUG] and not kept.pages
        assert kept.records[SLUG].body_text == page.body_text


def test_the_first_row_of_a_letter_wins():
    kept = pipeline()
    kept.process_item(ListedLetterItem(SLUG, row(SLUG)))
    kept.process_item(ListedLetterItem(SLUG, ListingRow(url=f"{LETTERS_PATH}{SLUG}", company="Later Co")))
    assert kept.rows[SLUG].company == "Listed Co"


def test_a_page_error_is_cleared_by_the_page_read_and_ignored_after_it(page):
    kept = pipeline()
    kept.process_item(LetterPageFailedItem(SLUG, "HTTP 500 from /x"))
    assert kept.errors == {SLUG: "HTTP 500 from /x"}
    kept.process_item(LetterPageItem(SLUG, page))
    kept.process_item(LetterPageFailedItem(SLUG, "a retry that failed after the page was read"))
    assert kept.errors == {} and SLUG in kept.read


def test_a_redirect_to_another_letter_reads_both_slugs(page):
    kept = pipeline()
    kept.process_item(LetterPageFailedItem("old-slug-1-01012020", "truncated"))
    kept.process_item(LetterPageItem("old-slug-1-01012020", page))  # the old URL redirected here
    assert kept.read == {"old-slug-1-01012020", SLUG} and kept.errors == {}
    assert list(kept.pages) == [SLUG]
