"""Store upsert throughput against the raw driver's executemany of the same rows, as a ratio.

Why it measures the way it does:

* The number that matters is a ratio, not rows/s: absolute speed depends on the machine, the
  ratio says what the store's safety (writer lock, read-before-write, revision check, events)
  and SQLAlchemy cost over the cheapest competent way to do the same writes with the driver.
* Same rows, same work. Both sides get the same LetterRecord objects (the real FDA listing
  fixtures, deduplicated, multiplied with synthetic slugs for volume, sorted by slug so neither
  side gets a different index-insert order) and write, per batch of 500 in one transaction, the
  same letter rows (same values, timestamps, revision) and one event per new or changed letter.
  The baseline is an `executemany` of INSERT .. ON CONFLICT (slug) DO UPDATE carrying the store's
  merge rule in SQL (lifecycle fields overwrite, others only fill gaps, a row that would not
  change is not written), one SELECT for the ids of the rows written in this transaction, and
  an `executemany` into `events`. It takes no writer lock and reads nothing beforehand: that
  is the store's overhead being measured. Same PRAGMAs on SQLite; psycopg 3 on PostgreSQL
  (pipelined executemany, statements prepared by the driver).
* Same schema: each side's fresh database is created with Store.init() (Alembic), so tables and
  indexes are identical. Every round starts from fresh, empty databases on both sides.
* Noise: the machine is shared, and a stall (another tenant, the disk, a checkpoint) only ever
  adds time, sometimes doubling one run. So the two sides run back to back in every round,
  alternating which goes first, and each side's rate is its best round: the ratio is best store
  rate over best raw rate. The median of the per-round ratios and their range are shown beside
  it, to show how noisy the run was.
* Nothing is asserted about timings. The script does check that both sides did the same work
  (row counts per round, identical letters and events in the first round), since a ratio of two
  different workloads would mean nothing.

Run: `python bench/store.py` (PostgreSQL admin URL: $EXOWATCH_BENCH_POSTGRES_URL).
"""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from operator import attrgetter
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from db.engine import make_engine
from db.records import LETTER_LIFECYCLE_FIELDS, LetterRecord
from db.store import LETTERS, Store
from monitor.backfill import read_exports

LISTINGS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "fda" / "listing"
# ~4,000 distinct letters x 5 synthetic copies = ~20,000 rows; 6 rounds: each side leads three times.
# The test suite runs a tiny version (EXOWATCH_BENCH_COPIES=1, _ROUNDS=2) to keep this script working.
COPIES = int(os.environ.get("EXOWATCH_BENCH_COPIES", "5"))
ROUNDS = int(os.environ.get("EXOWATCH_BENCH_ROUNDS", "6"))
BATCH = 500
SOURCE = "bench"
GOAL = 0.8
PG_ADMIN_URL = os.environ.get("EXOWATCH_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# (scenario, letters each side must write): a load into empty tables, then the same rows again.
SCENARIOS = (("load", "all"), ("re-import", "none"))

FIELDS = tuple(f.name for f in dataclasses.fields(LetterRecord))
LETTER_COLUMNS = FIELDS + ("first_seen_at", "updated_at", "revision")
EVENT_COLUMNS = ("at", "kind", "subject_type", "subject_id", "subject_key", "summary")


# -- data -----------------------------------------------------------------------------------------


def load_letters(copies: int) -> tuple[list[LetterRecord], int]:
    """Distinct letters from the listing fixtures, times `copies` (synthetic slugs), by slug."""
    records, _linkless, _counts = read_exports(sorted(LISTINGS.iterdir()))
    distinct: dict[str, LetterRecord] = {}
    for record in records:
        distinct.setdefault(record.slug, record)
    letters = list(distinct.values())
    for n in range(1, copies):
        letters += [
            dataclasses.replace(r, slug=f"{r.slug}-b{n}", url=f"{r.url}-b{n}") for r in distinct.values()
        ]
    letters.sort(key=lambda r: r.slug)
    return letters, len(distinct)


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


# -- the raw-driver baseline ----------------------------------------------------------------------


@dataclass(frozen=True)
class RawDialect:
    """What differs between sqlite3 and psycopg 3 for the same statements."""

    param: str  # placeholder
    distinct: str  # null-safe "differs" operator
    json_param: str  # placeholder of a JSON document
    stamp: Callable[[datetime], Any]  # an aware UTC datetime as the column stores it
    keys_sql: Callable[[int], str]  # "slug <this>" matches n keys
    keys_params: Callable[[list[str]], list[Any]]


def _sqlite_stamp(value: datetime) -> str:
    """What SQLAlchemy stores on SQLite for a UTCDateTime: naive UTC, 'YYYY-MM-DD HH:MM:SS.ffffff'."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


SQLITE = RawDialect(
    param="?",
    distinct="IS NOT",
    json_param="?",
    stamp=_sqlite_stamp,
    keys_sql=lambda n: f"IN ({', '.join('?' * n)})",
    keys_params=list,
)
POSTGRES = RawDialect(
    param="%s",
    distinct="IS DISTINCT FROM",
    json_param="%s::jsonb",
    stamp=lambda value: value,
    keys_sql=lambda n: "= ANY(%s)",
    keys_params=lambda keys: [keys],
)


def upsert_sql(d: RawDialect) -> str:
    """INSERT .. ON CONFLICT DO UPDATE with the store's merge rule, writing only rows that differ."""
    table, key = LETTERS.table.name, LETTERS.key
    sets, differs = [], []
    for f in FIELDS:
        if f == key:
            continue
        if f in LETTER_LIFECYCLE_FIELDS:  # a stated value replaces the stored one
            sets.append(f"{f} = COALESCE(excluded.{f}, {table}.{f})")
            differs.append(f"(excluded.{f} IS NOT NULL AND excluded.{f} {d.distinct} {table}.{f})")
        else:  # a stated value only fills a gap
            sets.append(f"{f} = COALESCE({table}.{f}, excluded.{f})")
            differs.append(f"({table}.{f} IS NULL AND excluded.{f} IS NOT NULL)")
    sets += ["updated_at = excluded.updated_at", f"revision = {table}.revision + 1"]
    return (
        f"INSERT INTO {table} ({', '.join(LETTER_COLUMNS)}) "
        f"VALUES ({', '.join([d.param] * len(LETTER_COLUMNS))}) "
        f"ON CONFLICT ({key}) DO UPDATE SET {', '.join(sets)} "
        f"WHERE {' OR '.join(differs)}"
    )


class RawLoader:
    """The baseline: per batch, executemany the upsert, SELECT the written ids, executemany events."""

    def __init__(self, connection: Any, dialect: RawDialect) -> None:
        self.connection = connection
        self.dialect = dialect
        self.upsert = upsert_sql(dialect)
        self.events = (
            f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) "
            f"VALUES ({', '.join([dialect.param] * (len(EVENT_COLUMNS) - 1))}, {dialect.json_param})"
        )
        self.values = attrgetter(*FIELDS)
        self.headline = attrgetter(*LETTERS.headline)

    def upsert_letters(self, letters: Sequence[LetterRecord]) -> int:
        """Returns how many letters were written (new or changed)."""
        return sum(self._batch(letters[i : i + BATCH]) for i in range(0, len(letters), BATCH))

    def _written_sql(self, n: int) -> str:
        d = self.dialect
        return (
            f"SELECT id, {LETTERS.key}, revision FROM {LETTERS.table.name} "
            f"WHERE {LETTERS.key} {d.keys_sql(n)} AND updated_at = {d.param}"
        )

    def _batch(self, batch: Sequence[LetterRecord]) -> int:
        stamp = self.dialect.stamp(datetime.now(UTC))
        rows = [(*self.values(r), stamp, stamp, 1) for r in batch]
        by_key = {r.slug: r for r in batch}
        cursor = self.connection.cursor()
        try:
            cursor.executemany(self.upsert, rows)
            keys = list(by_key)
            cursor.execute(self._written_sql(len(keys)), [*self.dialect.keys_params(keys), stamp])
            written = cursor.fetchall()
            # Both scenarios only add or skip letters; a changed letter would get the headline
            # summary here where the store writes its field-by-field diff.
            events = [
                (
                    stamp,
                    LETTERS.new_kind if revision == 1 else LETTERS.changed_kind,
                    LETTERS.subject_type,
                    row_id,
                    key,
                    json.dumps(self._summary(by_key[key])),
                )
                for row_id, key, revision in written
            ]
            if events:
                cursor.executemany(self.events, events)
            self.connection.commit()
        finally:
            cursor.close()
        return len(written)

    def _summary(self, letter: LetterRecord) -> dict[str, Any]:
        values = self.headline(letter)
        return {"source": SOURCE, **{f: _jsonable(v) for f, v in zip(LETTERS.headline, values, strict=True)}}


# -- backends: fresh databases and raw connections ------------------------------------------------


# What db.engine sets on every SQLite connection of the store.
SQLITE_PRAGMAS = ("busy_timeout = 30000", "foreign_keys = ON", "journal_mode = WAL", "synchronous = NORMAL")


class SqliteBackend:
    name = "sqlite"
    dialect = SQLITE

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="exowatch-bench-")

    def fresh(self, side: str, round_no: int) -> str:
        return f"sqlite:///{Path(self._tmp.name) / f'{side}-{round_no}.db'}"

    def connect_raw(self, url: str) -> sqlite3.Connection:
        # Dates as SQLAlchemy's Date stores them, converted by the driver itself (process-wide;
        # SQLAlchemy hands sqlite3 strings, so the store never meets this adapter).
        sqlite3.register_adapter(date, date.isoformat)
        # isolation_level IMMEDIATE: sqlite3 opens each batch's transaction with BEGIN IMMEDIATE.
        connection = sqlite3.connect(make_url(url).database, timeout=30, isolation_level="IMMEDIATE")
        for pragma in SQLITE_PRAGMAS:
            connection.execute(f"PRAGMA {pragma}")
        return connection

    def close(self) -> None:
        self._tmp.cleanup()


class PostgresBackend:
    """One throwaway database per side; every round recreates its `public` schema."""

    name = "postgresql"
    dialect = POSTGRES

    def __init__(self, admin_url: str) -> None:
        self.admin = make_url(admin_url).set(drivername="postgresql")
        self.databases = {side: f"exowatch_bench_{os.getpid()}_{side}" for side in ("store", "raw")}
        with self._connect(self.admin, autocommit=True) as admin:
            for name in self.databases.values():
                admin.execute(f'CREATE DATABASE "{name}"')

    @staticmethod
    def _connect(url: Any, **kwargs: Any) -> psycopg.Connection:
        return psycopg.connect(url.render_as_string(hide_password=False), connect_timeout=5, **kwargs)

    def fresh(self, side: str, round_no: int) -> str:
        url = self.admin.set(database=self.databases[side])
        with self._connect(url, autocommit=True) as connection:
            connection.execute("DROP SCHEMA public CASCADE")
            connection.execute("CREATE SCHEMA public")
        return url.render_as_string(hide_password=False)

    def connect_raw(self, url: str) -> psycopg.Connection:
        return self._connect(make_url(url))

    def close(self) -> None:
        with self._connect(self.admin, autocommit=True) as admin:
            for name in self.databases.values():
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- measuring ------------------------------------------------------------------------------------


def _timed(action: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def _check(side: str, scenario: str, expect: str, written: int, total: int) -> None:
    wanted = total if expect == "all" else 0
    if written != wanted:
        raise SystemExit(f"{side} {scenario}: wrote {written} letters, expected {wanted}: not the same work")


def run_store(url: str, letters: list[LetterRecord]) -> dict[str, float]:
    schema = Store(make_engine(url))
    schema.init()  # as the raw side: the schema on its own connection, then a fresh one to measure
    schema.close()
    store = Store(make_engine(url), batch_size=BATCH)
    try:
        seconds = {}
        for scenario, expect in SCENARIOS:
            seconds[scenario], report = _timed(lambda: store.upsert_letters(letters, source=SOURCE))
            _check("store", scenario, expect, len(report.new) + len(report.changed), len(letters))
        return seconds
    finally:
        store.close()


def run_raw(backend: Any, url: str, letters: list[LetterRecord]) -> dict[str, float]:
    schema = Store(make_engine(url))
    schema.init()
    schema.close()
    connection = backend.connect_raw(url)
    try:
        loader = RawLoader(connection, backend.dialect)
        seconds = {}
        for scenario, expect in SCENARIOS:
            seconds[scenario], written = _timed(lambda: loader.upsert_letters(letters))
            _check("raw", scenario, expect, written, len(letters))
        return seconds
    finally:
        connection.close()


def fingerprint(backend: Any, url: str) -> tuple[list, list]:
    """What a side left behind, read with the raw driver (ids and timestamps aside)."""
    connection = backend.connect_raw(url)
    try:
        letters = connection.execute(
            f"SELECT {', '.join(FIELDS)}, revision FROM warning_letters ORDER BY slug"
        ).fetchall()
        events = connection.execute(
            "SELECT e.kind, e.subject_type, e.subject_key, e.summary, e.subject_id = w.id "
            "FROM events e LEFT JOIN warning_letters w ON w.slug = e.subject_key "
            "ORDER BY e.subject_key, e.id"
        ).fetchall()
    finally:
        connection.close()
    events = [(*e[:3], json.loads(e[3]) if isinstance(e[3], str) else e[3], bool(e[4])) for e in events]
    return [tuple(row) for row in letters], events


def measure(backend: Any, letters: list[LetterRecord]) -> dict[str, list[tuple[float, float]]]:
    """Per scenario, per round: (store seconds, raw seconds)."""
    results: dict[str, list[tuple[float, float]]] = {scenario: [] for scenario, _ in SCENARIOS}
    for round_no in range(ROUNDS):
        urls = {side: backend.fresh(side, round_no) for side in ("store", "raw")}
        order = ("store", "raw") if round_no % 2 == 0 else ("raw", "store")
        seconds = {
            side: run_store(urls[side], letters) if side == "store" else run_raw(backend, urls[side], letters)
            for side in order
        }
        if round_no == 0 and fingerprint(backend, urls["store"]) != fingerprint(backend, urls["raw"]):
            raise SystemExit(f"{backend.name}: the store and the baseline left different data behind")
        for scenario in results:
            results[scenario].append((seconds["store"][scenario], seconds["raw"][scenario]))
    return results


# -- reporting ------------------------------------------------------------------------------------

COLUMNS = (
    ("backend", "<11"),
    ("scenario", "<11"),
    ("rows", ">7"),
    ("store rows/s", ">15"),
    ("raw rows/s", ">13"),
    ("ratio", ">8"),
)


def table_row(*cells: Any) -> str:
    return "".join(format(cell, spec) for cell, (_title, spec) in zip(cells, COLUMNS, strict=True))


def report(name: str, rows: int, results: dict[str, list[tuple[float, float]]]) -> float:
    """Print one table line per scenario; returns the load ratio."""
    ratios = {}
    for scenario, pairs in results.items():
        store_rate = rows / min(s for s, _ in pairs)  # best round: noise only adds time
        raw_rate = rows / min(r for _, r in pairs)
        per_round = [r / s for s, r in pairs]  # store rows/s over raw rows/s, paired by round
        ratios[scenario] = store_rate / raw_rate
        line = table_row(
            name, scenario, rows, f"{store_rate:,.0f}", f"{raw_rate:,.0f}", f"{ratios[scenario]:.2f}"
        )
        spread = f"{statistics.median(per_round):.2f} ({min(per_round):.2f}-{max(per_round):.2f})"
        print(f"{line}  {spread}", flush=True)
    return ratios["load"]


def open_postgres() -> PostgresBackend | str:
    """The backend, or why PostgreSQL is skipped."""
    shown = make_url(PG_ADMIN_URL).render_as_string(hide_password=True)
    try:
        return PostgresBackend(PG_ADMIN_URL)
    except psycopg.Error as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return f"postgresql: skipped, cannot use {shown}: {reason}"


def main() -> int:
    letters, distinct = load_letters(COPIES)
    print(
        f"{len(letters)} rows ({distinct} distinct letters from the listing fixtures x{COPIES}, synthetic "
        f"slugs), batches of {BATCH}, fresh databases each round; ratio = store rows/s / raw executemany "
        f"rows/s, each side's best of {ROUNDS} rounds"
    )
    print(table_row(*(title for title, _spec in COLUMNS)) + "  per-round median (range)", flush=True)
    summary = []
    for make_backend in (SqliteBackend, open_postgres):
        backend = make_backend()
        if isinstance(backend, str):
            summary.append(backend)
            continue
        try:
            load_ratio = report(backend.name, len(letters), measure(backend, letters))
        finally:
            backend.close()
        summary.append(f"{backend.name} load ratio: {load_ratio:.2f} (goal >= {GOAL:.2f})")
    print()
    print("\n".join(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
