"""db.bulk converts values exactly as SQLAlchemy's own execute would."""

from datetime import UTC, date, datetime

from sqlalchemy import JSON, Column, Date, Integer, MetaData, Table, insert
from sqlalchemy.dialects import postgresql, sqlite

from db.bulk import BulkStatement
from db.types import UTCDateTime

TABLE = Table(
    "t",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("doc", JSON),
    Column("day", Date),
    Column("at", UTCDateTime()),
)
ROWS = [
    {"doc": True, "day": date(2024, 1, 9), "at": datetime(2026, 1, 1, 12, tzinfo=UTC)},
    {"doc": 1, "day": date(2024, 1, 9), "at": datetime(2026, 1, 1, 12, tzinfo=UTC)},
    {"doc": 1.0, "day": None, "at": datetime(2026, 1, 1, 12, tzinfo=UTC)},
    {"doc": {"a": [1, "x"]}, "day": date(2025, 2, 3), "at": datetime(2026, 1, 1, 7, tzinfo=UTC)},
]


def test_sqlite_parameters_match_sqlalchemy_processing():
    bulk = BulkStatement(insert(TABLE), sqlite.dialect(), ("doc", "day", "at"))
    assert bulk.positional
    assert bulk.parameters(ROWS) == [
        ("true", "2024-01-09", "2026-01-01 12:00:00.000000"),
        ("1", "2024-01-09", "2026-01-01 12:00:00.000000"),
        ("1.0", None, "2026-01-01 12:00:00.000000"),
        ('{"a": [1, "x"]}', "2025-02-03", "2026-01-01 07:00:00.000000"),
    ]


def test_postgres_statement_has_no_returning_and_named_parameters():
    bulk = BulkStatement(insert(TABLE), postgresql.psycopg.dialect(), ("doc", "day", "at"))
    assert "RETURNING" not in bulk.sql
    params = bulk.parameters(ROWS[:2])
    assert [p["day"] for p in params] == [date(2024, 1, 9), date(2024, 1, 9)]
    assert params[0]["doc"] != params[1]["doc"]  # True and 1 stay apart
