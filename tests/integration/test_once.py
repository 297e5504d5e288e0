"""`exowatch once`: the whole job one time, on the replayed clinic web with a feed channel."""

from __future__ import annotations

import feedparser

from db.store import Store
from monitor.cli import main
from tests.integration.test_crawl_clinics import EXPECTED, write_config
from tests.web_replay import WebReplay

RANK = {"low": 1, "medium": 2, "high": 3}


def test_once_crawls_flags_and_writes_the_digest_then_a_second_time_adds_nothing(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.delenv("EXOWATCH_CONFIG", raising=False)
    monkeypatch.delenv("EXOWATCH_DATABASE_URL", raising=False)
    database = f"sqlite:///{tmp_path / 'store.db'}"
    with WebReplay() as web:
        config = tmp_path / "config.toml"
        write_config(config, web, database)
        config.write_text(
            config.read_text("utf-8") + '\n[run]\nsources = ["clinic_listings", "clinic_sites"]\n\n'
            '[[channels]]\nname = "public"\nkind = "feed"\nfeed_dir = "feeds"\n',
            encoding="utf-8",
        )
        assert main(["--config", str(config), "init"]) == 0
        code = main(["--config", str(config), "once"])
        out = capsys.readouterr().out
        assert code == 0, out
        assert "clinic_listings: run #1 ok" in out and "clinic_sites: run #2 partial" in out
        assert "flagger: 137 pages assessed; flags: " in out
        assert "digest public: sent" in out
        entries = feedparser.parse((tmp_path / "feeds" / "public.rss.xml").read_bytes()).entries
        assert any(e.title.startswith("[high]") for e in entries)
        code = main(["--config", str(config), "once"])
        out = capsys.readouterr().out
        assert code == 0 and "flagger: 0 pages assessed" in out and "digest public: nothing" in out

    # the flags against what each replayed clinic really offers (tests/fixtures/clinics/expected.json,
    # written apart from the rules): no clinic without exosomes is flagged, not even the one whose
    # FAQ says it declines them; every injection or IV clinic is high; every exosome clinic is flagged
    store = Store.open(database)
    try:
        severity: dict[str, str] = {}
        for flag in store.open_flags():
            current = severity.get(flag["clinic_key"], "low")
            severity[flag["clinic_key"]] = max(current, flag["severity"], key=RANK.__getitem__)
    finally:
        store.close()
    for clinic in EXPECTED["clinics"]:
        offers, key = set(clinic["offers"]), clinic["key"]
        if not any(offer.startswith("exosome_") for offer in offers):
            assert key not in severity, (key, offers)
        else:
            assert key in severity, (key, offers)
        if offers & {"exosome_injection", "exosome_iv"}:
            assert severity[key] == "high", (key, offers)
