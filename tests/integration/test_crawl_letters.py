"""`exowatch crawl fda_warning_letters` end to end: a child process crawling a replayed fda.gov
into a real store, on SQLite and on PostgreSQL."""

from __future__ import annotations

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


def test_extraction_in_the_crawl_process_stores_what_the_worker_stores(site, tmp_path):
    # [crawl] extract_workers = 0: pages parsed in the crawl process itself (a one-core machine)
    inline_url = f"sqlite:///{tmp_path / 'inline.db'}"
    inline_config = write_config(tmp_path / "inline.toml", site.server, inline_url, extract_workers=0)
    assert main(["--config", str(inline_config), "init"]) == 0
    assert main(["--config", str(inline_config), "crawl", "fda_warning_letters", "--full"]) == 0
    assert site.exowatch("crawl", "fda_warning_letters", "--full")[0] == 0
    inline = Store.open(inline_url)
    try:
        by_worker, by_crawl = rows(site.store), rows(inline)
    finally:
        inline.close()
    fields = ("company_name", "letter_date", "products", "recipient_name", "body_text", "content_hash",
              "tags", "tag_phrases", "product_names", "closeout_letters")  # fmt: skip
    assert len(by_crawl) == len(site.letters)
    assert {slug: [getattr(r, f) for f in fields] for slug, r in by_crawl.items()} == {
        slug: [getattr(r, f) for f in fields] for slug, r in by_worker.items()
    }


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


def test_a_truncated_letter_page_fails_the_crawl(site):
    from tests.fda_site import PAGES

    truncated = (PAGES / f"{KIMERA}.truncated.html").read_bytes()
    site.server.routes[
        f"/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/{KIMERA}"
    ] = static(truncated)
    code, out, _ = site.exowatch("crawl", "fda_warning_letters", "--full")
    assert code == 1
    assert f"letter {KIMERA}" in out
    assert rows(site.store) == {} and kinds(site.store) == []


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
