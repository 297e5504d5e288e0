"""`exowatch crawl fda_notices` end to end: a child process crawling replayed FDA feeds, alert pages
and an index page into a real store, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from db.models import CrawlRun, Event, Notice
from db.store import Store
from monitor.cli import main
from tests.notices_site import (
    FEEDS,
    INDEX,
    NOTICES,
    RSS_TYPE,
    expected_notices,
    feed_path,
    serve_site,
    write_notices_config,
)
from tests.replay import ReplayServer, static

EXOSOME_ALERT = (
    "https://www.fda.gov/safety/medical-product-safety-information/"
    "public-safety-alert-due-marketing-unapproved-stem-cell-and-exosome-products"
)
CBER_NOTIFICATION = (
    "https://www.fda.gov/vaccines-blood-biologics/safety-availability-biologics/"
    "public-safety-notification-exosome-products"
)


@pytest.fixture
def site(db_url, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("EXOWATCH_CONFIG", raising=False)
    monkeypatch.delenv("EXOWATCH_DATABASE_URL", raising=False)
    with ReplayServer() as server:
        serve_site(server)

        class Site:
            pass

        site = Site()
        site.server = server
        site.config = tmp_path / "config.toml"

        def configure(feeds=None, index_pages=(INDEX,)):
            feeds = tuple(FEEDS.values()) if feeds is None else feeds
            write_notices_config(
                site.config, server, db_url, feeds=list(feeds), index_pages=list(index_pages)
            )

        def exowatch(*args: str) -> tuple[int, str, str]:
            code = main(["--config", str(site.config), *args])
            captured = capsys.readouterr()
            return code, captured.out, captured.err

        configure()
        site.configure = configure
        site.exowatch = exowatch
        assert exowatch("init")[0] == 0
        site.store = Store.open(db_url)
        yield site
        site.store.close()


def notices(store: Store) -> dict:
    with store.engine.connect() as connection:
        return {r.url: r for r in connection.execute(select(Notice.__table__))}


def events(store: Store) -> list:
    """The events about records (a failing source's own event is checked apart)."""
    with store.engine.connect() as connection:
        query = select(Event.kind, Event.subject_key).where(Event.subject_type != "source").order_by(Event.id)
        return list(connection.execute(query))


def last_run(store: Store):
    with store.engine.connect() as connection:
        return connection.execute(select(CrawlRun.__table__).order_by(CrawlRun.id.desc()).limit(1)).one()


def test_each_notice_once_with_its_fields_tags_and_feeds_and_a_recrawl_is_silent(site):
    code, out, err = site.exowatch("crawl", "fda_notices")
    assert code == 0, out + err
    assert "fda_notices: run #1 ok: 13 new, 0 changed, 0 unchanged" in out
    stored = notices(site.store)
    expected = expected_notices()
    assert set(stored) == set(expected)
    for url, want in expected.items():
        row = stored[url]
        assert row.title == want["title"], url
        assert row.posted_date == (
            date.fromisoformat(want["posted_date"]) if want["posted_date"] else None
        ), url
        published = (
            datetime.strptime(want["published_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            if want["published_at"]
            else None
        )
        assert row.published_at == published, url
        assert sorted(f for f in row.feeds if f.endswith("rss.xml")) == sorted(
            FEEDS[n] for n in want["feeds"]
        ), url
        for section in ("audience", "issue", "background", "recommendation"):
            value = getattr(row, section)
            if want[section] is None:
                assert value is None, (url, section)
            else:
                assert value is not None and value.startswith(want[section]), (url, section, value)
        assert ("exosome" in row.tags) is want["exosome"], (url, row.tags)
        assert row.body_text and row.content_hash and row.page_fetched_at is not None
    # the three real alerts are tagged exosome, with the phrases that triggered it
    for url in (EXOSOME_ALERT, CBER_NOTIFICATION):
        assert stored[url].tag_phrases["exosome"]
    # reached only from the index page, which the record names
    therapies = next(u for u in stored if u.endswith("regenerative-medicine-therapies"))
    assert stored[therapies].feeds == [INDEX] and stored[therapies].notice_type == "cber_safety"
    assert stored[EXOSOME_ALERT].notice_type == "medwatch_alert"
    kinds = [kind for kind, _ in events(site.store)]
    assert kinds == ["notice.new"] * 13

    for args in (("crawl", "fda_notices"), ("crawl", "fda_notices", "--full")):
        code, out, err = site.exowatch(*args)
        assert code == 0, out + err
        assert len(events(site.store)) == 13, args
        assert last_run(site.store).records_new == 0


def test_one_notice_in_two_feeds_is_one_record_naming_both(site):
    assert site.exowatch("crawl", "fda_notices")[0] == 0
    stored = notices(site.store)
    assert [u for u in stored if "exosome-products" in u and "medical-product-safety" in u] == [EXOSOME_ALERT]
    assert [f for f in stored[EXOSOME_ALERT].feeds if f.endswith("rss.xml")] == sorted(
        [FEEDS["biologics"], FEEDS["medwatch"]]
    )
    # the biologics feed spells it http://, with a slash, GovDelivery tracking and a fragment
    raw = (NOTICES / "site" / feed_path("biologics").lstrip("/")).read_text("utf-8")
    assert "http://www.fda.gov/safety/medical-product-safety-information/public-safety-alert" in raw


def test_a_changed_text_is_exactly_one_notice_updated(site):
    assert site.exowatch("crawl", "fda_notices")[0] == 0
    path = CBER_NOTIFICATION.removeprefix("https://www.fda.gov")
    page = (NOTICES / "site" / (path.lstrip("/") + ".html")).read_bytes()
    site.server.routes[path] = static(
        page.replace(b"There are currently no FDA-approved", b"There are still no FDA-approved")
    )
    code, out, err = site.exowatch("crawl", "fda_notices")
    assert code == 0, out + err
    assert [k for k, _ in events(site.store)].count("notice.updated") == 0  # incremental: page not re-read
    code, out, err = site.exowatch("crawl", "fda_notices", "--full")
    assert code == 0, out + err
    updated = [(k, s) for k, s in events(site.store) if k == "notice.updated"]
    assert updated == [("notice.updated", CBER_NOTIFICATION)]
    assert "There are still no FDA-approved" in notices(site.store)[CBER_NOTIFICATION].body_text


BROKEN = {
    "/feeds/malformed.xml": ("broken/malformed.xml", "not well-formed XML"),
    "/feeds/error-page.xml": ("broken/html_error_page.html", "not a feed: an HTML page"),
    "/feeds/blocked.xml": ("broken/access_denied.html", "block page instead of a feed"),
    "/feeds/laughs.xml": ("hostile/billion_laughs.xml", "DTD with an internal subset"),
    "/feeds/empty.xml": ("broken/empty.xml", "feed is empty"),
}


def test_broken_and_hostile_feeds_are_counted_and_the_other_feeds_are_stored(site):
    for path, (name, _) in BROKEN.items():
        site.server.routes[path] = static((NOTICES / name).read_bytes(), RSS_TYPE)
    site.server.routes["/feeds/gone.xml"] = lambda _query: (404, {"Content-Type": "text/plain"}, b"no")
    broken = [f"https://www.fda.gov{path}" for path in [*BROKEN, "/feeds/gone.xml"]]
    site.configure(feeds=[FEEDS["food-safety-recalls"], *broken], index_pages=())
    code, out, err = site.exowatch("crawl", "fda_notices")
    assert code == 0, out + err
    run = last_run(site.store)
    assert (run.status, run.records_new) == ("partial", 3)
    assert run.error.startswith("6 failed: ")
    assert "partial" in out and "3 new" in out
    assert len(notices(site.store)) == 3
    assert [k for k, _ in events(site.store)] == ["notice.new"] * 3


def test_every_source_failing_fails_the_crawl_and_changes_nothing(site):
    assert site.exowatch("crawl", "fda_notices")[0] == 0
    before_rows, before_events = notices(site.store), events(site.store)
    site.server.routes["/feeds/malformed.xml"] = static(
        (NOTICES / "broken/malformed.xml").read_bytes(), RSS_TYPE
    )
    site.configure(feeds=["https://www.fda.gov/feeds/malformed.xml"], index_pages=())
    code, out, err = site.exowatch("crawl", "fda_notices")
    assert code == 1
    assert "no feed or index page could be read" in out and "not well-formed XML" in out
    assert last_run(site.store).status == "failed"
    assert notices(site.store) == before_rows and events(site.store) == before_events


def test_a_notice_page_that_fails_keeps_the_feed_record_and_the_run_names_it(site):
    path = CBER_NOTIFICATION.removeprefix("https://www.fda.gov")
    site.server.routes[path] = static((NOTICES / "broken/access_denied.html").read_bytes())
    code, out, err = site.exowatch("crawl", "fda_notices")
    assert code == 0, out + err
    run = last_run(site.store)
    assert run.status == "partial" and "block page" in run.error and path in run.error
    row = notices(site.store)[CBER_NOTIFICATION]
    assert row.title == "Public Safety Notification on Exosome Products"  # from the feed
    assert row.body_text is None and "exosome" in row.tags  # tagged on the feed's text
    # the next crawl fetches the page it lacks; its first text is not an update
    site.server.routes[path] = static((NOTICES / "site" / (path.lstrip("/") + ".html")).read_bytes())
    assert site.exowatch("crawl", "fda_notices")[0] == 0
    assert notices(site.store)[CBER_NOTIFICATION].body_text
    assert "notice.updated" not in [k for k, _ in events(site.store)]


def test_one_alert_page_answering_500_among_good_ones_is_a_partial_run_that_keeps_the_others(site):
    path = EXOSOME_ALERT.removeprefix("https://www.fda.gov")
    site.server.routes[path] = static(b"<html>server error</html>", status=500)
    code, out, err = site.exowatch("crawl", "fda_notices")
    assert code == 0, out + err
    assert "fda_notices: run #1 partial: 13 new" in out
    run = last_run(site.store)
    assert run.status == "partial" and run.stats["pages_failed"] == 1
    assert run.error.startswith("1 failed: ") and f"{EXOSOME_ALERT}: HTTP 500" in run.error
    stored = notices(site.store)
    assert set(stored) == set(expected_notices())  # every notice, the broken page's from its feeds
    assert stored[EXOSOME_ALERT].body_text is None and stored[EXOSOME_ALERT].title
    assert all(row.body_text for url, row in stored.items() if url != EXOSOME_ALERT)
    with site.store.engine.connect() as connection:
        health = connection.execute(
            select(Event.kind, Event.summary).where(Event.subject_type == "source")
        ).all()
    assert [(kind, summary["pages_failed"]) for kind, summary in health] == [("source.partial", 1)]

    # the next crawl asks for that page again, and for no other alert page
    site.server.routes[path] = static((NOTICES / "site" / (path.lstrip("/") + ".html")).read_bytes())
    site.server.requests.clear()
    code, out, err = site.exowatch("crawl", "fda_notices")
    assert code == 0, out + err
    pages = [
        p
        for p in site.server.requests
        if not p.endswith((".xml", "robots.txt")) and p != "/" + INDEX.split("/", 3)[3]
    ]
    assert pages == [path]
    assert last_run(site.store).status == "ok" and notices(site.store)[EXOSOME_ALERT].body_text
