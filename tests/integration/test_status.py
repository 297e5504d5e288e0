"""`exowatch status` on SQLite and PostgreSQL: each source's last run, failures in a row and next
run (from the daemon's APScheduler table `scheduler_jobs`, read with plain SQL), open flags by
severity, events not yet digested per channel, the store's size; the same as one JSON object."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, Float, LargeBinary, MetaData, String, Table, insert, select

from db.models import Clinic
from db.records import ClinicRecord, LetterRecord
from db.store import Store
from monitor.cli import main

NOTICES_NEXT = 4102444800.0  # 2100-01-01 00:00:00Z
DIGEST_NEXT = 4102448400.0  # 2100-01-01 01:00:00Z
NASTY_ERROR = "listing answered\x1b[2J a block page\nTraceback line two\u202e\r" + "x" * 1000

CONFIG = """
[[channels]]
name = "all"
kind = "email"
to = ["ops@example.org"]
sender = "exowatch@example.org"
min_severity = "medium"

[[channels]]
name = "highs"
kind = "feed"
events = ["flag.opened", "flag.escalated"]
min_severity = "high"
"""


@pytest.fixture
def status(monkeypatch, capsys, tmp_path, db_url):
    monkeypatch.delenv("EXOWATCH_CONFIG", raising=False)
    monkeypatch.setenv("EXOWATCH_DATABASE_URL", db_url)
    config = tmp_path / "exowatch.toml"
    config.write_text(CONFIG)

    def invoke(*args: str) -> str:
        code = main(["--config", str(config), "status", *args])
        captured = capsys.readouterr()
        assert code == 0, captured.err
        return captured.out

    return invoke


@pytest.fixture
def store(db_url):
    handle = Store.open(db_url)
    handle.init()
    yield handle
    handle.close()


def flag(clinic_id: int, rule: str, severity: str, event: str, status: str = "open", **extra) -> dict:
    return {
        "clinic_id": clinic_id,
        "rule_id": rule,
        "rule_version": 1,
        "status": status,
        "severity": severity,
        "evidence": {"url": "http://a.example/exosomes", "snippet": "exosome IV drip"},
        "page_id": None,
        "event": event,
        **extra,
    }


def build_state(store: Store) -> None:
    """Runs of every kind, four open flags (one escalated) and one resolved, a letter, a failing
    source, a channel cursor and a failed send."""
    # crawl runs: letters ok; notices ok then failed twice; listings never ok; sites still running
    run = store.start_run("fda_warning_letters")
    store.finish_run(run, status="ok", counts=(3, 1, 5), seen=9)
    run = store.start_run("fda_notices")
    store.finish_run(run, status="ok", counts=(1, 0, 2), seen=3)
    run = store.start_run("fda_notices")
    store.finish_run(run, status="failed", error="feed refused")
    run = store.start_run("fda_notices", attempt=2)
    store.finish_run(run, status="failed", error=NASTY_ERROR)
    run = store.start_run("clinic_listings")
    store.finish_run(run, status="failed", error="directory down")
    store.start_run("clinic_sites")

    # events 1, 2: clinic.new
    store.upsert_clinics(
        [
            ClinicRecord("a.example", name="A", country="US"),
            ClinicRecord("b.example", name="B", country="GB"),
        ],
        source="test",
        seen_at=datetime.now(UTC),
    )
    with store.engine.connect() as connection:
        ids = {key: id_ for key, id_ in connection.execute(select(Clinic.clinic_key, Clinic.id))}
    a, b = ids["a.example"], ids["b.example"]
    # events 3..6, then 7 (escalated), 8 (opened) and 9 (resolved)
    store.write_flags(
        [
            flag(a, "exosome_route", "high", "flag.opened"),
            flag(a, "exosome_cosmetic", "medium", "flag.opened"),
            flag(b, "exosome_indirect", "low", "flag.opened"),
            flag(b, "exosome_condition", "high", "flag.opened"),
        ],
        source="flagger",
    )
    condition = store.flags_of([b])[(b, "exosome_condition")]["id"]
    store.write_flags(
        [flag(b, "exosome_condition", "high", "flag.escalated", status="escalated", id=condition)],
        source="flagger",
    )
    store.write_flags([flag(b, "exosome_cosmetic", "medium", "flag.opened")], source="flagger")
    cosmetic = store.flags_of([b])[(b, "exosome_cosmetic")]["id"]
    store.write_flags(
        [flag(b, "exosome_cosmetic", "medium", "flag.resolved", status="resolved", id=cosmetic)],
        source="flagger",
    )
    # event 10: letter.new; event 11: source.failing
    store.upsert_letters(
        [LetterRecord(slug="kimera-labs", url="https://www.fda.gov/x/kimera-labs", company_name="Kimera")],
        source="test",
    )
    assert store.record_source_health("fda_notices", failing=True, run_id=run, reason="down")
    # channel "all" carried events 1..2; its digest of 3..11 then failed to send
    store.start_delivery("all", 1, 2, None, status="empty")
    delivery = store.start_delivery("all", 3, 11, "<m@exowatch>")
    store.finish_delivery(delivery, "failed", "smtp down")


def add_scheduler_jobs(store: Store, rows: list[tuple[str, float | None]]) -> None:
    """The table APScheduler 3.11's SQLAlchemyJobStore creates, as the daemon would leave it."""
    jobs = Table(
        "scheduler_jobs",
        MetaData(),
        Column("id", String(191), primary_key=True),
        Column("next_run_time", Float(25), index=True),
        Column("job_state", LargeBinary, nullable=False),
    )
    with store.engine.begin() as connection:
        jobs.create(connection)
        for job_id, at in rows:
            connection.execute(insert(jobs).values(id=job_id, next_run_time=at, job_state=b"\x80state"))


def section(out: str, start: str, end: str) -> str:
    return out[out.index(start) : out.index(end)]


def test_status_shows_sources_flags_channels_and_size(store, status):
    build_state(store)
    add_scheduler_jobs(
        store,
        [("crawl:fda_notices", NOTICES_NEXT), ("crawl:clinic_sites", None), ("digest:all", DIGEST_NEXT)],
    )

    out = status()
    lines = out.splitlines()
    assert lines[0].startswith("store: ") and lines[1].startswith("config: ")
    # the sections come in order: sources, flags, channels, size, then rows, runs, events
    order = [
        "sources:",
        "open flags:",
        "channels:",
        "store size:",
        "rows per table:",
        "latest runs:",
        "latest events:",
    ]
    starts = [next(i for i, line in enumerate(lines) if line.startswith(s)) for s in order]
    assert starts == sorted(starts)

    sources = section(out, "sources:", "open flags:")
    letters = section(sources, "  fda_warning_letters:", "  fda_notices:")
    assert re.search(
        r"last run #1 ok at \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ: 3 new, 1 changed, 5 unchanged\n", letters
    )
    assert "failed runs in a row" not in letters
    assert "next run: not scheduled (the daemon has no job crawl:fda_warning_letters)" in letters
    assert (
        "next full listing walk: not scheduled (the daemon has no job crawl:fda_warning_letters:full)"
        in letters
    )

    notices = section(sources, "  fda_notices:", "  clinic_listings:")
    assert "last run #4 failed at " in notices and "0 new, 0 changed, 0 unchanged; error: " in notices
    assert "error: listing answered a block page Traceback line two xxx" in notices
    assert "\x1b" not in out and "\u202e" not in out and "\r" not in out
    error_line = next(line for line in notices.splitlines() if "error: " in line)
    assert len(error_line.split("error: ", 1)[1]) == 200 and error_line.endswith("...")
    assert re.search(r"failed runs in a row: 2 \(last ok run \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\)", notices)
    assert "next run: 2100-01-01 00:00:00Z (in " in notices

    listings = section(sources, "  clinic_listings:", "  clinic_sites:")
    assert "last run #5 failed" in listings and "error: directory down" in listings
    assert "failed runs in a row: 1 (never ran ok)" in listings
    sites = sources[sources.index("  clinic_sites:") :]
    assert "last run #6 running since " in sites and "failed runs in a row" not in sites
    assert "next run: paused" in sites

    assert "open flags: 4 (high 2, medium 1, low 1); escalated 1\n" in out

    channels = section(out, "channels:", "store size:")
    assert "  all (email): 9 events not digested (after event #2), 8 for this channel\n" in channels
    assert "    failed sends since the last one sent: 1\n" in channels
    assert "    next digest: 2100-01-01 01:00:00Z (in " in channels
    assert "  highs (feed): 11 events not digested (after event #0), 3 for this channel\n" in channels
    assert "    next digest: not scheduled (the daemon has no job digest:highs)" in channels

    assert re.search(r"^store size: \d+(\.\d)? (B|KB|MB|GB)", out, re.MULTILINE)
    assert "scheduler_jobs" not in section(out, "rows per table:", "latest runs:")
    assert "  #11 " in out[out.index("latest events:") :]


def test_status_json_holds_the_same(store, status, db_url):
    build_state(store)
    add_scheduler_jobs(
        store,
        [("crawl:fda_notices", NOTICES_NEXT), ("crawl:clinic_sites", None), ("digest:all", DIGEST_NEXT)],
    )

    out = status("--json", "--events", "3")
    assert len(out.strip().splitlines()) == 1
    report = json.loads(out)
    assert report["daemon_has_run"] is True
    assert report["store"]["backend"] == ("sqlite" if db_url.startswith("sqlite") else "postgresql")
    assert report["store"]["size_bytes"] > 0

    sources = {entry["source"]: entry for entry in report["sources"]}
    assert list(sources) == ["fda_warning_letters", "fda_notices", "clinic_listings", "clinic_sites"]
    assert {name: (e["last_run"]["status"], e["consecutive_failures"]) for name, e in sources.items()} == {
        "fda_warning_letters": ("ok", 0),
        "fda_notices": ("failed", 2),
        "clinic_listings": ("failed", 1),
        "clinic_sites": ("running", 0),
    }
    letters = sources["fda_warning_letters"]["last_run"]
    assert (letters["new"], letters["changed"], letters["unchanged"], letters["error"]) == (3, 1, 5, None)
    notices = sources["fda_notices"]
    assert notices["last_run"]["error"].startswith("listing answered a block page Traceback line two xxx")
    assert len(notices["last_run"]["error"]) == 200
    assert notices["last_ok_at"] is not None and sources["clinic_listings"]["last_ok_at"] is None
    assert notices["next_run"] == {
        "job": "crawl:fda_notices",
        "state": "scheduled",
        "at": "2100-01-01T00:00:00+00:00",
    }
    assert sources["clinic_sites"]["next_run"]["state"] == "paused"
    assert sources["clinic_listings"]["next_run"] == {
        "job": "crawl:clinic_listings",
        "state": "no job",
        "at": None,
    }

    assert report["flags"] == {"open": 4, "high": 2, "medium": 1, "low": 1, "escalated": 1}
    channels = {entry["channel"]: entry for entry in report["channels"]}
    assert {
        name: (c["cursor"], c["undigested"], c["for_channel"], c["failed_sends"])
        for name, c in channels.items()
    } == {
        "all": (2, 9, 8, 1),
        "highs": (0, 11, 3, 0),
    }
    assert channels["all"]["next_digest"]["at"] == "2100-01-01T01:00:00+00:00"
    assert channels["highs"]["next_digest"]["state"] == "no job"

    assert report["tables"]["flags"] == 5 and report["tables"]["events"] == 11
    assert [event["id"] for event in report["latest_events"]] == [11, 10, 9]
    assert [run["id"] for run in report["latest_runs"]] == [6, 5, 4, 3, 2]


def test_status_before_any_daemon_ran_says_not_scheduled(store, status):
    out = status()
    assert out.count("next run: not scheduled (no daemon has run)") == 4
    assert out.count("next full listing walk: not scheduled (no daemon has run)") == 1
    assert out.count("next digest: not scheduled (no daemon has run)") == 2
    assert out.count(": never run\n") == 4
    assert "open flags: 0 (high 0, medium 0, low 0); escalated 0" in out
    assert "  all (email): 0 events not digested (after event #0)\n" in out

    report = json.loads(status("--json"))
    assert report["daemon_has_run"] is False
    assert {e["next_run"]["state"] for e in report["sources"]} == {"no daemon"}
    assert {c["next_digest"]["state"] for c in report["channels"]} == {"no daemon"}
    assert report["latest_events"] == [] and report["latest_runs"] == []


def test_status_counts_the_letter_pages_that_could_not_be_read(store, status):
    store.upsert_letters(
        [
            LetterRecord(slug="read", url="https://www.fda.gov/x/read", body_text="text", content_hash="h"),
            LetterRecord(slug="broken", url="https://www.fda.gov/x/broken"),
            LetterRecord(slug="backfilled-1", url="https://www.fda.gov/x/backfilled-1"),
            LetterRecord(slug="backfilled-2", url="https://www.fda.gov/x/backfilled-2"),
        ],
        source="test",
    )
    store.record_letter_pages({"broken": "HTTP 500 from /x/broken"}, read=["read"])
    run = store.start_run("fda_warning_letters")
    store.finish_run(
        run,
        status="partial",
        counts=(4, 0, 0),
        seen=4,
        error="1 failed: letter broken: HTTP 500 from /x/broken",
        stats={"pages_failed": 1, "letters_pages_read": 1},
    )

    letters = section(status(), "  fda_warning_letters:", "  fda_notices:")
    assert "last run #1 partial at " in letters
    assert (
        ": 4 new, 0 changed, 0 unchanged, 1 page not read; error: 1 failed: letter broken: HTTP 500"
        in letters
    )
    assert (
        "    letter pages: 1 of 4 letters have a body; 1 could not be read (page_error, tried again), "
        "2 not fetched yet\n"
    ) in letters

    entry = json.loads(status("--json"))["sources"][0]
    assert entry["source"] == "fda_warning_letters"
    assert (entry["last_run"]["status"], entry["last_run"]["pages_failed"]) == ("partial", 1)
    assert entry["last_run"]["sources_failed"] == 0
    assert entry["letter_pages"] == {"letters": 4, "with_body": 1, "unreadable": 1, "waiting": 2}
