"""Run every benchmark and write BENCHMARKS.md: `python bench/run_all.py [OUTPUT]`.

Each benchmark prints its ratios against a baseline measured in the same run (see its docstring);
this collects their output as it is, with the machine's description and the date, so every
figure in BENCHMARKS.md is reproduced by running this again (on a shared machine, expect the
spread the README gives). Set EXOWATCH_BENCH_QUICK=1 for a fast, small run (the test suite does).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: (script, what it measures, small settings for a quick run)
_ROUND = {"EXOWATCH_BENCH_ROUNDS": "1"}
BENCHMARKS = (
    ("store.py", "store upserts against the raw driver (SQLite, PostgreSQL)",
     {"EXOWATCH_BENCH_COPIES": "1", "EXOWATCH_BENCH_ROUNDS": "2"}),
    ("letters.py", "the warning-letter crawl against a bare Scrapy spider",
     {"EXOWATCH_BENCH_LETTERS": "40", **_ROUND}),
    ("notices.py", "feed parsing and storing against feedparser alone",
     {"EXOWATCH_BENCH_ITEMS": "20", "EXOWATCH_BENCH_ROUNDS": "2"}),
    ("clinics.py", "the clinic-site crawl against a bare Scrapy spider, and its peak memory",
     {"EXOWATCH_BENCH_SITES": "6", "EXOWATCH_BENCH_PAGES": "4", **_ROUND}),
    ("rules.py", "the flagger against one Aho-Corasick pass of its lexicon",
     {"EXOWATCH_BENCH_MB": "0.2", **_ROUND}),
    ("lexicon.py", "relevance tagging against a regex alternation", {}),
)  # fmt: skip


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB of memory"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}){memory}; {platform.platform()}; Python {platform.python_version()}"
    )


def main() -> int:
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "BENCHMARKS.md"
    quick = os.environ.get("EXOWATCH_BENCH_QUICK") == "1"
    sections = []
    failed = 0
    for script, what, small in BENCHMARKS:
        env = {**os.environ, **(small if quick else {})}
        print(f"running bench/{script} ...", flush=True)
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, str(ROOT / "bench" / script)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
        body = result.stdout.strip() or "(no output)"
        if result.returncode != 0:
            failed += 1
            body += f"\n\nFAILED with status {result.returncode}:\n{result.stderr.strip()[-2000:]}"
        sections.append(f"## bench/{script}: {what}\n\n```\n{body}\n```\n\n({seconds:.0f} s)\n")
    header = (
        "# Benchmarks\n\n"
        f"Written by `python bench/run_all.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
        f"{' (quick: small sizes)' if quick else ''}.\n\n"
        f"Machine: {machine()}.\n\n"
        "Every ratio is measured against its baseline in the same run (each benchmark's docstring says\n"
        "how); the machine is shared, so run again to see the spread.\n\n"
    )
    output.write_text(header + "\n".join(sections), encoding="utf-8")
    print(f"wrote {output}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
