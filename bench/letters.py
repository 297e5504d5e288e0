"""Letters/s of the full `fda_warning_letters` crawl, with its store, against a bare Scrapy spider.

Why it measures the way it does:

* The site: a replayed fda.gov built from the real listing rows (every letter of the 2021-2026 CSV,
  3,374 by default), each letter page rendered to FDA's page structure by the fixture builder,
  served from a process of its own (tests.replay), so the server does not take the crawler's CPU.
* The full side is what `exowatch crawl fda_warning_letters --full` runs: `python -m crawler` in a
  child process, into a fresh SQLite store, with every stage (listing JSON, letter pages, lxml
  extraction, relevance tagging, the batched upsert and the events).
* The baseline is a Scrapy spider that fetches exactly the same URLs (listing pages and letter
  pages) with the same settings (URL gate, limits, concurrency) and does nothing with them.
* Both are whole child processes, timed from start to exit, so start-up counts on both sides;
  the CPU each used (bench/child.py) is reported a letter, with its own goal (full <= 2x bare).
  They alternate which goes first; each side's best round is taken (on a shared machine noise only
  adds time), and the ratio is full letters/s over bare letters/s. Nothing is asserted.

Run: `python bench/letters.py` (EXOWATCH_BENCH_LETTERS, _ROUNDS, _CONCURRENCY to change the size).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.child import timed_run  # noqa: E402
from crawler.normalize.letters import LETTERS_PATH  # noqa: E402
from crawler.spiders.fda_warning_letters import LISTING_AJAX_PATH, LISTING_PARAMS  # noqa: E402
from db.store import Store  # noqa: E402
from tests.conftest import LISTING_CSV  # noqa: E402
from tests.fda_site import real_listing_rows  # noqa: E402

LETTERS = int(os.environ.get("EXOWATCH_BENCH_LETTERS", "3374"))
ROUNDS = int(os.environ.get("EXOWATCH_BENCH_ROUNDS", "4"))
CONCURRENCY = int(os.environ.get("EXOWATCH_BENCH_CONCURRENCY", "8"))
PAGE_SIZE = 100
GOAL = 0.7
CPU_GOAL = 2.0  # CPU a letter, full over bare (issue 18)


def build_site(folder: Path) -> list[str]:
    """Write listing.json and pages/<slug>.html for the first LETTERS letters of the CSV."""
    builder = _fixture_builder()
    rows = real_listing_rows()
    with LISTING_CSV.open(encoding="utf-8") as handle:
        slugs = [line.split(",", 1)[0].rstrip("/").rsplit("/", 1)[-1] for line in handle.readlines()[1:]]
    slugs = [s for s in dict.fromkeys(slugs) if s in rows][:LETTERS]
    builder.listing_row = lambda slug: {
        "company": rows[slug].company,
        "posted": rows[slug].posted,
        "letter": rows[slug].issued,
        "office": rows[slug].office,
        "subject": rows[slug].subject,
        "response": rows[slug].response,
        "closeout": rows[slug].closeout,
    }
    (folder / "pages").mkdir(parents=True)
    for slug in slugs:
        page = builder.listing_page(slug, ["Drugs"])
        (folder / "pages" / f"{slug}.html").write_text(builder.render(page), encoding="utf-8")
    (folder / "listing.json").write_text(json.dumps([dataclasses.asdict(rows[s]) for s in slugs]))
    return slugs


def _fixture_builder():
    path = ROOT / "tests" / "fixtures" / "fda" / "build_letter_pages.py"
    spec = importlib.util.spec_from_file_location("build_letter_pages", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def start_server(folder: Path) -> tuple[subprocess.Popen, str]:
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "serve_site.py"), str(folder)],
        stdout=subprocess.PIPE,
        text=True,
    )
    return server, f"127.0.0.1:{server.stdout.readline().strip()}"


def run_full(host: str, folder: Path, round_no: int, expected: int) -> tuple[float, float]:
    database = f"sqlite:///{folder / f'store-{round_no}.db'}"
    store = Store.open(database)
    store.init()
    run_id = store.start_run("fda_warning_letters")
    config = folder / f"config-{round_no}.toml"
    config.write_text(
        f'[database]\nurl = "{database}"\n[crawl]\nallow_hosts = ["{host}"]\ndownload_delay_seconds = 0\n'
        f"autothrottle = false\nrequests_per_site = {CONCURRENCY}\n"
        f'[sources.fda_warning_letters]\nbase_url = "http://{host}"\npage_size = {PAGE_SIZE}\n'
    )
    env = {**os.environ, "EXOWATCH_CONFIG": str(config)}
    command = [sys.executable, "-m", "crawler", "fda_warning_letters", "--run-id", str(run_id), "--full"]
    result, seconds, cpu = timed_run(command, env=env, capture_output=True, text=True, check=False, cwd=ROOT)
    summary = json.loads(result.stdout.strip().splitlines()[-1]) if result.stdout.strip() else {}
    if summary.get("status") != "ok" or summary.get("letters", {}).get("new") != expected:
        raise SystemExit(
            f"the full crawl did not store {expected} letters: {summary or result.stderr[-2000:]}"
        )
    store.close()
    return seconds, cpu


def run_bare(host: str, folder: Path, slugs: list[str]) -> tuple[float, float]:
    base = f"http://{host}"
    urls = [
        f"{base}{LISTING_AJAX_PATH}?"
        + urlencode({**LISTING_PARAMS, "draw": n + 1, "start": start, "length": PAGE_SIZE})
        for n, start in enumerate(range(0, len(slugs), PAGE_SIZE))
    ] + [f"{base}{LETTERS_PATH}{slug}" for slug in slugs]
    job = folder / "bare.json"
    overrides = {
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "CONCURRENT_REQUESTS_PER_DOMAIN": CONCURRENCY,
        "LOG_LEVEL": "INFO",
    }
    job.write_text(json.dumps({"urls": urls, "allow_hosts": [host], "overrides": overrides}))
    result, seconds, cpu = timed_run(
        [sys.executable, str(ROOT / "bench" / "bare_spider.py"), str(job)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.stdout.strip() != str(len(urls)):
        raise SystemExit(
            f"the bare spider fetched {result.stdout.strip()!r} of {len(urls)} URLs: {result.stderr[-2000:]}"
        )
    return seconds, cpu


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="exowatch-bench-letters-") as tmp:
        folder = Path(tmp)
        slugs = build_site(folder)
        server, host = start_server(folder)
        try:
            print(
                f"{len(slugs)} letters from the real listing, {PAGE_SIZE} a listing page, "
                f"{CONCURRENCY} requests "
                f"in flight; best of {ROUNDS} rounds each, sides alternating",
                flush=True,
            )
            full, bare, full_cpu, bare_cpu = [], [], [], []
            for round_no in range(ROUNDS):
                order = ("full", "bare") if round_no % 2 == 0 else ("bare", "full")
                for side in order:
                    if side == "full":
                        seconds, cpu = run_full(host, folder, round_no, len(slugs))
                        full.append(seconds)
                        full_cpu.append(cpu)
                    else:
                        seconds, cpu = run_bare(host, folder, slugs)
                        bare.append(seconds)
                        bare_cpu.append(cpu)
                print(f"round {round_no + 1}: full {full[-1]:.1f} s, bare {bare[-1]:.1f} s", flush=True)
        finally:
            server.terminate()
            server.wait()
    full_rate, bare_rate = len(slugs) / min(full), len(slugs) / min(bare)
    print(f"full crawl with store: {full_rate:,.0f} letters/s; bare Scrapy: {bare_rate:,.0f} letters/s")
    print(f"ratio: {full_rate / bare_rate:.2f} (goal >= {GOAL:.2f})")
    full_ms, bare_ms = 1000 * min(full_cpu) / len(slugs), 1000 * min(bare_cpu) / len(slugs)
    print(
        f"CPU a letter: full {full_ms:.2f} ms, bare {bare_ms:.2f} ms;"
        f" full/bare {full_ms / bare_ms:.2f} (goal <= {CPU_GOAL:.1f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
