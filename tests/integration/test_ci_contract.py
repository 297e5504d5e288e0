"""With CI=true a PostgreSQL that cannot be reached fails the run; elsewhere it only skips."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ONE_PG_TEST = "tests/integration/test_store.py::test_runs_and_counts"


def run_pytest(ci: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "CI": ci,
        "EXOWATCH_TEST_POSTGRES_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", ONE_PG_TEST],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_missing_postgres_fails_under_ci():
    result = run_pytest("true")
    assert result.returncode != 0
    assert "CI=true: PostgreSQL is required" in result.stdout
    assert "1 passed" in result.stdout  # the SQLite half still ran


def test_missing_postgres_skips_elsewhere():
    result = run_pytest("")
    assert result.returncode == 0
    assert "1 passed, 1 skipped" in result.stdout
