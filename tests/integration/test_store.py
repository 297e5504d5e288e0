"""Store behaviours, each run on SQLite and on the real PostgreSQL."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import inspect, select, text

from db import migrate
from db.models import Event, WarningLetter
from db.records import LetterRecord
from db.store import Store, StoreError

BASE = "https://www.fda.gov/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/"


def letter(slug: str, **fields) -> LetterRecord:
    values = {"company_name": f"Company {slug}", "posted_date": date(2024, 1, 9), "subject": "CGMP"}
    values.update(fields)
    return LetterRecord(slug=slug, url=BASE + slug, **values)


def events(store: Store) -> list:
    with store.engine.connect() as connection:
        return list(connection.execute(select(Event.__table__).order_by(Event.__table__.c.id)))


def letters(store: Store) -> dict:
    with store.engine.connect() as connection:
        return {row.slug: row for row in connection.execute(select(WarningLetter.__table__))}


def test_init_creates_every_table_and_is_idempotent(store):
    tables = set(inspect(store.engine).get_table_names())
    assert {
        "warning_letters",
        "notices",
        "clinics",
        "pages",
        "flags",
        "events",
        "deliveries",
        "crawl_runs",
    } <= tables
    head = migrate.head_revision()
    assert store.init() == (head, head)
    store.require_schema()


def test_uninitialised_store_is_refused_with_a_hint(db_url):
    bare = Store.open(db_url)
    try:
        with pytest.raises(StoreError, match="not initialised: run `exowatch init`"):
            bare.require_schema()
    finally:
        bare.close()


def test_upsert_reports_new_changed_unchanged_and_writes_matching_events(store):
    first = store.upsert_letters([letter("a-111111-01012024"), letter("b-222222-01012024")], source="test")
    assert sorted(first.new) == ["a-111111-01012024", "b-222222-01012024"]
    assert (first.changed, first.unchanged) == ([], [])

    closed = letter("a-111111-01012024", closeout_letter_date=date(2024, 6, 1))
    second = store.upsert_letters(
        [closed, letter("b-222222-01012024"), letter("c-333333-01012024")], source="test"
    )
    assert second.new == ["c-333333-01012024"]
    assert second.changed == ["a-111111-01012024"]
    assert second.unchanged == ["b-222222-01012024"]
    assert second.outcome("a-111111-01012024") == "changed"

    kinds = [(e.kind, e.subject_key) for e in events(store)]
    assert kinds == [
        ("letter.new", "a-111111-01012024"),
        ("letter.new", "b-222222-01012024"),
        ("letter.new", "c-333333-01012024"),
        ("letter.updated", "a-111111-01012024"),
    ]
    updated = events(store)[-1]
    assert updated.summary == {
        "source": "test",
        "changes": {"closeout_letter_date": {"from": None, "to": "2024-06-01"}},
    }
    stored = letters(store)
    assert stored["a-111111-01012024"].revision == 2
    assert stored["a-111111-01012024"].closeout_letter_date == date(2024, 6, 1)
    assert updated.subject_id == stored["a-111111-01012024"].id
    assert stored["b-222222-01012024"].revision == 1


def test_reimport_writes_nothing(store):
    batch = [letter(f"l{i}-{100000 + i}-01012024") for i in range(30)]
    store.upsert_letters(batch, source="test")
    before = (letters(store), events(store))
    again = store.upsert_letters(batch, source="test")
    assert len(again.unchanged) == 30
    assert (letters(store), events(store)) == before


def test_absent_fields_never_erase_and_descriptive_fields_only_fill(store):
    store.upsert_letters(
        [
            letter(
                "a-111111-01012024",
                subject="Unapproved New Drugs/Misbranded/OTC",
                response_letter_date=date(2024, 2, 2),
            )
        ],
        source="csv",
    )
    # another export words the subject differently and lacks the response date: nothing changes
    report = store.upsert_letters(
        [letter("a-111111-01012024", subject="Unapproved New Drugs/Misbranded", response_letter_date=None)],
        source="json",
    )
    assert report.unchanged == ["a-111111-01012024"]
    stored = letters(store)["a-111111-01012024"]
    assert stored.subject == "Unapproved New Drugs/Misbranded/OTC"
    assert stored.response_letter_date == date(2024, 2, 2)
    # a gap is filled, and a lifecycle date is replaced: both are changes
    report = store.upsert_letters(
        [
            letter(
                "a-111111-01012024",
                issuing_office="Center for Tobacco Products (CTP)",
                response_letter_date=date(2024, 3, 3),
            )
        ],
        source="json",
    )
    assert report.changed == ["a-111111-01012024"]
    changes = events(store)[-1].summary["changes"]
    assert changes == {
        "issuing_office": {"from": None, "to": "Center for Tobacco Products (CTP)"},
        "response_letter_date": {"from": "2024-02-02", "to": "2024-03-03"},
    }


def test_duplicates_within_one_call_are_merged_into_one_record(store):
    report = store.upsert_letters(
        [letter("a-111111-01012024"), letter("a-111111-01012024", closeout_letter_date=date(2024, 5, 5))],
        source="test",
    )
    assert report.new == ["a-111111-01012024"] and report.total == 1
    assert letters(store)["a-111111-01012024"].closeout_letter_date == date(2024, 5, 5)
    assert len(events(store)) == 1


def test_batches_are_separate_transactions_and_timestamps_are_utc(db_url):
    ticks = iter(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=i) for i in range(100))
    store = Store.open(db_url)
    store.clock = lambda: next(ticks)
    store.batch_size = 2
    store.init()
    try:
        report = store.upsert_letters([letter(f"x{i}-{200000 + i}-01012024") for i in range(5)], source="t")
        assert len(report.new) == 5
        seen = sorted({row.first_seen_at for row in letters(store).values()})
        assert len(seen) == 3  # 2 + 2 + 1: one clock reading per batch transaction
        assert all(t.tzinfo is not None and t.utcoffset() == timedelta(0) for t in seen)
        assert seen[0] == datetime(2026, 1, 1, tzinfo=UTC)
    finally:
        store.close()


def test_a_failure_inside_the_transaction_leaves_nothing_half_written(store, monkeypatch):
    store.upsert_letters([letter("a-111111-01012024")], source="test")
    before = (letters(store), events(store))

    def broken(*args, **kwargs):  # fails after the letters were written, before the events
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Store, "_read_revisions", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        store.upsert_letters(
            [
                letter("b-222222-01012024"),
                replace(letter("a-111111-01012024"), closeout_letter_date=date(2024, 1, 1)),
            ],
            source="test",
        )
    assert (letters(store), events(store)) == before


def test_natural_key_is_unique_in_the_database_itself(store):
    store.upsert_letters([letter("a-111111-01012024")], source="test")
    now = datetime.now(UTC)
    with pytest.raises(Exception, match="(?i)unique"), store.engine.begin() as connection:
        connection.execute(
            WarningLetter.__table__.insert(),
            {"slug": "a-111111-01012024", "url": "u", "first_seen_at": now, "updated_at": now, "revision": 1},
        )


def test_runs_and_counts(store):
    run = store.start_run("import-letters")
    report = store.upsert_letters([letter("a-111111-01012024")], source="test")
    store.finish_run(run, status="ok", counts=report.counts(), seen=1)
    latest = store.latest_runs(1)[0]
    assert (latest["status"], latest["records_new"], latest["records_seen"]) == ("ok", 1, 1)
    assert latest["duration_seconds"] >= 0
    counts = store.table_counts()
    assert counts["warning_letters"] == 1 and counts["events"] == 1 and counts["crawl_runs"] == 1
    assert [e.kind for e in store.latest_events(5)] == ["letter.new"]


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}", busy_timeout_seconds=7)
    try:
        with store.engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 7000
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        store.close()


def test_foreign_keys_are_enforced(store):
    now = datetime.now(UTC)
    with pytest.raises(Exception, match="(?i)foreign key"), store.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO pages (url, clinic_id, first_seen_at, updated_at, revision) VALUES (:u, 999, :n, :n, 1)"
            ),
            {"u": "https://x.example/", "n": now},
        )


def test_a_store_from_a_newer_exowatch_is_left_alone(store):
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    for action in (store.init, store.require_schema):
        with pytest.raises(StoreError, match="at schema 9999, which this exowatch does not know"):
            action()


def test_a_change_keeps_first_seen_and_moves_updated(db_url):
    ticks = iter([datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)])
    store = Store.open(db_url)
    store.clock = lambda: next(ticks)
    store.init()
    try:
        store.upsert_letters([letter("a-111111-01012024")], source="t")
        store.upsert_letters(
            [letter("a-111111-01012024", closeout_letter_date=date(2026, 1, 15))], source="t"
        )
        row = letters(store)["a-111111-01012024"]
        assert row.first_seen_at == datetime(2026, 1, 1, tzinfo=UTC)
        assert row.updated_at == datetime(2026, 2, 1, tzinfo=UTC)
        assert row.revision == 2
    finally:
        store.close()


def test_a_writer_that_bypassed_the_lock_is_detected_and_rolled_back(store, monkeypatch):
    store.upsert_letters([letter("a-111111-01012024")], source="test")
    before = (letters(store), events(store))
    # simulate a stale read: the batch believes the letter is not stored yet
    monkeypatch.setattr(Store, "_read_stored", lambda self, connection, entity, keys: {})
    with pytest.raises(
        StoreError, match="stored revision 2, expected 1; another writer bypassed the store lock"
    ):
        store.upsert_letters([letter("a-111111-01012024", subject="Other")], source="test")
    assert (letters(store), events(store)) == before


def test_delisting_needs_consecutive_complete_crawls_and_deletes_nothing(store):
    store.upsert_letters([letter("a-111111-01012024"), letter("b-222222-01012024")], source="t")
    both = ["a-111111-01012024", "b-222222-01012024"]
    assert store.record_listing(both, complete=True, delist_after=2).delisted == []
    # b missing once, seen again: the count starts over
    store.record_listing(["a-111111-01012024"], complete=True, delist_after=2)
    store.record_listing(both, complete=True, delist_after=2)
    assert letters(store)["b-222222-01012024"].listing_missing_count == 0
    # an incomplete crawl never counts against a letter
    store.record_listing(["a-111111-01012024"], complete=False, delist_after=2)
    store.record_listing(["a-111111-01012024"], complete=True, delist_after=2)
    assert letters(store)["b-222222-01012024"].delisted_at is None
    report = store.record_listing(["a-111111-01012024"], complete=True, delist_after=2)
    assert report.delisted == ["b-222222-01012024"]
    row = letters(store)["b-222222-01012024"]
    assert row.delisted_at is not None and row.listing_missing_count == 2
    assert [e.kind for e in events(store)][-1] == "letter.delisted"
    assert events(store)[-1].subject_key == "b-222222-01012024"
    # more crawls without it: no second event
    store.record_listing(["a-111111-01012024"], complete=True, delist_after=2)
    assert [e.kind for e in events(store)].count("letter.delisted") == 1
    # it comes back
    assert store.record_listing(both, complete=True, delist_after=2).relisted == ["b-222222-01012024"]
    assert letters(store)["b-222222-01012024"].delisted_at is None
    assert [e.kind for e in events(store)][-1] == "letter.relisted"
    assert store.table_counts()["warning_letters"] == 2


def test_page_fields_json_and_quiet_body_changes(store):
    page = letter(
        "k-649343-09012023",
        products=("Biologics", "Drugs"),
        emails=["x@example.com"],
        body_text="WARNING LETTER ... exosome products",
        content_hash="a" * 64,
        tags=["exosome"],
        tag_phrases={"exosome": ["exosome products"]},
        page_fetched_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert store.upsert_letters([page], source="crawl").new == ["k-649343-09012023"]
    # the same page read again later: only the fetch time differs, which is no change
    again = replace(page, page_fetched_at=datetime(2026, 2, 1, tzinfo=UTC))
    assert store.upsert_letters([again], source="crawl").unchanged == ["k-649343-09012023"]
    stored = letters(store)["k-649343-09012023"]
    assert stored.products == ["Biologics", "Drugs"] and stored.response_letters is None
    assert stored.page_fetched_at == datetime(2026, 1, 1, tzinfo=UTC)
    changed = replace(page, body_text="WARNING LETTER ... revised", content_hash="b" * 64)
    report = store.upsert_letters([changed], source="crawl", overwrite=set(LetterRecord.__dataclass_fields__))
    assert report.changed == ["k-649343-09012023"]
    diff = events(store)[-1].summary["changes"]
    assert diff["body_text"] == {"changed": True}
    assert diff["content_hash"] == {"from": "a" * 64, "to": "b" * 64}


def test_source_health_is_one_event_when_it_starts_failing_and_one_when_it_recovers(db_url):
    from sqlalchemy import select as _select

    from db.models import Event

    store = Store.open(db_url)
    store.init()
    try:
        assert store.record_source_health("fda_notices", failing=False, run_id=1, reason=None) is None
        assert (
            store.record_source_health("fda_notices", failing=True, run_id=2, reason="HTTP 503")
            == "source.failing"
        )
        assert store.record_source_health("fda_notices", failing=True, run_id=3, reason="HTTP 503") is None
        assert (
            store.record_source_health("fda_notices", failing=False, run_id=4, reason=None)
            == "source.recovered"
        )
        with store.engine.connect() as connection:
            kinds = [
                k for (k,) in connection.execute(_select(Event.kind).where(Event.subject_type == "source"))
            ]
        assert kinds == ["source.failing", "source.recovered"]
    finally:
        store.close()


def test_a_partial_crawl_is_one_event_per_change_of_its_failure_counts(db_url):
    store = Store.open(db_url)
    store.init()
    try:
        health = store.record_source_health
        assert health("fda_warning_letters", failing=False, run_id=1, reason=None) is None
        assert health("fda_warning_letters", failing=False, run_id=2, reason="2 failed", pages_failed=2) == (
            "source.partial"
        )
        assert (
            health("fda_warning_letters", failing=False, run_id=3, reason="2 failed", pages_failed=2) is None
        )
        assert health("fda_warning_letters", failing=False, run_id=4, reason="1 failed", pages_failed=1) == (
            "source.partial"
        )
        assert health("fda_warning_letters", failing=True, run_id=5, reason="HTTP 503") == "source.failing"
        assert health("fda_warning_letters", failing=False, run_id=6, reason="1 failed", pages_failed=1) == (
            "source.partial"
        )
        assert health("fda_warning_letters", failing=False, run_id=7, reason=None) == "source.recovered"
        assert health("fda_warning_letters", failing=False, run_id=8, reason=None) is None
        partial = [e for e in events(store) if e.kind == "source.partial"]
        assert [e.summary["pages_failed"] for e in partial] == [2, 1, 1]
        assert partial[0].summary == {
            "run_id": 2,
            "error": "2 failed",
            "pages_failed": 2,
            "sources_failed": 0,
        }
    finally:
        store.close()


def test_letter_page_errors_are_noted_cleared_and_the_backlog_is_newest_first(store):
    store.upsert_letters(
        [
            letter("old-1", letter_date=date(2020, 1, 1), posted_date=date(2020, 2, 1)),
            letter("new-2", letter_date=date(2025, 1, 1), posted_date=date(2025, 1, 9)),
            letter("same-day-3", letter_date=date(2025, 1, 1), posted_date=date(2025, 2, 1)),
            letter("undated-4", letter_date=None, posted_date=date(2026, 1, 1)),
            letter("read-5", letter_date=date(2026, 1, 1), body_text="text", content_hash="h5"),
            letter("gone-6", letter_date=date(2026, 2, 1)),
        ],
        source="test",
    )
    store.record_listing(
        ["old-1", "new-2", "same-day-3", "undated-4", "read-5", "gone-6"], complete=True, delist_after=1
    )
    store.record_listing(
        ["old-1", "new-2", "same-day-3", "undated-4", "read-5"], complete=True, delist_after=1
    )
    assert letters(store)["gone-6"].delisted_at is not None
    # no body (backfilled), newest letter date first, then posted date; undated last; delisted left out
    assert store.letter_page_backlog(10) == ["same-day-3", "new-2", "old-1", "undated-4"]
    assert store.letter_page_backlog(2) == ["same-day-3", "new-2"]
    revisions = {slug: row.revision for slug, row in letters(store).items()}
    events_before = len(events(store))

    store.record_letter_pages(
        {"read-5": "HTTP 500 from /x", "old-1": "letter page is truncated"}, read=["new-2"]
    )
    rows = letters(store)
    assert rows["read-5"].page_error == "HTTP 500 from /x" and rows["read-5"].body_text == "text"
    assert rows["read-5"].page_error_at.tzinfo is not None
    assert rows["old-1"].page_error == "letter page is truncated"
    assert rows["new-2"].page_error is None
    # a letter with a body whose page failed since is asked for again
    assert store.letter_page_backlog(10) == ["read-5", "same-day-3", "new-2", "old-1", "undated-4"]
    assert store.letter_page_counts() == {"letters": 6, "with_body": 1, "unreadable": 2, "waiting": 3}
    # bookkeeping: no revision, no event
    assert {slug: row.revision for slug, row in rows.items()} == revisions
    assert len(events(store)) == events_before

    store.record_letter_pages({}, read=["read-5", "old-1"])
    rows = letters(store)
    assert rows["read-5"].page_error is None and rows["read-5"].page_error_at is None
    assert rows["old-1"].page_error is None
    assert store.letter_page_backlog(10) == ["same-day-3", "new-2", "old-1", "undated-4"]
