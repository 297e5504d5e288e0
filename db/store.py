"""The store API: the only module that writes SQL.

Every write goes through `_write()`, which makes this process the store's single writer for the
length of one transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped advisory
lock). Holding that lock, an upsert reads the stored versions of its batch, decides per record
whether it is new, changed or unchanged, writes only what differs with INSERT .. ON CONFLICT DO
UPDATE, and appends one event per new or changed record in the same transaction. Because writers
are serialized, event ids grow in commit order, so "events after id N" never skips a late commit.
The batched statements are built here and run through db.bulk, the driver's own executemany.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Connection,
    Engine,
    String,
    Table,
    any_,
    bindparam,
    column,
    func,
    insert,
    inspect,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy import table as sa_table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect

from db.bulk import BulkStatement
from db.engine import WRITE_OPTION, describe_url, json_dumps, make_engine
from db.models import (
    Base,
    Clinic,
    CrawlRun,
    Delivery,
    Event,
    Flag,
    Notice,
    Page,
    PageSnapshot,
    RobotsTxt,
    WarningLetter,
)
from db.records import (
    CLINIC_UNION_FIELDS,
    LETTER_LIFECYCLE_FIELDS,
    LETTER_QUIET_FIELDS,
    LETTER_UNTRACKED_FIELDS,
    NOTICE_EVENT_FIELDS,
    NOTICE_QUIET_FIELDS,
    NOTICE_UNION_FIELDS,
    NOTICE_UNTRACKED_FIELDS,
    PAGE_EVENT_FIELDS,
    PAGE_QUIET_FIELDS,
    PAGE_UNTRACKED_FIELDS,
    ClinicRecord,
    HtmlSnapshot,
    LetterRecord,
    NoticeRecord,
    PageRecord,
)

# Same constant in every exowatch process: it names "the store's writer" on one database.
_REGENERATIVE_TAGS = frozenset(
    {"exosome", "stem_cell", "hct_p", "regenerative", "amniotic", "umbilical_cord"}
)
_PG_WRITE_LOCK = 0x65786F77_77726974 & 0x7FFFFFFFFFFFFFFF
# Keys per IN (...) read: well under SQLite's bound-parameter limit.
_READ_CHUNK = 500
#: A letter's page_error is kept to this many characters.
PAGE_ERROR_CHARS = 1000


class StoreError(Exception):
    """The store cannot do what was asked (not initialised, invariant broken). Exit status 1."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class UpsertReport:
    """Per-record outcome of one upsert call, by natural key."""

    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    announced: list[str] = field(default_factory=list)  # the changed ones with a changed event

    @property
    def total(self) -> int:
        return len(self.new) + len(self.changed) + len(self.unchanged)

    def outcome(self, key: str) -> str | None:
        for name in ("new", "changed", "unchanged"):
            if key in getattr(self, name):
                return name
        return None

    def extend(self, other: UpsertReport) -> None:
        self.new += other.new
        self.changed += other.changed
        self.unchanged += other.unchanged
        self.announced += other.announced

    def counts(self) -> tuple[int, int, int]:
        return len(self.new), len(self.changed), len(self.unchanged)

    def line(self) -> str:
        return f"{len(self.new)} new, {len(self.changed)} changed, {len(self.unchanged)} unchanged"


@dataclass
class ListingReport:
    delisted: list[str] = field(default_factory=list)
    relisted: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class EventView:
    id: int
    at: datetime
    kind: str
    subject_type: str
    subject_key: str
    summary: dict[str, Any]


@dataclass(frozen=True)
class StoreSize:
    """What the store takes on disk: SQLite's database file and its WAL file (None when there is
    no file: an in-memory database), or PostgreSQL's pg_database_size."""

    database_bytes: int | None
    wal_bytes: int | None = None


# APScheduler's SQLAlchemyJobStore table in the exowatch database (the daemon creates it on its
# first run): `id` ("crawl:<source>", "digest:<channel>"), `next_run_time` (epoch seconds, UTC;
# NULL while paused), `job_state`. Read with plain SQL: status never imports apscheduler.
SCHEDULER_JOBS_TABLE = "scheduler_jobs"


@dataclass(frozen=True)
class _Entity:
    """How one record type maps onto its table and its events."""

    table: Table
    key: str
    fields: tuple[str, ...]
    subject_type: str
    new_kind: str
    changed_kind: str
    headline: tuple[str, ...]  # fields copied into a `*.new` event's summary
    quiet: frozenset[str] = frozenset()  # too large for a summary: a change reads {"changed": true}
    untracked: frozenset[str] = frozenset()  # written along with a change, never a change itself
    json_fields: frozenset[str] = frozenset()  # compared as they read back from the database
    unions: frozenset[str] = frozenset()  # list fields merged as a sorted union: they never shrink
    # When set, a change is news (the changed event) only if one of these fields changed from a
    # stored value; other changes are written without an event (a notice seen in one more feed).
    eventful: frozenset[str] | None = None


@dataclass(frozen=True)
class _BulkWrites:
    """An entity's upsert and its events insert, compiled once per dialect."""

    upsert: BulkStatement
    events: BulkStatement

    @classmethod
    def build(cls, dialect: Dialect, entity: _Entity) -> _BulkWrites:
        table = entity.table
        stmt = (postgresql.insert if dialect.name == "postgresql" else sqlite.insert)(table)
        updates = {f: stmt.excluded[f] for f in entity.fields if f != entity.key}
        updates |= {
            "updated_at": stmt.excluded.updated_at,
            "revision": table.c.revision + literal_column("1"),
        }
        upsert = stmt.on_conflict_do_update(index_elements=[table.c[entity.key]], set_=updates)
        return cls(
            upsert=BulkStatement(
                upsert, dialect, (*entity.fields, "first_seen_at", "updated_at", "revision")
            ),
            events=BulkStatement(insert(Event.__table__), dialect, EVENT_COLUMNS),
        )


EVENT_COLUMNS = ("at", "kind", "subject_type", "subject_id", "subject_key", "summary")


LETTERS = _Entity(
    table=WarningLetter.__table__,
    key="slug",
    fields=tuple(f.name for f in dataclasses.fields(LetterRecord)),
    subject_type="warning_letter",
    new_kind="letter.new",
    changed_kind="letter.updated",
    headline=("company_name", "posted_date", "issuing_office", "subject", "marcs_cms_number", "url"),
    quiet=LETTER_QUIET_FIELDS,
    untracked=LETTER_UNTRACKED_FIELDS,
    json_fields=frozenset(
        c.name for c in WarningLetter.__table__.columns if isinstance(c.type, JSON | JSONB)
    ),
)


NOTICES = _Entity(
    table=Notice.__table__,
    key="url",
    fields=tuple(f.name for f in dataclasses.fields(NoticeRecord)),
    subject_type="notice",
    new_kind="notice.new",
    changed_kind="notice.updated",
    headline=("title", "published_at", "posted_date", "notice_type", "url", "tags"),
    quiet=NOTICE_QUIET_FIELDS,
    untracked=NOTICE_UNTRACKED_FIELDS,
    json_fields=frozenset(c.name for c in Notice.__table__.columns if isinstance(c.type, JSON | JSONB)),
    unions=NOTICE_UNION_FIELDS,
    eventful=NOTICE_EVENT_FIELDS,
)


CLINICS = _Entity(
    table=Clinic.__table__,
    key="clinic_key",
    fields=tuple(f.name for f in dataclasses.fields(ClinicRecord)),
    subject_type="clinic",
    new_kind="clinic.new",
    changed_kind="clinic.updated",
    headline=("name", "domain", "website", "phone", "country", "listings"),
    json_fields=frozenset({"listings", "names"}),
    unions=CLINIC_UNION_FIELDS,
    eventful=frozenset(),  # what listings add to a clinic is stored, not announced
)
PAGES = _Entity(
    table=Page.__table__,
    key="url",
    fields=tuple(f.name for f in dataclasses.fields(PageRecord)),
    subject_type="page",
    new_kind="page.new",
    changed_kind="page.changed",
    headline=("url", "clinic_id", "title", "content_hash"),
    quiet=PAGE_QUIET_FIELDS,
    untracked=PAGE_UNTRACKED_FIELDS,
    json_fields=frozenset({"links"}),
    eventful=PAGE_EVENT_FIELDS,
)


@dataclass
class PageWriteReport:
    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # the text changed: page.changed
    unchanged: list[str] = field(default_factory=list)
    snapshots: int = 0


class Store:
    """A handle on one exowatch database."""

    def __init__(
        self,
        engine: Engine,
        *,
        batch_size: int = 500,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.engine = engine
        self.batch_size = batch_size
        self.clock = clock
        self._statements: dict[tuple[str, str], _BulkWrites] = {}

    @classmethod
    def open(cls, url: str, *, busy_timeout_seconds: float = 30.0, batch_size: int = 500) -> Store:
        return cls(make_engine(url, busy_timeout_seconds=busy_timeout_seconds), batch_size=batch_size)

    def close(self) -> None:
        self.engine.dispose()

    @property
    def location(self) -> str:
        return describe_url(self.engine)

    # -- schema -------------------------------------------------------------------------------

    def init(self) -> tuple[str | None, str]:
        """Create or upgrade the schema (idempotent); returns the revisions before and after."""
        from db import migrate  # Alembic is only needed here: a crawl process never loads it

        database = self.engine.url.database
        if (
            self.engine.dialect.name == "sqlite"
            and database
            and not database.startswith(("file:", ":memory:"))
        ):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        try:
            return migrate.upgrade(self.engine)
        except migrate.UnknownSchema as exc:
            raise StoreError(self._newer_schema(exc.revision)) from None

    def require_schema(self) -> None:
        """Refuse to work on a store that `exowatch init` has not brought to the newest schema."""
        from db import migrate

        current = migrate.current_revision(self.engine)
        head = migrate.head_revision()
        if current is None:
            raise StoreError(f"the store at {self.location} is not initialised: run `exowatch init`")
        if current not in migrate.known_revisions():
            raise StoreError(self._newer_schema(current))
        if current != head:
            raise StoreError(
                f"the store at {self.location} is at schema {current}, this exowatch needs {head}: "
                "run `exowatch init` to upgrade it"
            )

    def _newer_schema(self, revision: str) -> str:
        return (
            f"the store at {self.location} is at schema {revision}, which this exowatch does not know: "
            "it was upgraded by a newer exowatch; use that version"
        )

    # -- writes -------------------------------------------------------------------------------

    @contextmanager
    def _writer(self) -> Iterator[Connection]:
        """A connection whose transactions hold the store's single-writer lock (see _transaction)."""
        with self.engine.connect() as connection:
            connection.execution_options(**{WRITE_OPTION: True})  # SQLite: BEGIN IMMEDIATE
            yield connection

    @contextmanager
    def _transaction(self, connection: Connection) -> Iterator[Connection]:
        """One write transaction on a writer connection; the lock is held until it commits."""
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_WRITE_LOCK})
            yield connection

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A single write transaction on its own connection."""
        with self._writer() as connection, self._transaction(connection):
            yield connection

    def upsert_letters(
        self,
        letters: Iterable[LetterRecord],
        *,
        source: str,
        overwrite: Collection[str] = LETTER_LIFECYCLE_FIELDS,
        progress: Callable[[int], None] | None = None,
    ) -> UpsertReport:
        """Store warning letters once each. Fields in `overwrite` replace stored values when the
        source states them; every other field only fills a value the store does not have yet.
        """
        rows = (vars(letter) for letter in letters)  # read-only here; dataclasses.asdict deep-copies
        return self._upsert(LETTERS, rows, source=source, overwrite=frozenset(overwrite), progress=progress)

    def upsert_notices(
        self, notices: Iterable[NoticeRecord], *, source: str, progress: Callable[[int], None] | None = None
    ) -> UpsertReport:
        """Store notices once each. The crawler is the authority: every field it states replaces the
        stored one (None never erases); `feeds` only grows. `notice.updated` only when the text
        (title or page) changed, not when a notice turns up in one more feed."""
        rows = (vars(notice) for notice in notices)
        overwrite = frozenset(NOTICES.fields)
        return self._upsert(NOTICES, rows, source=source, overwrite=overwrite, progress=progress)

    # -- clinics and their pages ---------------------------------------------------------------

    def upsert_clinics(
        self, clinics: Iterable[ClinicRecord], *, source: str, seen_at: datetime | None
    ) -> UpsertReport:
        """Store clinics once each (`clinic.new` for a new one). Listings only fill what the store
        lacks; `listings` and `names` grow. `last_seen_at` is set on every clinic seen (`seen_at`;
        None for what a clinic's own site says, which is no listing)."""
        records = list(clinics)
        report = self._upsert(CLINICS, (vars(c) for c in records), source=source, overwrite=frozenset())
        table = Clinic.__table__
        keys = [c.clinic_key for c in records]
        if seen_at is None:  # not a listing crawl: the clinics were not "seen" in a listing
            return report
        with self._write() as connection:
            for start in range(0, len(keys), _READ_CHUNK):
                chunk = keys[start : start + _READ_CHUNK]
                connection.execute(
                    table.update()
                    .where(_key_in(connection, table.c.clinic_key, chunk))
                    .values(last_seen_at=seen_at)
                )
        return report

    def clinics_for_matching(self) -> list[Mapping[str, Any]]:
        """Every clinic's key, domain, phone, names and postcode: what a listing entry is matched on."""
        table = Clinic.__table__
        columns = [
            table.c[n]
            for n in ("clinic_key", "domain", "website", "phone", "name", "names", "postcode", "country")
        ]
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(select(*columns))]

    def clinic_sites(self) -> list[tuple[str, str]]:
        """(clinic_key, website) of every clinic with a website, in key order."""
        table = Clinic.__table__
        query = (
            select(table.c.clinic_key, table.c.website)
            .where(table.c.website.is_not(None))
            .order_by(table.c.clinic_key)
        )
        with self.engine.connect() as connection:
            return [(key, website) for key, website in connection.execute(query)]

    def page_states(self) -> dict[str, dict[str, Any]]:
        """url -> validators, last check and the treatment links of every stored page."""
        table = Page.__table__
        names = ("url", "etag", "last_modified", "checked_at", "links", "content_hash")
        with self.engine.connect() as connection:
            rows = connection.execute(select(*(table.c[n] for n in names)))
            return {row.url: dict(row._mapping) for row in rows}

    def upsert_pages(
        self,
        pages: Sequence[PageRecord],
        *,
        clinic_keys: Mapping[str, str],
        html: Mapping[str, HtmlSnapshot | tuple[bytes, str | None]],
        source: str,
    ) -> PageWriteReport:
        """Store fetched pages: `page.new`, or `page.changed` when the text changed, each with a
        gzip copy of the raw HTML (`page_snapshots`). Validators and fetch times are updated on
        every page without counting as a change. `html` holds each page's snapshot, or its raw
        bytes and encoding (compressed here, when a snapshot is kept)."""
        now = self.clock()
        ids = self._clinic_ids(set(clinic_keys.values()))
        rows = [{**vars(p), "clinic_id": ids.get(clinic_keys.get(p.url, ""), p.clinic_id)} for p in pages]
        upserted = self._upsert(PAGES, rows, source=source, overwrite=frozenset(PAGES.fields))
        stored_hashes = {}
        table = Page.__table__
        texts_changed = upserted.announced
        with self._write() as connection:
            fresh = [*upserted.new, *texts_changed]
            for start in range(0, len(fresh), _READ_CHUNK):
                chunk = fresh[start : start + _READ_CHUNK]
                connection.execute(
                    table.update().where(_key_in(connection, table.c.url, chunk)).values(changed_at=now)
                )
                query = select(table.c.url, table.c.id, table.c.content_hash).where(
                    _key_in(connection, table.c.url, chunk)
                )
                stored_hashes.update({url: (page_id, h) for url, page_id, h in connection.execute(query)})
            snapshots = [
                {
                    "page_id": stored_hashes[url][0],
                    "fetched_at": now,
                    "content_hash": stored_hashes[url][1],
                    "encoding": copy.encoding,
                    "html_gzip": copy.gzip,
                    "html_bytes": copy.size,
                }
                for url in fresh
                if url in html and stored_hashes.get(url, (None, None))[1]
                for copy in (_snapshot(html[url]),)
            ]
            if snapshots:
                connection.execute(insert(PageSnapshot.__table__), snapshots)
            validators = [
                {
                    "u": r["url"],
                    "e": r["etag"],
                    "m": r["last_modified"],
                    "f": r["fetched_at"],
                    "c": r["checked_at"],
                }
                for r in rows
            ]
            if validators:
                connection.execute(
                    table.update()
                    .where(table.c.url == bindparam("u"))
                    .values(
                        etag=bindparam("e"),
                        last_modified=bindparam("m"),
                        fetched_at=bindparam("f"),
                        checked_at=bindparam("c"),
                    ),
                    validators,
                )
        changed = set(texts_changed)
        return PageWriteReport(
            new=list(upserted.new),
            changed=[u for u in upserted.changed if u in changed],
            unchanged=[*upserted.unchanged, *(u for u in upserted.changed if u not in changed)],
            snapshots=len(snapshots),
        )

    def mark_pages_checked(self, urls: Sequence[str], at: datetime) -> None:
        """Pages asked for again and unchanged (304): only their check time moves."""
        table = Page.__table__
        with self._write() as connection:
            for start in range(0, len(urls), _READ_CHUNK):
                chunk = list(urls[start : start + _READ_CHUNK])
                connection.execute(
                    table.update().where(_key_in(connection, table.c.url, chunk)).values(checked_at=at)
                )

    def robots_txt_since(self, after: datetime) -> dict[str, bytes]:
        """The robots.txt bodies read after `after`, by host[:port]."""
        table = RobotsTxt.__table__
        with self.engine.connect() as connection:
            rows = connection.execute(select(table.c.netloc, table.c.body).where(table.c.fetched_at >= after))
            return {row.netloc: row.body for row in rows}

    def record_robots_txt(self, read: Mapping[str, tuple[int, bytes]], at: datetime) -> None:
        """Keep the robots.txt a crawl read (host[:port] -> status, body), replacing older ones."""
        if not read:
            return
        table = RobotsTxt.__table__
        netlocs = sorted(read)
        with self._write() as connection:
            for start in range(0, len(netlocs), _READ_CHUNK):
                chunk = netlocs[start : start + _READ_CHUNK]
                connection.execute(table.delete().where(table.c.netloc.in_(chunk)))
                rows = [
                    {"netloc": netloc, "status": read[netloc][0], "body": read[netloc][1], "fetched_at": at}
                    for netloc in chunk
                ]
                connection.execute(table.insert(), rows)

    def prune_snapshots(self, before: datetime) -> int:
        """Delete snapshots taken before `before`, except each page's newest. Returns how many."""
        snap = PageSnapshot.__table__
        newest = select(func.max(snap.c.id)).group_by(snap.c.page_id).scalar_subquery()
        with self._write() as connection:
            result = connection.execute(
                snap.delete().where(snap.c.fetched_at < before, snap.c.id.not_in(newest))
            )
            return result.rowcount or 0

    def _clinic_ids(self, keys: set[str]) -> dict[str, int]:
        table = Clinic.__table__
        found: dict[str, int] = {}
        ordered = sorted(k for k in keys if k)
        with self.engine.connect() as connection:
            for start in range(0, len(ordered), _READ_CHUNK):
                chunk = ordered[start : start + _READ_CHUNK]
                query = select(table.c.clinic_key, table.c.id).where(
                    _key_in(connection, table.c.clinic_key, chunk)
                )
                found.update(dict(connection.execute(query).all()))
        return found

    # -- flags ---------------------------------------------------------------------------------

    def pages_to_assess(self, version: str, *, everything: bool = False) -> list[dict[str, Any]]:
        """Pages whose current text the flagger has not assessed under `version` (all with
        `everything`): id, url, clinic id, title, text, content hash."""
        table = Page.__table__
        query = select(
            table.c.id,
            table.c.url,
            table.c.clinic_id,
            table.c.title,
            table.c.text,
            table.c.content_hash,
            table.c.assessed,
        ).where(table.c.text.is_not(None), table.c.clinic_id.is_not(None))
        with self.engine.connect() as connection:
            rows = [dict(row._mapping) for row in connection.execute(query.order_by(table.c.id))]
        return [r for r in rows if everything or r["assessed"] != f"{r['content_hash']} {version}"]

    def save_findings(self, assessed: Sequence[tuple[int, list[dict], str]]) -> None:
        """(page id, findings, "<hash> <version>") for each page just assessed."""
        table = Page.__table__
        if not assessed:
            return
        with self._write() as connection:
            connection.execute(
                table.update()
                .where(table.c.id == bindparam("pid"))
                .values(findings=bindparam("f"), assessed=bindparam("a")),
                [{"pid": page_id, "f": findings, "a": key} for page_id, findings, key in assessed],
            )

    def clinic_findings(self, clinic_ids: Collection[int]) -> dict[int, list[dict[str, Any]]]:
        """clinic id -> its pages' current findings: [{page_id, url, content_hash, findings}]."""
        table = Page.__table__
        found: dict[int, list[dict[str, Any]]] = {cid: [] for cid in clinic_ids}
        ids = sorted(clinic_ids)
        with self.engine.connect() as connection:
            for start in range(0, len(ids), _READ_CHUNK):
                chunk = ids[start : start + _READ_CHUNK]
                query = select(
                    table.c.id, table.c.url, table.c.clinic_id, table.c.content_hash, table.c.findings
                ).where(table.c.clinic_id.in_(chunk))
                for row in connection.execute(query.order_by(table.c.id)):
                    found[row.clinic_id].append(
                        {
                            "page_id": row.id,
                            "url": row.url,
                            "content_hash": row.content_hash,
                            "findings": row.findings or [],
                        }
                    )
        return found

    def flags_of(self, clinic_ids: Collection[int]) -> dict[tuple[int, str], dict[str, Any]]:
        table = Flag.__table__
        ids = sorted(clinic_ids)
        found: dict[tuple[int, str], dict[str, Any]] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(ids), _READ_CHUNK):
                query = select(table).where(table.c.clinic_id.in_(ids[start : start + _READ_CHUNK]))
                for row in connection.execute(query):
                    found[(row.clinic_id, row.rule_id)] = dict(row._mapping)
        return found

    def write_flags(self, changes: Sequence[Mapping[str, Any]], *, source: str) -> None:
        """Insert or update flags, each with its event (`flag.opened`, `flag.escalated`,
        `flag.resolved`), in one write transaction."""
        if not changes:
            return
        table, events = Flag.__table__, Event.__table__
        keys = {row["id"]: row["clinic_key"] for row in self._clinic_keys({c["clinic_id"] for c in changes})}
        now = self.clock()
        inserted: dict[tuple[int, str], int] = {}  # a flag opened and escalated in one run
        with self._write() as connection:
            for change in changes:
                values = {k: change[k] for k in ("rule_version", "status", "severity", "evidence", "page_id")}
                values["updated_at"] = now
                if change.get("id") is None:
                    change = {**change, "id": inserted.get((change["clinic_id"], change["rule_id"]))}
                if change.get("id") is None:
                    values |= {
                        "clinic_id": change["clinic_id"],
                        "rule_id": change["rule_id"],
                        "opened_at": now,
                    }
                    flag_id = connection.execute(
                        insert(table).values(**values).returning(table.c.id)
                    ).scalar_one()
                    inserted[(change["clinic_id"], change["rule_id"])] = flag_id
                else:
                    flag_id = change["id"]
                    if change["status"] == "resolved":
                        values["resolved_at"] = now
                    elif change.get("reopened"):
                        values |= {"opened_at": now, "resolved_at": None}
                    connection.execute(table.update().where(table.c.id == flag_id).values(**values))
                summary = {
                    "source": source,
                    "rule_id": change["rule_id"],
                    "rule_version": change["rule_version"],
                    "severity": change["severity"],
                    "clinic": keys.get(change["clinic_id"]),
                    "url": (change["evidence"] or {}).get("url"),
                    "snippet": (change["evidence"] or {}).get("snippet"),
                }
                if change.get("reopened"):
                    summary["reopened"] = True
                if change["evidence"] and change["evidence"].get("cites"):
                    summary["cites"] = change["evidence"]["cites"]
                connection.execute(
                    insert(events).values(
                        at=now,
                        kind=change["event"],
                        subject_type="flag",
                        subject_id=flag_id,
                        subject_key=f"{keys.get(change['clinic_id'])}:{change['rule_id']}",
                        summary=summary,
                    )
                )

    def open_flags(self) -> list[dict[str, Any]]:
        """Open and escalated flags with their clinic, newest first."""
        flags, clinics = Flag.__table__, Clinic.__table__
        query = (
            select(
                flags.c.id,
                clinics.c.clinic_key,
                clinics.c.name,
                clinics.c.country,
                flags.c.rule_id,
                flags.c.rule_version,
                flags.c.status,
                flags.c.severity,
                flags.c.evidence,
                flags.c.opened_at,
                flags.c.updated_at,
            )
            .join(clinics, clinics.c.id == flags.c.clinic_id)
            .where(flags.c.status.in_(("open", "escalated")))
            .order_by(flags.c.updated_at.desc(), flags.c.id.desc())
        )
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

    def fda_names(self) -> list[tuple[str, dict[str, str]]]:
        """(name, citation) for the products and firms named in stored warning letters and notices
        that concern exosome, stem-cell or other regenerative products."""
        letters, notices = WarningLetter.__table__, Notice.__table__
        out: list[tuple[str, dict[str, str]]] = []
        with self.engine.connect() as connection:
            for row in connection.execute(
                select(
                    letters.c.slug,
                    letters.c.url,
                    letters.c.company_name,
                    letters.c.product_names,
                    letters.c.tags,
                )
            ):
                if not set(row.tags or ()) & _REGENERATIVE_TAGS:
                    continue
                cite = {
                    "kind": "warning_letter",
                    "key": row.slug,
                    "url": row.url,
                    "title": row.company_name or row.slug,
                }
                for name in [*(row.product_names or ()), row.company_name]:
                    if name:
                        out.append((name, cite))
            for row in connection.execute(
                select(notices.c.url, notices.c.title, notices.c.product_names, notices.c.tags)
            ):
                if not set(row.tags or ()) & _REGENERATIVE_TAGS:
                    continue
                cite = {"kind": "notice", "key": row.url, "url": row.url, "title": row.title or row.url}
                for name in row.product_names or ():
                    out.append((name, cite))
        return out

    def _clinic_keys(self, ids: Collection[int]) -> list[Mapping[str, Any]]:
        table = Clinic.__table__
        ordered = sorted(ids)
        with self.engine.connect() as connection:
            return [
                dict(row._mapping)
                for start in range(0, len(ordered), _READ_CHUNK)
                for row in connection.execute(
                    select(table.c.id, table.c.clinic_key).where(
                        table.c.id.in_(ordered[start : start + _READ_CHUNK])
                    )
                )
            ]

    # -- source health ---------------------------------------------------------------------------

    def record_source_health(
        self,
        source: str,
        *,
        failing: bool,
        run_id: int,
        reason: str | None,
        pages_failed: int = 0,
        sources_failed: int = 0,
    ) -> str | None:
        """Source health as events, one per change, none while a source stays as it was:
        `source.failing` when a source starts failing (all tries of a crawl failed);
        `source.partial` after a crawl that stored what it could read but not `pages_failed`
        pages or `sources_failed` feeds, index pages or listings (again when those counts change);
        `source.recovered` after a crawl that read everything, following one of those. Returns the
        kind written, or None."""
        events = Event.__table__
        with self._write() as connection:
            last = connection.execute(
                select(events.c.kind, events.c.summary)
                .where(events.c.subject_type == "source", events.c.subject_key == source)
                .order_by(events.c.id.desc())
                .limit(1)
            ).first()
            last_kind, last_summary = (last.kind, last.summary or {}) if last else (None, {})
            summary: dict[str, Any] = {"run_id": run_id, "error": reason}
            if failing:
                kind = None if last_kind == "source.failing" else "source.failing"
            elif pages_failed or sources_failed:
                counts = {"pages_failed": pages_failed, "sources_failed": sources_failed}
                same = last_kind == "source.partial" and all(
                    last_summary.get(name, 0) == value for name, value in counts.items()
                )
                kind = None if same else "source.partial"
                summary |= counts
            else:
                kind = "source.recovered" if last_kind in ("source.failing", "source.partial") else None
            if kind is None:
                return None
            connection.execute(
                insert(events).values(
                    at=self.clock(),
                    kind=kind,
                    subject_type="source",
                    subject_id=run_id,
                    subject_key=source,
                    summary=summary,
                )
            )
            return kind

    # -- digests --------------------------------------------------------------------------------

    def channel_cursor(self, channel: str) -> int:
        """The last event id a channel has delivered (sent, or empty after its filters); 0 at first."""
        table = Delivery.__table__
        query = select(func.max(table.c.last_event_id)).where(
            table.c.channel == channel, table.c.status.in_(("sent", "empty"))
        )
        with self.engine.connect() as connection:
            return connection.execute(query).scalar() or 0

    def pending_delivery(self, channel: str) -> dict[str, Any] | None:
        """A delivery recorded but never confirmed: the process died between sending and recording."""
        table = Delivery.__table__
        query = (
            select(table).where(table.c.channel == channel, table.c.status == "pending").order_by(table.c.id)
        )
        with self.engine.connect() as connection:
            row = connection.execute(query.limit(1)).first()
        return dict(row._mapping) if row else None

    def recent_failures(self, channel: str) -> tuple[int, datetime | None]:
        """How many deliveries of a channel failed since its last one sent, and when the last did."""
        table = Delivery.__table__
        with self.engine.connect() as connection:
            last_sent = (
                connection.execute(
                    select(func.max(table.c.id)).where(
                        table.c.channel == channel, table.c.status.in_(("sent", "empty"))
                    )
                ).scalar()
                or 0
            )
            count, latest = connection.execute(
                select(func.count(), func.max(table.c.created_at)).where(
                    table.c.channel == channel, table.c.status == "failed", table.c.id > last_sent
                )
            ).one()
        if latest is not None and latest.tzinfo is None:
            latest = latest.replace(tzinfo=UTC)
        return count, latest

    def events_between(self, after: int, until: int | None = None, limit: int = 5000) -> list[dict[str, Any]]:
        table = Event.__table__
        query = select(table).where(table.c.id > after)
        if until is not None:
            query = query.where(table.c.id <= until)
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query.order_by(table.c.id).limit(limit))]

    def start_delivery(
        self, channel: str, first: int, last: int, message_id: str | None, status: str = "pending"
    ) -> int:
        table = Delivery.__table__
        with self._write() as connection:
            return connection.execute(
                insert(table)
                .values(
                    channel=channel,
                    first_event_id=first,
                    last_event_id=last,
                    status=status,
                    created_at=self.clock(),
                    message_id=message_id,
                    sent_at=self.clock() if status != "pending" else None,
                )
                .returning(table.c.id)
            ).scalar_one()

    def finish_delivery(self, delivery_id: int, status: str, error: str | None = None) -> None:
        table = Delivery.__table__
        with self._write() as connection:
            connection.execute(
                table.update()
                .where(table.c.id == delivery_id)
                .values(status=status, error=error, sent_at=self.clock() if status == "sent" else None)
            )

    def digest_lookups(self, events: Sequence[Mapping[str, Any]]) -> tuple[dict, dict]:
        """(clinics by key, letters and notices by key) for the subjects of `events`."""
        clinics, records = {}, {}
        letters, notices, clinic_table = WarningLetter.__table__, Notice.__table__, Clinic.__table__
        slugs = sorted({e["subject_key"] for e in events if e["subject_type"] == "warning_letter"})
        urls = sorted({e["subject_key"] for e in events if e["subject_type"] == "notice"})
        keys = sorted(
            {(e["summary"] or {}).get("clinic") for e in events if e["subject_type"] == "flag"} - {None}
        )
        with self.engine.connect() as connection:
            for start in range(0, len(slugs), _READ_CHUNK):
                chunk = slugs[start : start + _READ_CHUNK]
                query = select(letters.c.slug, letters.c.tags, letters.c.product_names).where(
                    letters.c.slug.in_(chunk)
                )
                records.update(
                    {
                        r.slug: {"tags": r.tags, "product_names": r.product_names}
                        for r in connection.execute(query)
                    }
                )
            for start in range(0, len(urls), _READ_CHUNK):
                chunk = urls[start : start + _READ_CHUNK]
                query = select(notices.c.url, notices.c.tags, notices.c.product_names).where(
                    notices.c.url.in_(chunk)
                )
                records.update(
                    {
                        r.url: {"tags": r.tags, "product_names": r.product_names}
                        for r in connection.execute(query)
                    }
                )
            for start in range(0, len(keys), _READ_CHUNK):
                chunk = keys[start : start + _READ_CHUNK]
                query = select(clinic_table).where(clinic_table.c.clinic_key.in_(chunk))
                clinics.update({r.clinic_key: dict(r._mapping) for r in connection.execute(query)})
        return clinics, records

    def notice_page_states(self) -> dict[str, bool]:
        """url -> whether the notice's page text is stored (an incremental crawl fetches the rest)."""
        table = Notice.__table__
        with self.engine.connect() as connection:
            query = select(table.c.url, table.c.content_hash.is_not(None))
            return {url: bool(has_page) for url, has_page in connection.execute(query)}

    def _upsert(
        self,
        entity: _Entity,
        rows: Iterable[dict[str, Any]],
        *,
        source: str,
        overwrite: frozenset[str],
        progress: Callable[[int], None] | None = None,
    ) -> UpsertReport:
        """Upsert in batches of `batch_size`, one transaction each; `progress(n)` after each."""
        merged: dict[str, dict[str, Any]] = {}
        for row in rows:
            if entity.json_fields:
                row = _json_plain(row, entity.json_fields)
            key = row[entity.key]
            if not key:
                raise ValueError(f"{entity.subject_type} without a {entity.key}")
            if key in merged:
                merged[key] = _merge(merged[key], row, entity, overwrite)[0]
            else:
                merged[key] = row
        report = UpsertReport()
        keys = sorted(merged)  # one order for every writer: no lock-order surprises
        with self._writer() as connection:  # one connection, a transaction per batch
            for start in range(0, len(keys), self.batch_size):
                batch = [merged[k] for k in keys[start : start + self.batch_size]]
                with self._transaction(connection):
                    report.extend(self._upsert_batch(connection, entity, batch, source, overwrite))
                if progress is not None:
                    progress(len(batch))
        return report

    def _upsert_batch(
        self,
        connection: Connection,
        entity: _Entity,
        batch: Sequence[dict[str, Any]],
        source: str,
        overwrite: frozenset[str],
    ) -> UpsertReport:
        """Decide, write and record one batch inside the caller's write transaction."""
        table = entity.table
        report = UpsertReport()
        now = self.clock()
        stored = self._read_stored(connection, entity, [row[entity.key] for row in batch])
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        changes: dict[str, dict[str, Any]] = {}
        for row in batch:
            key = row[entity.key]
            old = stored.get(key)
            if old is None:
                inserts.append(row)
                report.new.append(key)
                continue
            new_values, changed = _merge(old, row, entity, overwrite)
            if not changed:
                report.unchanged.append(key)
                continue
            new_values["revision"] = old["revision"] + 1
            updates.append(new_values)
            report.changed.append(key)
            if entity.eventful is not None and not any(
                f in entity.eventful and old[f] is not None for f in changed
            ):
                continue  # written, but no news
            changes[key] = {
                f: {"changed": True} if f in entity.quiet else {"from": old[f], "to": new_values[f]}
                for f in changed
            }
            report.announced.append(key)
        if not inserts and not updates:
            return report
        bulk = self._bulk(connection, entity)
        # first_seen_at is only written on insert: the conflict update leaves it alone
        stamps = {"first_seen_at": now, "updated_at": now}
        bulk.upsert.executemany(connection, inserts, {**stamps, "revision": 1})
        bulk.upsert.executemany(connection, updates, stamps)
        written = self._read_revisions(connection, entity, [*report.new, *report.changed])
        expected = {key: 1 for key in report.new} | {row[entity.key]: row["revision"] for row in updates}
        for key, revision in expected.items():
            found = written.get(key, (None, None))[1]
            if found != revision:
                raise StoreError(
                    f"{table.name} {key}: stored revision {found}, expected {revision}; "
                    "another writer bypassed the store lock"
                )
        subject = {"at": now, "subject_type": entity.subject_type}
        headline, key_name = entity.headline, entity.key
        bulk.events.executemany(
            connection,
            [
                {
                    "subject_id": written[row[key_name]][0],
                    "subject_key": row[key_name],
                    "summary": {"source": source, **{f: row[f] for f in headline}},
                }
                for row in inserts
            ],
            {**subject, "kind": entity.new_kind},
        )
        bulk.events.executemany(
            connection,
            [
                {
                    "subject_id": written[key][0],
                    "subject_key": key,
                    "summary": {"source": source, "changes": diff},
                }
                for key, diff in changes.items()
            ],
            {**subject, "kind": entity.changed_kind},
        )
        return report

    def _read_stored(
        self, connection: Connection, entity: _Entity, keys: list[str]
    ) -> dict[str, dict[str, Any]]:
        table = entity.table
        names = (*entity.fields, "revision")
        columns = [table.c[name] for name in names]
        key_at = names.index(entity.key)
        stored: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), _READ_CHUNK):
            chunk = keys[start : start + _READ_CHUNK]
            query = select(*columns).where(_key_in(connection, table.c[entity.key], chunk))
            stored.update(
                (row[key_at], dict(zip(names, row, strict=True))) for row in connection.execute(query).all()
            )
        return stored

    def _read_revisions(
        self, connection: Connection, entity: _Entity, keys: list[str]
    ) -> dict[str, tuple[int, int]]:
        """key -> (id, revision) of the rows just written: the ids for events, and a check."""
        table = entity.table
        key_column = table.c[entity.key]
        found: dict[str, tuple[int, int]] = {}
        for start in range(0, len(keys), _READ_CHUNK):
            query = select(key_column, table.c.id, table.c.revision).where(
                _key_in(connection, key_column, keys[start : start + _READ_CHUNK])
            )
            found.update(
                (key, (row_id, revision)) for key, row_id, revision in connection.execute(query).all()
            )
        return found

    def _bulk(self, connection: Connection, entity: _Entity) -> _BulkWrites:
        cache_key = (connection.dialect.name, entity.table.name)
        bulk = self._statements.get(cache_key)
        if bulk is None:
            bulk = self._statements[cache_key] = _BulkWrites.build(connection.dialect, entity)
        return bulk

    # -- listing presence ----------------------------------------------------------------------

    def record_listing(self, seen: Collection[str], *, complete: bool, delist_after: int) -> ListingReport:
        """Note which letters FDA's listing showed, after a crawl of it that succeeded.

        Letters seen are listed now (a delisted one that reappears is relisted, `letter.relisted`).
        Only a `complete` crawl, one that read the whole listing, counts against the letters it did
        not show: after `delist_after` such crawls in a row a letter is marked delisted, with
        `letter.delisted`. Nothing is ever deleted.
        """
        table = WarningLetter.__table__
        keys = sorted(set(seen))
        report = ListingReport()
        with self._write() as connection:
            now = self.clock()
            relisted = connection.execute(
                select(table.c.id, table.c.slug).where(
                    _key_in(connection, table.c.slug, keys), table.c.delisted_at.is_not(None)
                )
            ).all()
            connection.execute(
                table.update()
                .where(_key_in(connection, table.c.slug, keys))
                .values(last_listed_at=now, listing_missing_count=0, delisted_at=None)
            )
            if complete:
                connection.execute(
                    table.update()
                    .where(~_key_in(connection, table.c.slug, keys), table.c.delisted_at.is_(None))
                    .values(listing_missing_count=table.c.listing_missing_count + 1)
                )
                delisted = connection.execute(
                    select(table.c.id, table.c.slug, table.c.listing_missing_count).where(
                        table.c.delisted_at.is_(None), table.c.listing_missing_count >= delist_after
                    )
                ).all()
                if delisted:
                    connection.execute(
                        table.update()
                        .where(table.c.id.in_([row.id for row in delisted]))
                        .values(delisted_at=now)
                    )
                report.delisted = [row.slug for row in delisted]
            else:
                delisted = []
            report.relisted = [row.slug for row in relisted]
            events = [
                {
                    "subject_id": row.id,
                    "subject_key": row.slug,
                    "summary": {"missed_crawls": row.listing_missing_count},
                }
                for row in delisted
            ]
            bulk = self._bulk(connection, LETTERS)
            stamp = {"at": now, "subject_type": LETTERS.subject_type}
            bulk.events.executemany(connection, events, {**stamp, "kind": "letter.delisted"})
            bulk.events.executemany(
                connection,
                [{"subject_id": row.id, "subject_key": row.slug, "summary": {}} for row in relisted],
                {**stamp, "kind": "letter.relisted"},
            )
        return report

    # -- runs ---------------------------------------------------------------------------------

    def start_run(self, source: str, *, attempt: int = 1, runner: str | None = None) -> int:
        """A new 'running' run; `runner` names the process that will record its end."""
        with self._write() as connection:
            return connection.execute(
                insert(CrawlRun.__table__).returning(CrawlRun.__table__.c.id),
                {
                    "runner": runner[:200] if runner else None,
                    "attempt": attempt,
                    "source": source,
                    "started_at": self.clock(),
                    "status": "running",
                    "records_seen": 0,
                    "records_new": 0,
                    "records_changed": 0,
                    "records_unchanged": 0,
                },
            ).scalar_one()

    def finish_run(
        self,
        run_id: int,
        *,
        status: str,
        counts: tuple[int, int, int] | None = None,
        seen: int = 0,
        error: str | None = None,
        requests: int = 0,
        errors: int = 0,
        stats: Mapping[str, int] | None = None,
    ) -> None:
        table = CrawlRun.__table__
        with self._write() as connection:
            started = connection.execute(select(table.c.started_at).where(table.c.id == run_id)).scalar_one()
            finished = self.clock()
            values: dict[str, Any] = {
                "status": status,
                "finished_at": finished,
                "records_seen": seen,
                "duration_seconds": (finished - started).total_seconds(),
                "error": error,
                "requests": requests,
                "errors": errors,
                "stats": dict(stats) if stats else None,
            }
            if counts is not None:  # records new, changed, unchanged
                values |= dict(
                    zip(("records_new", "records_changed", "records_unchanged"), counts, strict=True)
                )
            connection.execute(table.update().where(table.c.id == run_id).values(**values))

    def running_runs(self) -> list[Mapping[str, Any]]:
        """Runs still 'running': id, source, runner, started_at."""
        table = CrawlRun.__table__
        query = select(table.c.id, table.c.source, table.c.runner, table.c.started_at).where(
            table.c.status == "running"
        )
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query.order_by(table.c.id))]

    def abandon_run_ids(self, run_ids: Collection[int], *, reason: str) -> list[int]:
        """Mark these runs failed with `reason`, those still 'running' only; returns them."""
        if not run_ids:
            return []
        return self._fail_running([CrawlRun.__table__.c.id.in_(sorted(run_ids))], reason)

    def abandon_runs(
        self,
        *,
        reason: str,
        started_before: datetime | None = None,
        runner_like: str | None = None,
        except_runner: str | None = None,
    ) -> list[int]:
        """Mark runs still 'running' as failed with `reason`: those started before `started_before`,
        or whose runner matches `runner_like` (SQL LIKE) and is not `except_runner`.

        A crawl's parent records its end; a parent killed outright (SIGKILL, power) never does.
        Past the crawl's hard timeout no process can still be working on such a run, nor once the
        daemon that ran it has lost the lead to another."""
        table = CrawlRun.__table__
        where = []
        if started_before is not None:
            where.append(table.c.started_at < started_before)
        if runner_like is not None:
            where.append(table.c.runner.like(runner_like))
        if except_runner is not None:
            where.append(table.c.runner != except_runner)
        return self._fail_running(where, reason)

    def _fail_running(self, where: list, reason: str) -> list[int]:
        """Mark the runs still 'running' that match `where` failed with `reason`; their ids."""
        table = CrawlRun.__table__
        with self._write() as connection:
            query = select(table.c.id).where(table.c.status == "running", *where)
            stale = list(connection.execute(query).scalars())
            if stale:
                connection.execute(
                    table.update()
                    .where(table.c.id.in_(stale))
                    .values(status="failed", finished_at=self.clock(), error=reason)
                )
        return stale

    # -- reads --------------------------------------------------------------------------------

    def table_counts(self) -> dict[str, int]:
        with self.engine.connect() as connection:
            return {
                name: connection.execute(select(func.count()).select_from(table)).scalar_one()
                for name, table in Base.metadata.tables.items()
            }

    def latest_events(self, limit: int) -> list[EventView]:
        table = Event.__table__
        query = select(table).order_by(table.c.id.desc()).limit(limit)
        with self.engine.connect() as connection:
            return [
                EventView(r.id, r.at, r.kind, r.subject_type, r.subject_key, r.summary or {})
                for r in connection.execute(query)
            ]

    def run(self, run_id: int) -> Mapping[str, Any]:
        table = CrawlRun.__table__
        with self.engine.connect() as connection:
            return dict(connection.execute(select(table).where(table.c.id == run_id)).mappings().one())

    def listed_letter_count(self) -> int:
        """Letters that FDA's listing showed and that are not delisted: what a listing that
        suddenly holds far fewer is compared with."""
        table = WarningLetter.__table__
        query = select(func.count()).where(table.c.last_listed_at.is_not(None), table.c.delisted_at.is_(None))
        with self.engine.connect() as connection:
            return connection.execute(query).scalar_one()

    def letter_listing_states(self) -> dict[str, tuple[date | None, date | None]]:
        """slug -> (response letter date, close-out date): what an incremental crawl compares the
        listing against to decide which listed letters are news (their pages come first). Stored
        letters still without a readable page are `letter_page_backlog`'s."""
        table = WarningLetter.__table__
        query = select(table.c.slug, table.c.response_letter_date, table.c.closeout_letter_date)
        with self.engine.connect() as connection:
            return {slug: (response, closeout) for slug, response, closeout in connection.execute(query)}

    def letter_page_backlog(self, limit: int) -> list[str]:
        """The slugs of up to `limit` stored letters whose page is still to be read: never read
        (backfilled from a listing export, or its first reading failed) or failed since
        (`page_error`); newest first by letter date, then posted date; delisted letters left out."""
        table = WarningLetter.__table__
        query = (
            select(table.c.slug)
            .where(
                or_(table.c.content_hash.is_(None), table.c.page_error.is_not(None)),
                table.c.delisted_at.is_(None),
            )
            .order_by(
                table.c.letter_date.desc().nulls_last(),
                table.c.posted_date.desc().nulls_last(),
                table.c.slug,
            )
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return list(connection.execute(query).scalars())

    def record_letter_pages(self, failed: Mapping[str, str], read: Collection[str]) -> None:
        """After a crawl stored its letters: each letter of `failed` (slug -> reason) gets the
        reason and the time in `page_error` and `page_error_at`; each of `read` (its page was read)
        loses them. Bookkeeping, like the listing's presence: no event, no new revision."""
        table = WarningLetter.__table__
        cleared = sorted(set(read) - set(failed))
        with self._write() as connection:
            now = self.clock()
            for start in range(0, len(cleared), _READ_CHUNK):
                chunk = cleared[start : start + _READ_CHUNK]
                connection.execute(
                    table.update()
                    .where(_key_in(connection, table.c.slug, chunk), table.c.page_error.is_not(None))
                    .values(page_error=None, page_error_at=None)
                )
            if failed:
                connection.execute(
                    table.update()
                    .where(table.c.slug == bindparam("failed_slug"))
                    .values(page_error=bindparam("reason"), page_error_at=now),
                    [
                        {"failed_slug": slug, "reason": reason[:PAGE_ERROR_CHARS]}
                        for slug, reason in sorted(failed.items())
                    ],
                )

    def letter_page_counts(self) -> dict[str, int]:
        """How far the letters' pages are read: `letters` stored, `with_body` (a page was read),
        `unreadable` (the last try failed: `page_error`), `waiting` (not tried yet: no body, no
        error, not delisted; backfilled letters until a crawl reaches them)."""
        table = WarningLetter.__table__
        no_body = table.c.content_hash.is_(None)
        query = select(
            func.count(),
            func.count(table.c.content_hash),
            func.count(table.c.page_error),
            func.count().filter(no_body, table.c.page_error.is_(None), table.c.delisted_at.is_(None)),
        ).select_from(table)
        with self.engine.connect() as connection:
            letters, with_body, unreadable, waiting = connection.execute(query).one()
        return {"letters": letters, "with_body": with_body, "unreadable": unreadable, "waiting": waiting}

    def latest_runs(self, limit: int) -> list[Mapping[str, Any]]:
        table = CrawlRun.__table__
        with self.engine.connect() as connection:
            query = select(table).order_by(table.c.id.desc()).limit(limit)
            return [dict(r) for r in connection.execute(query).mappings()]

    def letters_by_listing_fields(self) -> dict[tuple[str, date | None, date | None], list[str]]:
        """(company, letter date, posted date) -> slugs, for exports that carry no letter link."""
        table = WarningLetter.__table__
        index: dict[tuple[str, date | None, date | None], list[str]] = {}
        query = select(table.c.company_name, table.c.letter_date, table.c.posted_date, table.c.slug)
        with self.engine.connect() as connection:
            for company, letter_date, posted_date, slug in connection.execute(query):
                index.setdefault(((company or "").casefold(), letter_date, posted_date), []).append(slug)
        return index

    # -- status -------------------------------------------------------------------------------

    def last_runs(self, sources: Collection[str]) -> dict[str, dict[str, Any]]:
        """source -> its newest crawl_runs row (any status), for the sources that have one."""
        table = CrawlRun.__table__
        newest = (
            select(func.max(table.c.id)).where(table.c.source.in_(sorted(sources))).group_by(table.c.source)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(select(table).where(table.c.id.in_(newest))).mappings()
            return {row["source"]: dict(row) for row in rows}

    def consecutive_failures(self, source: str) -> tuple[int, datetime | None]:
        """How many runs of a source failed since its last `ok` or `partial` one (runs still
        `running` do not count), and when that last good run started (None: never)."""
        table = CrawlRun.__table__
        with self.engine.connect() as connection:
            good = connection.execute(
                select(table.c.id, table.c.started_at)
                .where(table.c.source == source, table.c.status.in_(("ok", "partial")))
                .order_by(table.c.id.desc())
                .limit(1)
            ).first()
            since = good.id if good else 0
            failed = connection.execute(
                select(func.count()).where(
                    table.c.source == source, table.c.status == "failed", table.c.id > since
                )
            ).scalar_one()
        return failed, good.started_at if good else None

    def open_flag_counts(self) -> dict[tuple[str, str], int]:
        """(severity, status) -> how many flags are open or escalated."""
        table = Flag.__table__
        query = (
            select(table.c.severity, table.c.status, func.count())
            .where(table.c.status.in_(("open", "escalated")))
            .group_by(table.c.severity, table.c.status)
        )
        with self.engine.connect() as connection:
            return {(severity, status): count for severity, status, count in connection.execute(query)}

    def count_events_after(self, after: int, kinds: Collection[str] | None = None) -> int:
        """Events with an id above `after` (a channel's cursor), only of `kinds` when given."""
        table = Event.__table__
        query = select(func.count()).select_from(table).where(table.c.id > after)
        if kinds is not None:
            query = query.where(table.c.kind.in_(sorted(kinds)))
        with self.engine.connect() as connection:
            return connection.execute(query).scalar_one()

    def scheduled_jobs(self) -> dict[str, datetime | None] | None:
        """job id -> next run time (None: paused) from the daemon's `scheduler_jobs` table; None
        when the table does not exist (no daemon has run on this store yet)."""
        jobs = sa_table(SCHEDULER_JOBS_TABLE, column("id"), column("next_run_time"))
        with self.engine.connect() as connection:
            if not inspect(connection).has_table(SCHEDULER_JOBS_TABLE):
                return None
            return {
                str(job_id): None if at is None else datetime.fromtimestamp(float(at), UTC)
                for job_id, at in connection.execute(select(jobs.c.id, jobs.c.next_run_time))
            }

    def size(self) -> StoreSize:
        """The store's size on disk (see StoreSize)."""
        with self.engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                return StoreSize(
                    connection.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
                )
            files = connection.exec_driver_sql("PRAGMA database_list").all()
        path = next((row[2] for row in files if row[1] == "main"), "")
        if not path:  # in memory
            return StoreSize(None)
        wal = Path(f"{path}-wal")
        return StoreSize(Path(path).stat().st_size, wal.stat().st_size if wal.exists() else None)


def _key_in(connection: Connection, column: ColumnElement, keys: list[str]) -> ColumnElement[bool]:
    """`column IN keys` with the keys as ONE parameter (an array; on SQLite a JSON list), so the
    statement is compiled once and prepared by the server, instead of once per batch size."""
    if connection.dialect.name == "postgresql":
        return column == any_(bindparam("keys", keys, type_=postgresql.ARRAY(column.type)))
    listed = func.json_each(bindparam("keys", json.dumps(keys), type_=String)).table_valued("value")
    return column.in_(select(listed.c.value))


def _merge(
    old: Mapping[str, Any], new: Mapping[str, Any], entity: _Entity, overwrite: frozenset[str]
) -> tuple[dict[str, Any], list[str]]:
    """Combine a stored record with a source's view of it; returns (merged, changed field names).

    A source that does not state a field (None) never erases it. Fields in `overwrite` take the
    source's value; the others only fill a gap, so two sources that word a subject differently do
    not flip a record back and forth on every import. Untracked fields follow along but are never
    a change by themselves.
    """
    merged = {f: old[f] for f in entity.fields}
    changed = []
    for f in entity.fields:
        value = new[f]
        if value is None or value == old[f]:
            continue
        if f in entity.unions:
            value = sorted({*(old[f] or ()), *value})
            if value == old[f]:
                continue
            merged[f] = value
            changed.append(f)
            continue
        if old[f] is None or f in overwrite:
            merged[f] = value
            if f not in entity.untracked:
                changed.append(f)
    return merged, changed


def _json_plain(row: dict[str, Any], fields: frozenset[str]) -> dict[str, Any]:
    """JSON fields as they will read back (tuples become lists, dates strings), so that an
    unchanged value compares equal to the stored one."""
    plain = dict(row)
    for name in fields:
        value = plain[name]
        if value is not None and not _reads_back_equal(value):
            plain[name] = json.loads(json_dumps(value))
    return plain


def _reads_back_equal(value: Any) -> bool:
    """A list of strings, or an object of such lists (tags, phrases, names): JSON gives it back
    as it is, so the round trip through the encoder can be skipped (it is most of a batch's cost)."""
    if type(value) is list:
        return all(type(item) is str for item in value)
    if type(value) is dict:
        return all(
            type(key) is str and type(items) is list and all(type(item) is str for item in items)
            for key, items in value.items()
        )
    return False


def _snapshot(html: HtmlSnapshot | tuple[bytes, str | None]) -> HtmlSnapshot:
    return html if isinstance(html, HtmlSnapshot) else HtmlSnapshot.of(*html)
