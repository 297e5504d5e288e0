"""bench/store.py keeps running, and its baseline and the store leave identical data behind.

No timing is asserted: the benchmark itself refuses to print a ratio when the two sides wrote
different rows, so this run checks the store's bulk path against the raw driver's.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_ADMIN_URL

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
def test_bench_store_runs_small_and_prints_ratios(pg_database_url):
    env = {
        **os.environ,
        "EXOWATCH_BENCH_COPIES": "1",
        "EXOWATCH_BENCH_ROUNDS": "2",
        "EXOWATCH_BENCH_POSTGRES_URL": PG_ADMIN_URL,
    }
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "store.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sqlite load ratio: " in result.stdout
    assert "postgresql load ratio: " in result.stdout


def test_bench_letters_runs_small_and_prints_a_ratio():
    env = {**os.environ, "EXOWATCH_BENCH_LETTERS": "40", "EXOWATCH_BENCH_ROUNDS": "1"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "letters.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "40 letters from the real listing" in result.stdout
    assert "ratio: " in result.stdout
