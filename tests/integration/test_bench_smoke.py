"""The benchmarks keep running. No timing is asserted.

bench/store.py refuses to print a ratio when the store and its raw-driver baseline left different
rows, so its run also checks the store's bulk path against the raw driver's; bench/letters.py
refuses when the full crawl did not store every letter or the bare spider missed a URL.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_ADMIN_URL

ROOT = Path(__file__).resolve().parents[2]


def run_bench(script: str, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script)],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.postgres
def test_bench_store_runs_small_and_prints_ratios(pg_database_url):
    out = run_bench(
        "store.py",
        EXOWATCH_BENCH_COPIES="1",
        EXOWATCH_BENCH_ROUNDS="2",
        EXOWATCH_BENCH_POSTGRES_URL=PG_ADMIN_URL,
    )
    assert "sqlite load ratio: " in out
    assert "postgresql load ratio: " in out


def test_bench_letters_runs_small_and_prints_a_ratio():
    out = run_bench("letters.py", EXOWATCH_BENCH_LETTERS="40", EXOWATCH_BENCH_ROUNDS="1")
    assert "40 letters from the real listing" in out
    assert "ratio: " in out


def test_bench_notices_runs_small_and_prints_ratios():
    out = run_bench("notices.py", EXOWATCH_BENCH_ITEMS="20", EXOWATCH_BENCH_ROUNDS="2")
    assert "20-item feed" in out
    assert "ratio first crawl: " in out and "ratio re-crawl: " in out


def test_bench_clinics_runs_small_and_prints_the_ratio_and_the_memory():
    out = run_bench(
        "clinics.py", EXOWATCH_BENCH_SITES="6", EXOWATCH_BENCH_PAGES="4", EXOWATCH_BENCH_ROUNDS="1"
    )
    assert "6 sites x 4 pages = 24 pages" in out
    assert "ratio: " in out and "peak memory of the crawl: " in out


def test_bench_rules_runs_small_and_prints_a_ratio_and_the_model_cost():
    out = run_bench("rules.py", EXOWATCH_BENCH_MB="0.2", EXOWATCH_BENCH_ROUNDS="1")
    assert "one Aho-Corasick pass of the lexicon: " in out and "ratio, rules to one pass: " in out
    assert "flagger with the page model: " in out and " pages/s, " in out and "ms CPU a page" in out


@pytest.mark.postgres
def test_run_all_writes_benchmarks_md_from_every_benchmark(tmp_path, pg_database_url):
    output = tmp_path / "BENCHMARKS.md"
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run_all.py"), str(output)],
        cwd=ROOT,
        env={**os.environ, "EXOWATCH_BENCH_QUICK": "1", "EXOWATCH_BENCH_POSTGRES_URL": PG_ADMIN_URL},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    text = output.read_text("utf-8")
    for script in ("store.py", "letters.py", "notices.py", "clinics.py", "rules.py", "lexicon.py"):
        assert f"## bench/{script}" in text
    assert "Machine: " in text and "ratio" in text and "FAILED" not in text
