"""The README's schema is the real one, and its example SQL runs on both backends."""

import re
from pathlib import Path

from sqlalchemy import inspect, text

from db.models import Base
from monitor.backfill import import_letter_files
from tests.conftest import LISTING_CSV, LISTING_JSON

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def readme_sql(dialect: str) -> list[str]:
    """Every statement of the README's SQL blocks that is meant for `dialect` (a block whose first
    line is `-- SQLite` or `-- PostgreSQL` is for that database only)."""
    blocks = re.findall(r"```sql\n(.*?)```", README, flags=re.S)
    names = {"sqlite": "-- SQLite", "postgresql": "-- PostgreSQL"}
    chosen = [b for b in blocks if not b.startswith("-- ") or b.startswith(names[dialect])]
    return [s.strip() for block in chosen for s in block.split(";") if s.strip()]


def test_readme_documents_every_table_and_column():
    for table in Base.metadata.sorted_tables:
        assert f"`{table.name}`" in README or f"### {table.name}" in README, table.name
        for column in table.columns:
            assert f"`{column.name}`" in README, f"{table.name}.{column.name} is not documented"


def test_readme_example_queries_run_and_find_letters(store):
    import_letter_files(store, [LISTING_CSV, LISTING_JSON])
    statements = readme_sql(store.engine.dialect.name)
    assert len(statements) >= 6
    with store.engine.connect() as connection:
        results = [connection.execute(text(sql)).all() for sql in statements]
    office_year, per_year = results[0], results[1]
    assert office_year and all(str(row.posted_date).startswith("2023-") for row in office_year)
    assert sum(row.letters for row in per_year) == 4021
    assert any(results[3])  # the Kimera Labs letter's history


def test_the_models_match_the_migrated_schema(store):
    inspector = inspect(store.engine)
    for table in Base.metadata.sorted_tables:
        stored = {c["name"] for c in inspector.get_columns(table.name)}
        assert stored == {c.name for c in table.columns}, table.name
