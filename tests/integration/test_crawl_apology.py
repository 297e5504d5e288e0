"""Akamai's bot block in a real crawl: fda.gov's 302 to /apology_objects/... ends the crawl as a
source failure with its reason, the apology page is never fetched, and nothing stored changes.

A child process crawls a replayed fda.gov (tests.fda_site) into a real store, as `exowatch crawl`
does; the replay answers the listing, or a letter page, with the 302 a refused client gets.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from db.models import CrawlRun, Event, WarningLetter
from db.store import Store
from monitor.cli import main
from tests.fda_site import FdaSite, site_letters, write_config
from tests.replay import ReplayServer, static

APOLOGY = "/apology_objects/excessive-requests-apology.html"
REASON = (
    "refused the crawler: redirected to /apology_objects/excessive-requests-apology.html (Akamai bot block)"
)
KIMERA_PAGE = "/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/kimera-labs-inc-649343-09012023"
REFUSED = (302, {"Location": APOLOGY, "Content-Type": "text/html"}, b"")


@pytest.fixture
def site(db_url, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("EXOWATCH_CONFIG", raising=False)
    monkeypatch.delenv("EXOWATCH_DATABASE_URL", raising=False)
    with ReplayServer() as server:
        fda = FdaSite(server, site_letters())
        # were the redirect followed, this page would be read (and fail as a block page, unnamed)
        server.routes[APOLOGY] = static(
            b"<html><head><title>FDA Apology</title></head><body>Sorry</body></html>"
        )
        config = write_config(tmp_path / "config.toml", server, db_url)

        def exowatch(*args: str) -> tuple[int, str, str]:
            code = main(["--config", str(config), *args])
            captured = capsys.readouterr()
            return code, captured.out, captured.err

        assert exowatch("init")[0] == 0
        fda.exowatch = exowatch
        fda.store = Store.open(db_url)
        yield fda
        fda.store.close()


def stored(store: Store) -> tuple[dict, list]:
    with store.engine.connect() as connection:
        letters = {r.slug: r for r in connection.execute(select(WarningLetter.__table__))}
        events = [r.kind for r in connection.execute(select(Event.kind).order_by(Event.id))]
    return letters, events


def last_run(store: Store):
    with store.engine.connect() as connection:
        return connection.execute(select(CrawlRun.__table__).order_by(CrawlRun.id.desc()).limit(1)).one()


def _crawl_refused(site, refuse):
    """A full crawl stored, then a change that must NOT be stored, the refusal, the crawl again."""
    assert site.exowatch("crawl", "fda_warning_letters", "--full")[0] == 0
    before = stored(site.store)
    site.close_out(site.letters[0].slug, "11/21/2026")
    refuse()
    site.server.requests.clear()
    code, out, err = site.exowatch("crawl", "fda_warning_letters", "--full")
    return before, code, out, err


def _refuse_kimera(site) -> None:
    site.server.routes[KIMERA_PAGE] = lambda _query: REFUSED


def _apology_fetched(site) -> list[str]:
    return [path for path in site.server.requests if path.startswith("/apology_objects/")]


@pytest.mark.parametrize("location", [APOLOGY, f"https://www.fda.gov{APOLOGY}"])
def test_a_listing_redirected_to_the_apology_page_fails_the_crawl_and_changes_nothing(site, location):
    # the real answer's Location may be absolute: www.fda.gov is not allow-listed, and never asked
    refused = (302, {"Location": location, "Content-Type": "text/html"}, b"")
    before, code, out, err = _crawl_refused(site, lambda: setattr(site, "listing_override", refused))
    assert code == 1
    assert REASON in out and err.strip().endswith("crawl failed: fda_warning_letters")
    run = last_run(site.store)
    assert run.status == "failed" and REASON in run.error and "\n" not in run.error
    assert "127.0.0.1 refused the crawler" in run.error  # the host that redirected: here the replay
    letters, events = stored(site.store)
    assert letters == before[0]
    assert events[: len(before[1])] == before[1]
    assert set(events[len(before[1]) :]) <= {"source.failing"}  # the source's own event only
    assert _apology_fetched(site) == []


def test_a_letter_page_redirected_to_the_apology_page_is_not_followed(site):
    _crawl_refused(site, lambda: _refuse_kimera(site))
    run = last_run(site.store)
    assert run.status != "ok" and REASON in run.error
    assert _apology_fetched(site) == []
    # counted once; requests made after it to the same host were failed without being sent
    # (requests already queued in Scrapy's downloader when the 302 came back still go out)
    assert run.stats["urlgate/apology_redirect"] == 1


def test_a_letter_page_redirected_to_the_apology_page_fails_the_crawl_and_changes_nothing(site):
    before, code, _, _ = _crawl_refused(site, lambda: _refuse_kimera(site))
    assert code == 1
    run = last_run(site.store)
    assert run.status == "failed" and REASON in run.error
    assert stored(site.store)[0] == before[0]
