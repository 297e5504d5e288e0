"""Shared fixtures: a fresh store on SQLite and on the real PostgreSQL server on loopback.

With CI=true a PostgreSQL that cannot be reached fails the run; elsewhere its tests are skipped.
Each test session gets its own throwaway PostgreSQL database, dropped at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from db.store import Store
from tests.smtp_inbox import Inbox, free_port

FIXTURES = Path(__file__).parent / "fixtures"
LISTING_CSV = FIXTURES / "fda" / "listing" / "warning_letters_2021_2026.csv"
LISTING_JSON = FIXTURES / "fda" / "listing" / "warning_letters_2020_2025.json"
PG_ADMIN_URL = os.environ.get(
    "EXOWATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# The crawl runs in a child process, out of pytest's reach: there too a deprecation is an error.
os.environ["EXOWATCH_STRICT_WARNINGS"] = "1"


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A new, empty PostgreSQL database for this test session."""
    name = f"exowatch_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        message = f"PostgreSQL at {PG_ADMIN_URL} is not reachable: {str(exc.orig).splitlines()[0]}"
        if IN_CI:
            pytest.fail(f"{message} (CI=true: PostgreSQL is required)")
        pytest.skip(message)
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _empty_pg(url: str) -> str:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database, once per backend: every store behaviour runs on both."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return _empty_pg(request.getfixturevalue("pg_database_url"))


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """An initialised, empty store on each backend."""
    handle = Store.open(db_url, busy_timeout_seconds=30)
    handle.init()
    yield handle
    handle.close()


@pytest.fixture
def smtp() -> Iterator[Inbox]:
    """A real SMTP server on loopback; `.messages` holds what it received, `.port` where it listens."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()
