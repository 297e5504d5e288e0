"""The letters crawl over a replay of REAL fda.gov letter pages (tests/fixtures/fda/real/letters),
each at its real path behind FDA's real listing rows, on SQLite and on PostgreSQL: what a user's
first crawl meets, including pages that cannot be read."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from db.models import CrawlRun, Event, WarningLetter
from db.store import Store
from monitor.cli import main
from tests.fda_site import REAL_PAGES, FdaSite, real_listing_rows, real_slugs, write_config
from tests.real_letters import fold_company
from tests.replay import ReplayServer, static

LETTER_PATH = "/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/"
BROKEN_500 = "brigham-and-womens-hospital-inc-623476-04112022"
TRUNCATED = "carsgen-therapeutics-corporation-686504-07262024"


@pytest.fixture
def real_site(db_url, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("EXOWATCH_CONFIG", raising=False)
    monkeypatch.delenv("EXOWATCH_DATABASE_URL", raising=False)
    listing = real_listing_rows()
    letters = [listing[slug] for slug in real_slugs() if slug in listing]
    with ReplayServer() as server:
        site = FdaSite(server, letters, real=True)
        config = write_config(tmp_path / "config.toml", server, db_url)

        def exowatch(*args: str) -> tuple[int, str, str]:
            code = main(["--config", str(config), *args])
            captured = capsys.readouterr()
            return code, captured.out, captured.err

        assert exowatch("init")[0] == 0
        site.exowatch = exowatch
        site.store = Store.open(db_url)
        yield site
        site.store.close()


def stored(store: Store) -> dict:
    with store.engine.connect() as connection:
        return {r.slug: r for r in connection.execute(select(WarningLetter.__table__))}


def last_run(store: Store):
    with store.engine.connect() as connection:
        return connection.execute(select(CrawlRun.__table__).order_by(CrawlRun.id.desc()).limit(1)).one()


def letter_requests(server) -> list[str]:
    return [path.removeprefix(LETTER_PATH) for path in server.requests if path.startswith(LETTER_PATH)]


def test_real_pages_with_two_broken_ones_store_every_letter_and_retry_only_those(real_site):
    site = real_site
    page = (REAL_PAGES / f"{TRUNCATED}.html").read_bytes()
    site.server.routes[f"{LETTER_PATH}{BROKEN_500}"] = static(b"<html>oops</html>", status=500)
    site.server.routes[f"{LETTER_PATH}{TRUNCATED}"] = static(page[: page.index(b"Dear Dr. Li")])

    code, out, err = site.exowatch("crawl", "fda_warning_letters")
    assert code == 0, out + err
    total = len(site.letters)
    assert total >= 55
    assert f"run #1 partial: {total} new, 0 changed, 0 unchanged" in out
    run = last_run(site.store)
    assert run.status == "partial" and run.stats["pages_failed"] == 2
    assert f"letter {BROKEN_500}: HTTP 500" in run.error
    assert f"letter {TRUNCATED}: letter page is truncated" in run.error

    letters = stored(site.store)
    assert set(letters) == {letter.slug for letter in site.letters}
    by_slug = {letter.slug: letter for letter in site.letters}
    for slug, letter in letters.items():
        listed = by_slug[slug]
        assert fold_company(letter.company_name) == fold_company(listed.company), slug
        assert letter.letter_date.strftime("%m/%d/%Y") == listed.issued, slug
        if slug in (BROKEN_500, TRUNCATED):  # from its listing row, with why and when
            assert letter.body_text is None and letter.page_error and letter.page_error_at, slug
        else:  # the real page read: its header fields, its text, its tags
            assert letter.page_error is None, (slug, letter.page_error)
            assert letter.body_text and letter.content_hash and letter.products, slug
            assert letter.delivery_method and letter.tags is not None, slug
    chara = letters["chara-biologics-inc-698004-01172025"]
    assert "exosome" in chara.tags  # an exosome letter of CBER, read from its real page
    with site.store.engine.connect() as connection:
        kinds = [k for (k,) in connection.execute(select(Event.kind).where(Event.subject_type != "source"))]
    assert kinds == ["letter.new"] * total

    # the next crawl asks for the two broken pages again and for no other; repaired, they are read
    site.server.routes[f"{LETTER_PATH}{BROKEN_500}"] = static(
        (REAL_PAGES / f"{BROKEN_500}.html").read_bytes()
    )
    site.server.routes[f"{LETTER_PATH}{TRUNCATED}"] = static(page)
    site.server.requests.clear()
    code, out, err = site.exowatch("crawl", "fda_warning_letters")
    assert code == 0, out + err
    assert sorted(set(letter_requests(site.server))) == sorted([BROKEN_500, TRUNCATED])
    run = last_run(site.store)
    assert (run.status, run.records_changed) == ("ok", 2)
    fixed = stored(site.store)
    assert fixed[BROKEN_500].reference_number == "623476" and fixed[BROKEN_500].page_error is None
    assert fixed[TRUNCATED].reference_number == "CBER 24-686504" and fixed[TRUNCATED].body_text
