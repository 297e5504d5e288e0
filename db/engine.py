"""Create engines that behave the same on SQLite and PostgreSQL.

SQLite gets WAL (readers never block the writer), a busy timeout, foreign keys, and transactions
that we begin ourselves, so that a write transaction can start with BEGIN IMMEDIATE and take the
write lock before it reads. PostgreSQL URLs are pointed at psycopg 3.
"""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import date, datetime

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

#: Execution option that marks a connection as a writer (see db.store.Store._write).
WRITE_OPTION = "exowatch_write"


def normalize_url(url: str) -> str:
    """postgres:// and postgresql:// mean psycopg 3 here; everything else passes unchanged."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def json_default(value: object) -> str:
    """Dates and timestamps in JSON columns (event summaries) are ISO 8601 strings."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# One encoder for every document: json.dumps(default=...) would build a new one per call.
json_dumps = json.JSONEncoder(default=json_default, ensure_ascii=False).encode


def make_engine(url: str, *, busy_timeout_seconds: float = 30.0) -> Engine:
    url = normalize_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite_engine(url, busy_timeout_seconds)
    # Positional parameters: psycopg then skips re-ordering a mapping for every row of a batch.
    return create_engine(url, pool_pre_ping=True, json_serializer=json_dumps, paramstyle="format")


def _sqlite_engine(url: str, busy_timeout_seconds: float) -> Engine:
    engine = create_engine(url, connect_args={"timeout": busy_timeout_seconds}, json_serializer=json_dumps)
    busy_ms = int(busy_timeout_seconds * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let us issue BEGIN ourselves (pysqlite's implicit BEGIN is DEFERRED and comes too late).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            cursor.execute("PRAGMA foreign_keys = ON")
            _use_wal(cursor, busy_timeout_seconds)
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        if connection.get_execution_options().get(WRITE_OPTION):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")

    return engine


def _use_wal(cursor, busy_timeout_seconds: float) -> None:
    """Switch a new database file to WAL. The switch needs the file to itself and SQLite does not
    wait for it (no busy handler): two processes opening one new store at once (two `init`s) retry
    until the other is done, within the busy timeout."""
    deadline = time.monotonic() + busy_timeout_seconds
    while True:
        try:
            mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
            if mode not in ("memory", "wal"):
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def describe_url(engine: Engine) -> str:
    """The store's location for people to read: the password is never shown."""
    return engine.url.render_as_string(hide_password=True)
