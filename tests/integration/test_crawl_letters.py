"""`exowatch crawl fda_warning_letters` end to end: a child process crawling a replayed fda.gov
into a real store, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from db.models import CrawlRun, Event, WarningLetter
from db.store import Store
from monitor.cli import main
from tests.fda_site import FdaSite, site_letters, write_config
from tests.replay import ReplayServer, static

KIMERA = "kimera-labs-inc-649343-09012023"


@pytest.fixture
def site(db_url, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("EXOWATCH_CONFIG", raising=False)
    monkeypatch.delenv("EXOWATCH_DATABASE_URL", raising=False)
    with ReplayServer() as server:
        fda = FdaSite(server, site_letters())
        config = write_config(tmp_path / "config.toml", server, db_url, delist_after=2)

        def exowatch(*args: str) -> tuple[int, str, str]:
            code = main(["--config", str(config), *args])
            captured = capsys.readouterr()
            return code, captured.out, captured.err

        assert exowatch("init")[0] == 0
        fda.exowatch = exowatch
        fda.store = Store.open(db_url)
        yield fda
        fda.store.close()


def rows(store: Store) -> dict:
    with store.engine.connect() as connection:
        return {r.slug: r for r in connection.execute(select(WarningLetter.__table__))}


def kinds(store: Store) -> list[str]:
    """The events about records (a failing source's own event is checked apart)."""
    with store.engine.connect() as connection:
        query = select(Event.kind).where(Event.subject_type != "source").order_by(Event.id)
        return [r.kind for r in connection.execute(query)]


def source_events(store: Store) -> list[str]:
    with store.engine.connect() as connection:
        query = select(Event.kind).where(Event.subject_type == "source").order_by(Event.id)
        return [r.kind for r in connection.execute(query)]


def last_run(store: Store):
    with store.engine.connect() as connection:
        return connection.execute(select(CrawlRun.__table__).order_by(CrawlRun.id.desc()).limit(1)).one()


def test_crawl_stores_letters_with_pages_and_tags_then_a_recrawl_is_silent(site):
    code, out, err = site.exowatch("crawl", "fda_warning_letters", "--full")
    assert code == 0, out + err
    letters = rows(site.store)
    assert set(letters) == {letter.slug for letter in site.letters}
    assert kinds(site.store).count("letter.new") == len(site.letters)
    kimera = letters[KIMERA]
    assert kimera.company_name == "Kimera Labs, Inc."
    assert kimera.marcs_cms_number == "649343"
    assert "exosome" in kimera.tags
    assert {"XoGlo", "XoGlo Pro"} <= set(kimera.product_names)
    assert kimera.body_text and kimera.content_hash and kimera.last_listed_at is not None
    run = last_run(site.store)
    assert (run.status, run.error) == ("ok", None)
    assert run.requests > len(site.letters) and run.records_new == len(site.letters)

    events_before = len(kinds(site.store))
    code, out, _ = site.exowatch("crawl", "fda_warning_letters")
    assert code == 0
    assert len(kinds(site.store)) == events_before
    assert last_run(site.store).records_new == 0


def test_a_posted_closeout_is_exactly_one_letter_updated(site):
    assert site.exowatch("crawl", "fda_warning_letters", "--full")[0] == 0
    target = next(letter for letter in site.letters if not letter.closeout)
    before = kinds(site.store)
    site.close_out(target.slug, "11/20/2026")
    # an old letter's close-out is past the pages an incremental crawl reads: a full crawl sees it
    assert site.exowatch("crawl", "fda_warning_letters", "--full")[0] == 0
    after = kinds(site.store)
    assert after[len(before) :] == ["letter.updated"]
    assert str(rows(site.store)[target.slug].closeout_letter_date) == "2026-11-20"


def test_a_letter_gone_from_the_listing_is_delisted_after_n_full_crawls_and_kept(site):
    assert site.exowatch("crawl", "fda_warning_letters", "--full")[0] == 0
    gone = site.letters[0].slug
    site.remove(gone)
    assert site.exowatch("crawl", "fda_warning_letters", "--full")[0] == 0
    assert rows(site.store)[gone].delisted_at is None
    assert site.exowatch("crawl", "fda_warning_letters", "--full")[0] == 0
    letter = rows(site.store)[gone]
    assert letter.delisted_at is not None and letter.body_text
    assert kinds(site.store).count("letter.delisted") == 1
    assert len(rows(site.store)) == len(site.letters) + 1


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (
            (200, {"Content-Type": "text/html"}, b"<html><h1>Access Denied</h1>Reference #18.5f</html>"),
            "listing answered a block or apology page instead of JSON",
        ),
        ((500, {"Content-Type": "text/plain"}, b"oops"), "HTTP 500"),
        ((403, {"Content-Type": "text/plain"}, b"forbidden"), "HTTP 403"),
        (
            (200, {"Content-Type": "application/json"}, b'{"draw": 1, "data": [['),
            "listing answer is not valid JSON",
        ),
    ],
)
def test_source_failures_fail_the_crawl_and_change_nothing(site, answer, reason):
    assert site.exowatch("crawl", "fda_warning_letters", "--full")[0] == 0
    before = (rows(site.store), kinds(site.store))
    site.close_out(site.letters[0].slug, "11/21/2026")  # a change that must NOT be stored
    site.listing_override = answer
    code, out, err = site.exowatch("crawl", "fda_warning_letters", "--full")
    assert code == 1
    assert reason in out and err.strip().endswith("crawl failed: fda_warning_letters")
    run = last_run(site.store)
    assert run.status == "failed" and reason in run.error
    assert (rows(site.store), kinds(site.store)) == before
    assert source_events(site.store) == ["source.failing"]  # once, however many tries


LETTER_PATH = "/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/"


def letter_requests(server) -> list[str]:
    """The letter pages the replay server was asked for, in order (a retry is asked again)."""
    return [path.removeprefix(LETTER_PATH) for path in server.requests if path.startswith(LETTER_PATH)]


def test_a_truncated_letter_page_is_a_page_error_not_a_failed_crawl(site):
    from tests.fda_site import PAGES

    truncated = (PAGES / f"{KIMERA}.truncated.html").read_bytes()
    site.server.routes[f"{LETTER_PATH}{KIMERA}"] = static(truncated)
    code, out, _ = site.exowatch("crawl", "fda_warning_letters", "--full")
    assert code == 0, out
    assert "partial" in out and f"letter {KIMERA}: letter page is truncated" in out
    letters = rows(site.store)
    assert set(letters) == {letter.slug for letter in site.letters}
    kimera = letters[KIMERA]
    assert kimera.company_name == "Kimera Labs, Inc." and kimera.body_text is None  # its listing row
    assert kimera.page_error.startswith("letter page is truncated")
    assert kinds(site.store) == ["letter.new"] * len(site.letters)


BROKEN_500 = "granules-india-limited-697115-02262025"
NOT_A_LETTER = "invitrx-therapeutics-inc-581182-03162020"


def test_unreadable_letter_pages_are_stored_from_the_listing_retried_and_cleared(site):
    from tests.fda_site import PAGES
    from tests.notices_site import NOTICES

    # one page answers 500 (after Scrapy's two retries), one is an fda.gov page that is no letter
    site.server.routes[f"{LETTER_PATH}{BROKEN_500}"] = static(b"<html>oops</html>", status=500)
    alert = (
        "vaccines-blood-biologics/safety-availability-biologics/public-safety-notification-exosome-products"
    )
    site.server.routes[f"{LETTER_PATH}{NOT_A_LETTER}"] = static(
        (NOTICES / "site" / f"{alert}.html").read_bytes()
    )
    before = datetime.now(UTC)
    code, out, err = site.exowatch("crawl", "fda_warning_letters")
    assert code == 0, out + err
    assert f"run #1 partial: {len(site.letters)} new, 0 changed, 0 unchanged" in out
    run = last_run(site.store)
    assert run.status == "partial" and run.stats["pages_failed"] == 2
    assert run.error.startswith("2 failed: ")
    assert f"letter {BROKEN_500}: HTTP 500" in run.error
    assert f"letter {NOT_A_LETTER}: not a warning-letter page" in run.error
    letters = rows(site.store)
    assert set(letters) == {letter.slug for letter in site.letters}
    for slug, letter in letters.items():
        if slug in (BROKEN_500, NOT_A_LETTER):
            # stored from its listing row, with why and when its page could not be read
            assert letter.company_name and letter.posted_date and letter.issuing_office, slug
            assert letter.body_text is None and letter.content_hash is None and letter.tags is None
            assert letter.page_error_at is not None and letter.page_error_at.tzinfo is not None
            assert before <= letter.page_error_at <= datetime.now(UTC)
        else:
            assert letter.body_text and letter.content_hash and letter.page_fetched_at, slug
            assert letter.page_error is None and letter.page_error_at is None, slug
    assert letters[BROKEN_500].page_error.startswith("HTTP 500 from ")
    assert letters[NOT_A_LETTER].page_error.startswith("not a warning-letter page")
    assert kinds(site.store) == ["letter.new"] * len(site.letters)
    assert source_events(site.store) == ["source.partial"]
    first_failed_at = letters[BROKEN_500].page_error_at

    # the next crawl asks for those two pages again, and for no other
    site.server.requests.clear()
    code, out, err = site.exowatch("crawl", "fda_warning_letters")
    assert code == 0, out + err
    assert sorted(set(letter_requests(site.server))) == sorted([BROKEN_500, NOT_A_LETTER])
    assert letter_requests(site.server).count(BROKEN_500) == 3  # Scrapy's retries
    assert last_run(site.store).status == "partial"
    again = rows(site.store)
    assert again[BROKEN_500].page_error_at > first_failed_at
    assert source_events(site.store) == ["source.partial"]  # the same two pages: nothing new to tell

    # repaired: read, their errors cleared, the run ok; later crawls ask for no letter page
    for slug in (BROKEN_500, NOT_A_LETTER):
        site.server.routes[f"{LETTER_PATH}{slug}"] = static((PAGES / f"{slug}.html").read_bytes())
    site.server.requests.clear()
    code, out, err = site.exowatch("crawl", "fda_warning_letters")
    assert code == 0, out + err
    assert sorted(letter_requests(site.server)) == sorted([BROKEN_500, NOT_A_LETTER])
    run = last_run(site.store)
    assert (run.status, run.error, run.records_changed) == ("ok", None, 2)
    fixed = rows(site.store)
    for slug in (BROKEN_500, NOT_A_LETTER):
        assert fixed[slug].body_text and fixed[slug].tags is not None
        assert fixed[slug].page_error is None and fixed[slug].page_error_at is None
    assert source_events(site.store) == ["source.partial", "source.recovered"]
    site.server.requests.clear()
    assert site.exowatch("crawl", "fda_warning_letters")[0] == 0
    assert letter_requests(site.server) == []


def newest_first(letters) -> list[str]:
    """Slugs by letter date, then posted date, newest first; then by slug."""

    def day(text: str) -> int:
        return -datetime.strptime(text, "%m/%d/%Y").toordinal()

    return [
        item.slug
        for item in sorted(letters, key=lambda item: (day(item.issued), day(item.posted), item.slug))
    ]


def test_backfilled_letters_get_their_bodies_newest_first_within_pages_per_run(site, tmp_path):
    import csv

    export = tmp_path / "export.csv"
    with export.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["url", "posted_date", "letter_date", "company", "issuing_office", "subject"])
        for item in site.letters:
            writer.writerow(
                [
                    f"{LETTER_PATH}{item.slug}",
                    item.posted,
                    item.issued,
                    item.company,
                    item.office,
                    item.subject,
                ]
            )
    assert site.exowatch("import-letters", str(export))[0] == 0
    config = tmp_path / "config.toml"
    config.write_text(
        config.read_text("utf-8").replace("page_size = 4\n", "page_size = 4\npages_per_run = 5\n")
    )
    assert all(letter.body_text is None for letter in rows(site.store).values())

    order = newest_first(site.letters)
    assert len(order) == 12
    read: list[str] = []
    for chunk in (order[:5], order[5:10], order[10:]):
        site.server.requests.clear()
        code, out, err = site.exowatch("crawl", "fda_warning_letters")
        assert code == 0, out + err
        asked = letter_requests(site.server)
        assert sorted(asked) == sorted(chunk)  # the newest letters still without a body
        read += asked
        with_body = {slug for slug, letter in rows(site.store).items() if letter.body_text}
        assert with_body == set(read)
        assert last_run(site.store).stats["letter_pages_backlog"] == len(chunk)
    letters = rows(site.store)
    assert all(
        letter.body_text and letter.content_hash and letter.tags is not None for letter in letters.values()
    )
    assert "exosome" in letters[KIMERA].tags and {"XoGlo", "XoGlo Pro"} <= set(letters[KIMERA].product_names)
    site.server.requests.clear()
    assert site.exowatch("crawl", "fda_warning_letters")[0] == 0
    assert letter_requests(site.server) == []


def test_new_letters_in_the_listing_come_before_the_backlog(site, tmp_path):
    """A store whose letters all lack a body, and a listing with two letters it does not know:
    those two are read first, the backlog fills what is left of pages_per_run."""
    import csv

    known = site.letters[2:]
    export = tmp_path / "export.csv"
    with export.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["url", "posted_date", "letter_date", "company", "issuing_office", "subject"])
        for item in known:
            writer.writerow(
                [
                    f"{LETTER_PATH}{item.slug}",
                    item.posted,
                    item.issued,
                    item.company,
                    item.office,
                    item.subject,
                ]
            )
    assert site.exowatch("import-letters", str(export))[0] == 0
    config = tmp_path / "config.toml"
    config.write_text(
        config.read_text("utf-8").replace("page_size = 4\n", "page_size = 100\npages_per_run = 5\n")
    )
    site.server.requests.clear()
    assert site.exowatch("crawl", "fda_warning_letters")[0] == 0
    asked = letter_requests(site.server)
    # news: the letters the store lacks, and those whose listing row shows a response or close-out
    news = [item.slug for item in site.letters[:2]] + [
        item.slug for item in known if item.response or item.closeout
    ]
    backlog = [slug for slug in newest_first(known) if slug not in news][: 5 - len(news)]
    assert len(news) < 5 and backlog
    assert sorted(asked) == sorted(news + backlog)
    assert last_run(site.store).stats["letter_pages_backlog"] == len(backlog)


def test_a_changed_letter_text_is_one_letter_updated(site):
    from tests.fda_site import PAGES

    assert site.exowatch("crawl", "fda_warning_letters", "--full")[0] == 0
    before = kinds(site.store)
    old_hash = rows(site.store)[KIMERA].content_hash
    page = (PAGES / f"{KIMERA}.html").read_bytes().replace(b"XoGlo Pro", b"XoGlo Pro Plus", 1)
    site.server.routes[
        f"/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/{KIMERA}"
    ] = static(page)
    assert site.exowatch("crawl", "fda_warning_letters", "--full")[0] == 0
    assert kinds(site.store)[len(before) :] == ["letter.updated"]
    with site.store.engine.connect() as connection:
        summary = connection.execute(select(Event.summary).order_by(Event.id.desc()).limit(1)).scalar_one()
    assert summary["changes"]["body_text"] == {"changed": True}
    assert summary["changes"]["content_hash"]["from"] == old_hash


def test_a_failed_crawl_is_retried_and_both_runs_are_recorded(site, tmp_path):
    from tests.fda_site import write_config

    healthy = site.server.routes["/datatables/views/ajax"]
    calls = []

    def flaky(query):
        calls.append(query)
        if len(calls) <= 3:  # the first request and Scrapy's two retries of it: the crawl fails
            return 503, {"Content-Type": "text/plain"}, b"try later"
        return healthy(query)

    site.server.routes["/datatables/views/ajax"] = flaky
    config = write_config(
        tmp_path / "retry.toml",
        site.server,
        str(site.store.engine.url.render_as_string(hide_password=False)),
        retries=1,
    )
    code = main(["--config", str(config), "crawl", "fda_warning_letters"])
    assert code == 0
    with site.store.engine.connect() as connection:
        runs = connection.execute(
            select(CrawlRun.status, CrawlRun.attempt, CrawlRun.error).order_by(CrawlRun.id)
        ).all()
    assert [(r.status, r.attempt) for r in runs] == [("failed", 1), ("ok", 2)]
    assert "HTTP 503" in runs[0].error


def test_a_hung_crawl_is_killed_at_its_deadline(site, tmp_path):
    import threading

    from tests.fda_site import write_config

    release = threading.Event()

    def hang(query):
        release.wait(60)  # held until the test ends: the child must be killed before
        return 503, {}, b""

    site.server.routes["/datatables/views/ajax"] = hang
    database = site.store.engine.url.render_as_string(hide_password=False)
    config = write_config(tmp_path / "hang.toml", site.server, database, timeout_seconds=2)
    try:
        code = main(["--config", str(config), "crawl", "fda_warning_letters"])
    finally:
        release.set()
    assert code == 1
    run = last_run(site.store)
    assert (run.status, run.error) == ("failed", "timed out after 2 seconds")
    assert rows(site.store) == {}


def test_a_listing_that_lost_most_of_its_letters_is_a_failure_not_a_mass_delisting(site):
    assert site.exowatch("crawl", "fda_warning_letters", "--full")[0] == 0
    before = rows(site.store)
    kept = site.letters[:3]
    site.letters = kept
    code, out, _ = site.exowatch("crawl", "fda_warning_letters", "--full")
    assert code == 1
    assert f"listing shrank to 3 letters from {len(before)} listed before" in out
    assert rows(site.store) == before


def test_a_source_is_failing_only_after_failing_after_runs_in_a_row(site, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(
        config.read_text("utf-8").replace("[crawl]\n", "[crawl]\nfailing_after = 2\n", 1), encoding="utf-8"
    )
    assert site.exowatch("crawl", "fda_warning_letters")[0] == 0
    site.listing_override = (
        503,
        {"Content-Type": "text/html"},
        b"<html><title>Service Unavailable</title></html>",
    )
    assert site.exowatch("crawl", "fda_warning_letters")[0] == 1
    assert source_events(site.store) == []  # one failed run: not yet
    assert site.exowatch("crawl", "fda_warning_letters")[0] == 1
    assert source_events(site.store) == ["source.failing"]  # two in a row
    assert site.exowatch("crawl", "fda_warning_letters")[0] == 1
    assert source_events(site.store) == ["source.failing"]  # once
    site.listing_override = None
    assert site.exowatch("crawl", "fda_warning_letters")[0] == 0
    assert source_events(site.store) == ["source.failing", "source.recovered"]


def test_the_listing_read_as_drupals_command_list_over_post_gives_the_same_letters(site, tmp_path):
    """[sources.fda_warning_letters] listing_endpoint = "views": POST /views/ajax, answered with a
    command list and no row count; the walk ends at a page shorter than page_size."""
    from tests.fda_site import LISTING_VIEWS_PATH

    config = tmp_path / "config.toml"
    config.write_text(config.read_text(encoding="utf-8") + 'listing_endpoint = "views"\n', encoding="utf-8")
    # 12 letters, 4 a page: the walk ends at the fourth, empty page (a short page ends it too)
    site.server.requests.clear()
    code, out, err = site.exowatch("crawl", "fda_warning_letters", "--full")
    assert code == 0, out + err
    assert set(rows(site.store)) == {letter.slug for letter in site.letters}
    listing = [path for path in site.server.requests if not path.startswith(LETTER_PATH)]
    assert listing and set(listing) <= {LISTING_VIEWS_PATH, "/robots.txt"}
    assert listing.count(LISTING_VIEWS_PATH) == len(site.letters) // 4 + 1
    assert last_run(site.store).status == "ok"
    # a second crawl: every letter known, nothing new
    events = len(kinds(site.store))
    assert site.exowatch("crawl", "fda_warning_letters")[0] == 0
    assert len(kinds(site.store)) == events
