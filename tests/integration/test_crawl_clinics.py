"""`exowatch crawl clinic_listings clinic_sites` end to end, on SQLite and on PostgreSQL: child
processes crawling a replayed web of directories, a brand locator and 20-odd clinic sites in five
countries (tests/fixtures/clinics/, reached through the replay proxy) into a real store."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from db.models import Clinic, CrawlRun, Event, Page, PageSnapshot, RobotsTxt
from db.store import Store
from monitor.cli import main
from tests.web_replay import CLINICS, WebReplay

EXPECTED = json.loads((CLINICS / "expected.json").read_text("utf-8"))
LOCATOR_FIELDS = {
    "list": "results",
    "page_count": "pages",
    "name": "clinicName",
    "website": "websiteUrl",
    "phone": "phoneNumber",
    "street": "street",
    "locality": "city",
    "region": "region",
    "postcode": "postal",
    "country": "countryCode",
    "latitude": "latitude",
    "longitude": "longitude",
}
SPA_GUIDE_SELECTORS = {
    "entry": "div.spa-card",
    "name": ".spa-card__name",
    "website": "a.spa-card__web",
    "phone": ".spa-card__tel",
    "address": ".spa-card__addr",
    "next": "a.pager__next",
}


def write_config(path, web: WebReplay, database_url: str, **sites: object) -> None:
    def table(values: dict) -> str:
        return "{ " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in values.items()) + " }"

    site_lines = "".join(f"{key} = {json.dumps(value)}\n" for key, value in sites.items())
    path.write_text(
        f'[database]\nurl = "{database_url}"\n\n[crawl]\nallow_hosts = ["*.example", "{web.host}"]\n'
        f'proxy = "{web.proxy}"\ndownload_delay_seconds = 0\nautothrottle = false\nretries = 0\n'
        "requests_per_site = 1\n\n"
        '[[sources.clinic_listings]]\nname = "findaclinic"\nkind = "schema_org"\n'
        'start_urls = ["http://findaclinic.example/clinics?page=1"]\n\n'
        '[[sources.clinic_listings]]\nname = "exoglow_locator"\nkind = "locator_json"\n'
        'start_urls = ["http://exoglow-brand.example/api/provider-locator?country=US&page=1", '
        '"http://exoglow-brand.example/api/provider-locator?country=KR&page=1"]\n'
        f'next_param = "page"\nfields = {table(LOCATOR_FIELDS)}\n\n'
        '[[sources.clinic_listings]]\nname = "spa_guide"\nkind = "html"\n'
        'start_urls = ["http://spa-guide.example/directory?page=1"]\n'
        f"selectors = {table(SPA_GUIDE_SELECTORS)}\n\n"
        f'[[sources.clinic_listings]]\nname = "csv"\nkind = "url_list"\nstart_urls = ["{CLINICS / "clinic_urls.csv"}"]\n\n'
        f"[sources.clinic_sites]\n{site_lines}",
        encoding="utf-8",
    )


@pytest.fixture
def web(db_url, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("EXOWATCH_CONFIG", raising=False)
    monkeypatch.delenv("EXOWATCH_DATABASE_URL", raising=False)
    with WebReplay() as replay:
        config = tmp_path / "config.toml"
        write_config(config, replay, db_url)

        def exowatch(*args: str, **sites: object) -> tuple[int, str, str]:
            if sites:
                write_config(config, replay, db_url, **sites)
            code = main(["--config", str(config), *args])
            captured = capsys.readouterr()
            return code, captured.out, captured.err

        replay.exowatch = exowatch
        assert exowatch("init")[0] == 0
        replay.store = Store.open(db_url)
        yield replay
        replay.store.close()


def rows(store: Store, model) -> list:
    with store.engine.connect() as connection:
        return list(connection.execute(select(model.__table__)))


def kinds(store: Store) -> list[str]:
    with store.engine.connect() as connection:
        return [kind for (kind,) in connection.execute(select(Event.kind).order_by(Event.id))]


def last_run(store: Store):
    with store.engine.connect() as connection:
        return connection.execute(select(CrawlRun.__table__).order_by(CrawlRun.id.desc()).limit(1)).one()


def test_listings_give_each_clinic_once_across_directories_locator_and_list(web):
    code, out, err = web.exowatch("crawl", "clinic_listings")
    assert code == 0, out + err
    listed = len(rows(web.store, Clinic))
    assert kinds(web.store) == ["clinic.new"] * listed
    # the clinics' own home pages fill what the listings left out (a phone, an address)
    code, out, err = web.exowatch("crawl", "clinic_sites")
    assert code == 0, out + err
    clinics = {row.clinic_key: row for row in rows(web.store, Clinic)}
    expected = {c["key"]: c for c in EXPECTED["clinics"] if c["key"]}
    unmatched = [c for c in EXPECTED["clinics"] if not c["key"]]
    keyed = {key: row for key, row in clinics.items() if "." in key and ":" not in key}
    assert set(keyed) == set(expected)
    for key, want in expected.items():
        row = clinics[key]
        assert row.phone == want["phone_e164"], key
        assert row.country == want["country"], key
        assert sorted(row.listings) == want["listings"], key
        assert row.website and row.domain == key
    others = [row for key, row in clinics.items() if key not in keyed]
    assert len(others) == len(unmatched) == 1
    assert others[0].phone == unmatched[0]["phone_e164"] or others[0].name == unmatched[0]["name"]
    assert kinds(web.store).count("clinic.new") == len(clinics) == listed
    # the clinic listed twice under two names with one phone: one clinic, both names
    assert any(len(row.names or []) >= 2 for row in keyed.values())

    events = len(kinds(web.store))
    code, out, _ = web.exowatch("crawl", "clinic_listings")
    assert code == 0 and len(kinds(web.store)) == events


def test_sites_give_the_expected_pages_and_a_recrawl_downloads_almost_nothing(web):
    assert web.exowatch("crawl", "clinic_listings")[0] == 0
    code, out, err = web.exowatch("crawl", "clinic_sites")
    assert code == 0, out + err
    pages = {row.url: row for row in rows(web.store, Page)}
    expected = {p["url"]: p for p in EXPECTED["pages"]}
    assert set(pages) == set(expected), (
        sorted(set(pages) - set(expected)),
        sorted(set(expected) - set(pages)),
    )
    clinic_ids = {row.id: row.clinic_key for row in rows(web.store, Clinic)}
    for url, want in expected.items():
        page = pages[url]
        assert clinic_ids[page.clinic_id] == want["clinic_key"], url
        assert page.text and page.content_hash and page.etag
    assert kinds(web.store).count("page.new") == len(expected)
    snapshots = rows(web.store, PageSnapshot)
    assert len(snapshots) == len(expected)
    one = snapshots[0]
    assert (
        gzip.decompress(one.html_gzip).startswith(b"<")
        and len(gzip.decompress(one.html_gzip)) == one.html_bytes
    )

    events_before = len(kinds(web.store))
    # a re-crawl within recheck_after_hours asks for no stored page at all
    start = len(web.log)
    code, out, err = web.exowatch("crawl", "clinic_sites")
    assert code == 0, out + err
    asked = [url for url, _, _ in web.log[start:] if url in pages]
    assert asked == []
    assert len(kinds(web.store)) == events_before
    # `--full` asks for every page again, with its validators: 304s
    start = len(web.log)
    code, out, err = web.exowatch("crawl", "clinic_sites", "--full")
    assert code == 0, out + err
    asked = [(url, status) for url, status, _ in web.log[start:] if url in pages]
    not_modified = sum(1 for _, status in asked if status == 304)
    assert len(asked) >= len(expected) * 0.9 and not_modified / len(asked) >= 0.9, asked
    assert len(kinds(web.store)) == events_before
    assert last_run(web.store).stats["pages_not_modified"] == not_modified


def test_faults_are_counted_and_the_crawl_completes(web):
    assert web.exowatch("crawl", "clinic_listings")[0] == 0
    code, out, err = web.exowatch("crawl", "clinic_sites")
    assert code == 0, out + err
    run = last_run(web.store)
    faults = EXPECTED["faults"]
    assert run.status == "partial"
    assert faults["redirect_loop"] in run.error and "redirect loop" in run.error
    assert faults["huge"] in run.error and "size limit" in run.error
    assert run.stats["links_refused"] >= len(faults["private_links"])
    pages = {row.url: row for row in rows(web.store, Page)}
    broken = pages[faults["broken_encoding"]]
    assert "\ufffd" not in broken.text and "\x00" not in broken.text
    assert any(c in broken.text for c in "é®“”")
    assert run.stats.get("pages_encoding_repaired", 0) >= 1
    assert faults["redirect_loop"] not in pages and faults["huge"] not in pages
    asked = {url for url, _, _ in web.log}
    assert not any(link.split("//")[1].split("/")[0] in " ".join(asked) for link in faults["private_links"])


def test_pages_stored_at_the_depth_limit_are_read_whole_when_a_deeper_crawl_needs_their_links(web):
    """At the depth limit no link is followed, so none is read; a later crawl that goes deeper
    cannot follow a 304 whose links were never read: it asks for those pages without validators."""
    assert web.exowatch("crawl", "clinic_listings")[0] == 0
    code, out, err = web.exowatch("crawl", "clinic_sites", depth=1)
    assert code == 0, out + err
    shallow = {row.url: row for row in rows(web.store, Page)}
    unread = {url for url, row in shallow.items() if row.links is None}
    assert unread and all(row.links is not None for url, row in shallow.items() if url not in unread)
    assert len(shallow) < len(EXPECTED["pages"])

    start = len(web.log)
    code, out, err = web.exowatch("crawl", "clinic_sites", "--full", depth=2)
    assert code == 0, out + err
    asked = {url: conditional for url, _, conditional in web.log[start:]}
    assert unread <= set(asked) and not any(asked[url] for url in unread)
    assert {row.url for row in rows(web.store, Page)} == {p["url"] for p in EXPECTED["pages"]}


def test_each_site_s_robots_txt_is_asked_for_once_a_day(web):
    """RFC 9309 lets a crawler reuse a robots.txt for 24 hours: a re-crawl within the day asks no
    site for it again (each used as it was read, kept in the store); a day later every site is
    asked again."""

    def robots(start: int) -> list[str]:
        return sorted(url for url, _, _ in web.log[start:] if url.endswith("/robots.txt"))

    assert web.exowatch("crawl", "clinic_listings")[0] == 0
    start = len(web.log)
    assert web.exowatch("crawl", "clinic_sites")[0] == 0
    first = robots(start)
    assert first and len(first) == len(set(first))
    kept = rows(web.store, RobotsTxt)
    assert {row.netloc for row in kept} >= {url.split("/")[2] for url in first}
    pages = {row.url: row.content_hash for row in rows(web.store, Page)}
    def outcome() -> tuple[str, str]:  # the replayed web has faulty pages: the run says how many
        run = last_run(web.store)
        return run.status, (run.error or "").split(":")[0]

    first_outcome = outcome()

    start = len(web.log)
    assert web.exowatch("crawl", "clinic_sites", "--full")[0] == 0
    assert robots(start) == []
    assert outcome() == first_outcome
    cached = last_run(web.store).stats["robotstxt/cached"]
    assert {row.url: row.content_hash for row in rows(web.store, Page)} == pages  # the same pages read

    with web.store.engine.begin() as connection:
        connection.execute(update(RobotsTxt).values(fetched_at=datetime.now(UTC) - timedelta(hours=25)))
    start = len(web.log)
    assert web.exowatch("crawl", "clinic_sites", "--full")[0] == 0
    again = robots(start)  # the hosts crawled now (a site whose home moved off www. no longer has it)
    assert set(again) <= set(first) and len(again) == cached > 0
    assert "robotstxt/cached" not in last_run(web.store).stats
