"""Pages/s of the `clinic_sites` crawl (spider, extraction, store) against a bare Scrapy spider, and
the peak memory of the crawl.

Why it measures the way it does:

* The web: SITES generated clinic sites (bench/serve_web.py), each a home page whose menu links
  PAGES - 1 treatment pages of about 20 KB (prose, a price table, a menu, a cookie banner, a
  footer), served through one loopback HTTP proxy in a process of its own: 250 x 20 = 5,000 pages
  by default.
* The full side is what `exowatch crawl clinic_sites` runs: `python -m crawler clinic_sites` in a
  child process, into a fresh SQLite store that holds the SITES clinics, with every stage (link
  selection, boilerplate removal and text, the batched page upsert with its events and gzip
  snapshots). Its peak memory is the child's maximum resident set size (getrusage).
* The baseline is a Scrapy spider fetching exactly the same URLs (robots.txt, home pages,
  treatment pages, sitemaps that answer 404) with the same settings and the same proxy, doing
  nothing with them.
* Both are whole child processes timed from start to exit; they alternate, each side's best round
  is taken. The CPU each used (bench/child.py) is reported a page. Nothing is asserted.

Run: `python bench/clinics.py` (EXOWATCH_BENCH_SITES, _PAGES, _ROUNDS to change it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.child import timed_run  # noqa: E402
from db.records import ClinicRecord  # noqa: E402
from db.store import Store  # noqa: E402

SITES = int(os.environ.get("EXOWATCH_BENCH_SITES", "250"))
PAGES = int(os.environ.get("EXOWATCH_BENCH_PAGES", "20"))
ROUNDS = int(os.environ.get("EXOWATCH_BENCH_ROUNDS", "3"))
CONCURRENCY = 32  # requests in flight: what the clinic_sites crawl runs with (crawler/plans.py)
GOAL_RATIO = 0.7
GOAL_MB = 300

#: Runs the crawl child and reports its peak memory on its last stderr line.
CHILD = (
    "import resource, sys\n"
    "from crawler.run import main\n"
    "code = main(sys.argv[1:])\n"
    "print('maxrss_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def sites() -> list[str]:
    return [f"http://clinic-{i}.example/" for i in range(SITES)]


def start_server() -> tuple[subprocess.Popen, str]:
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "serve_web.py"), str(SITES), str(PAGES)],
        stdout=subprocess.PIPE,
        text=True,
    )
    return server, f"127.0.0.1:{server.stdout.readline().strip()}"


def run_full(folder: Path, proxy_host: str, round_no: int) -> tuple[float, float, int]:
    database = f"sqlite:///{folder / f'store-{round_no}.db'}"
    store = Store.open(database)
    store.init()
    store.upsert_clinics(
        [
            ClinicRecord(clinic_key=f"clinic-{i}.example", domain=f"clinic-{i}.example", website=url)
            for i, url in enumerate(sites())
        ],
        source="bench",
        seen_at=datetime.now(UTC),
    )
    run_id = store.start_run("clinic_sites")
    store.close()
    config = folder / f"config-{round_no}.toml"
    config.write_text(
        f'[database]\nurl = "{database}"\n[crawl]\nallow_hosts = ["*.example", "{proxy_host}"]\n'
        f'proxy = "http://{proxy_host}"\ndownload_delay_seconds = 0\nautothrottle = false\n'
        f"requests_per_site = 1\n[sources.clinic_sites]\ndepth = 1\npages_per_site = {PAGES}\n"
    )
    env = {**os.environ, "EXOWATCH_CONFIG": str(config)}
    command = [sys.executable, "-c", CHILD, "clinic_sites", "--run-id", str(run_id)]
    result, seconds, cpu = timed_run(command, env=env, capture_output=True, text=True, check=False, cwd=ROOT)
    summary = json.loads(result.stdout.strip().splitlines()[-1]) if result.stdout.strip() else {}
    if summary.get("records", {}).get("new") != SITES * PAGES:
        raise SystemExit(f"the crawl did not store {SITES * PAGES} pages: {summary or result.stderr[-3000:]}")
    peak_kb = int(result.stderr.strip().splitlines()[-1].split()[-1])
    return seconds, cpu, peak_kb


def run_bare(folder: Path, proxy_host: str) -> tuple[float, float]:
    urls = []
    for home in sites():
        urls += [home, f"{home}sitemap.xml"] + [f"{home}treatments/{k}" for k in range(1, PAGES)]
    job = folder / "bare.json"
    overrides = {
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        "CONCURRENT_REQUESTS": CONCURRENCY,
        "EXOWATCH_PROXY": f"http://{proxy_host}",
        "HTTPERROR_ALLOW_ALL": True,
        "LOG_LEVEL": "INFO",
    }
    job.write_text(
        json.dumps({"urls": urls, "allow_hosts": ["*.example", proxy_host], "overrides": overrides})
    )
    result, seconds, cpu = timed_run(
        [sys.executable, str(ROOT / "bench" / "bare_spider.py"), str(job)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.stdout.strip() != str(len(urls)):
        raise SystemExit(
            f"the bare spider fetched {result.stdout.strip()!r} of {len(urls)}: {result.stderr[-2000:]}"
        )
    return seconds, cpu


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="exowatch-bench-clinics-") as tmp:
        folder = Path(tmp)
        server, proxy_host = start_server()
        try:
            print(
                f"{SITES} sites x {PAGES} pages = {SITES * PAGES} pages through one proxy, "
                f"{CONCURRENCY} requests in flight (one per site); best of {ROUNDS} rounds each, "
                "sides alternating",
                flush=True,
            )
            full, bare, peaks, full_cpu, bare_cpu = [], [], [], [], []
            for round_no in range(ROUNDS):
                for side in ("full", "bare") if round_no % 2 == 0 else ("bare", "full"):
                    if side == "full":
                        seconds, cpu, peak = run_full(folder, proxy_host, round_no)
                        full.append(seconds)
                        full_cpu.append(cpu)
                        peaks.append(peak)
                    else:
                        seconds, cpu = run_bare(folder, proxy_host)
                        bare.append(seconds)
                        bare_cpu.append(cpu)
                print(f"round {round_no + 1}: full {full[-1]:.1f} s, bare {bare[-1]:.1f} s", flush=True)
        finally:
            server.terminate()
            server.wait()
    pages = SITES * PAGES
    full_rate, bare_rate = pages / min(full), pages / min(bare)
    print(f"clinic crawl with store: {full_rate:,.0f} pages/s; bare Scrapy: {bare_rate:,.0f} pages/s")
    print(f"ratio: {full_rate / bare_rate:.2f} (goal >= {GOAL_RATIO:.2f})")
    full_ms, bare_ms = 1000 * min(full_cpu) / pages, 1000 * min(bare_cpu) / pages
    print(f"CPU a page: full {full_ms:.2f} ms, bare {bare_ms:.2f} ms; full/bare {full_ms / bare_ms:.2f}")
    print(f"peak memory of the crawl: {max(peaks) / 1024:.0f} MB (goal < {GOAL_MB} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
