"""Hostile feeds: entity-expansion bombs finish in bounded time and memory, and no external entity
or DTD is ever fetched: the tripwire, named by the hostile feeds, sees no connection."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

from crawler.extract.feed import FeedError, parse_feed
from tests.notices_site import NOTICES

FEED_URL = "https://www.fda.gov/about-fda/contact-fda/stay-informed/rss-feeds/medwatch/rss.xml"
MEMORY_LIMIT = 1024 * 1024 * 1024  # 1 GiB of address space: a billion laughs needs far more
TIME_LIMIT = 60  # seconds: the screen answers in milliseconds; an expansion would not finish


def hostile(name: str, port: int) -> bytes:
    return (NOTICES / "hostile" / name).read_bytes().replace(b"{PORT}", str(port).encode())


@pytest.mark.parametrize("name", ["billion_laughs.xml", "quadratic_blowup.xml"])
def test_entity_bombs_are_refused_in_bounded_time_and_memory(name):
    """In a child process whose address space is capped at 1 GiB, with a time limit."""
    script = textwrap.dedent(
        f"""
        import resource, sys, time
        resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_LIMIT}, {MEMORY_LIMIT}))
        from crawler.extract.feed import FeedError, parse_feed
        data = open({str(NOTICES / "hostile" / name)!r}, "rb").read()
        start = time.perf_counter()
        try:
            parse_feed(data, {FEED_URL!r})
        except FeedError as exc:
            print("refused:", exc)
        else:
            print("parsed")
        print("seconds:", round(time.perf_counter() - start, 3))
        """
    )
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=TIME_LIMIT, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "refused: feed declares a DTD with an internal subset" in result.stdout
    assert time.perf_counter() - started < TIME_LIMIT


@pytest.mark.parametrize(
    ("name", "refused"),
    [("xxe_loopback.xml.tmpl", True), ("parameter_entity.xml.tmpl", True), ("external_dtd.xml.tmpl", False)],
)
def test_external_entities_and_dtds_are_never_fetched(tripwire, name, refused):
    data = hostile(name, tripwire.port)
    assert f"127.0.0.1:{tripwire.port}".encode() in data  # the feed does name the tripwire
    if refused:
        with pytest.raises(FeedError, match="DTD"):
            parse_feed(data, FEED_URL)
    else:  # a bare external DOCTYPE is removed unread; the entries are kept
        assert parse_feed(data, FEED_URL).entries
    assert tripwire.count() == 0


def test_a_local_file_entity_is_never_read():
    with pytest.raises(FeedError, match="DTD"):
        parse_feed((NOTICES / "hostile" / "xxe_file.xml").read_bytes(), FEED_URL)


def test_a_crawl_of_hostile_feeds_fetches_nothing_they_name(tmp_path, tripwire, monkeypatch, capsys):
    """The whole crawl, in its child process: the hostile feeds are refused and counted, the
    tripwire they name is never contacted (it is not allow-listed, and no parser reaches for it)."""
    from db.models import CrawlRun
    from db.store import Store
    from monitor.cli import main
    from tests.notices_site import FEEDS, RSS_TYPE, serve_site, write_notices_config
    from tests.replay import ReplayServer, static

    monkeypatch.delenv("EXOWATCH_CONFIG", raising=False)
    monkeypatch.delenv("EXOWATCH_DATABASE_URL", raising=False)
    database = f"sqlite:///{tmp_path / 'store.db'}"
    names = ["xxe_loopback.xml.tmpl", "parameter_entity.xml.tmpl", "external_dtd.xml.tmpl", "xxe_file.xml"]
    with ReplayServer() as server:
        serve_site(server)
        for number, name in enumerate(names):
            server.routes[f"/hostile/{number}.xml"] = static(hostile(name, tripwire.port), RSS_TYPE)
        feeds = [
            FEEDS["food-safety-recalls"],
            *(f"https://www.fda.gov/hostile/{n}.xml" for n in range(len(names))),
        ]
        config = write_notices_config(tmp_path / "config.toml", server, database, feeds=feeds)
        assert main(["--config", str(config), "init"]) == 0
        code = main(["--config", str(config), "crawl", "fda_notices"])
        out = capsys.readouterr().out
    assert code == 0, out
    store = Store.open(database)
    try:
        with store.engine.connect() as connection:
            run = connection.execute(CrawlRun.__table__.select()).one()
    finally:
        store.close()
    assert run.status == "partial" and run.error.startswith("3 failed")  # external_dtd is read
    assert tripwire.count() == 0
