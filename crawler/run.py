"""Run one crawl in this process: `python -m crawler SPIDER --run-id N [--full]`.

`exowatch crawl` starts this in a child process (Twisted's reactor cannot be restarted inside a
long-lived daemon, and a hard timeout needs a process to kill). The parent creates the crawl_runs
row; this fills it in: outcome, the failure reason, requests, errors and the letters stored.
Exit status: 0 done (ok, or partial: what could be read is stored), 3 source failure, 2 bad
arguments or configuration.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import sys
import warnings
from datetime import UTC, datetime
from typing import Any

from scrapy import signals
from scrapy.crawler import CrawlerProcess

from crawler.plans import CrawlPlan, crawl_plan, stored_state
from crawler.settings import crawl_settings
from crawler.spiders import SPIDERS, spider_class
from monitor.config import Config, DatabaseConfig, load_config
from monitor.errors import ConfigError

EXIT_FAILED = 3


#: Set by the crawl's parent (monitor.crawl) to its pid: the crawl dies with it (see _die_with_parent).
PARENT_PID_ENV = "EXOWATCH_PARENT_PID"

#: Set (to anything) by the test suite: deprecations in the crawl child fail the crawl, as in the tests.
STRICT_WARNINGS_ENV = "EXOWATCH_STRICT_WARNINGS"


def main(argv: list[str] | None = None) -> int:
    _die_with_parent()
    if os.environ.get(STRICT_WARNINGS_ENV):
        _deprecations_are_errors()
    parser = argparse.ArgumentParser(prog="python -m crawler", description=__doc__)
    parser.add_argument("spider", choices=SPIDERS)
    parser.add_argument("--run-id", type=int, required=True)
    parser.add_argument("--full", action="store_true", help="walk the whole listing")
    parser.add_argument("--config", help="config file (default: $EXOWATCH_CONFIG, ./config.toml)")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"crawler: error: {exc}", file=sys.stderr)
        return 2
    summary = crawl(config, args.spider, run_id=args.run_id, full=args.full)
    print(json.dumps(summary, default=str))
    return 0 if summary["status"] in ("ok", "partial") else EXIT_FAILED


def _die_with_parent() -> None:
    """A crawl whose parent was killed outright (the daemon, by SIGKILL) is killed too, by the
    kernel (Linux's PR_SET_PDEATHSIG): an orphan would go on writing to the store behind the back
    of the daemon that restarts. Its uncommitted work is lost; its run is abandoned later."""
    parent = os.environ.get(PARENT_PID_ENV)
    if not parent or not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if str(os.getppid()) != parent:  # the parent died before the line above
        os._exit(EXIT_FAILED)


_PR_SET_PDEATHSIG = 1


def _deprecations_are_errors() -> None:
    from scrapy.exceptions import ScrapyDeprecationWarning

    for category in (DeprecationWarning, PendingDeprecationWarning, ScrapyDeprecationWarning):
        warnings.filterwarnings("error", category=category)


def crawl(config: Config, spider_name: str, *, run_id: int, full: bool) -> dict[str, Any]:
    state = stored_state(
        spider_name, config.database, letter_pages=config.sources.fda_warning_letters.pages_per_run
    )
    return _crawl(config, spider_name, crawl_plan(spider_name, config, full=full), state, run_id)


def _crawl(
    config: Config, spider_name: str, plan: CrawlPlan, state: dict[str, Any], run_id: int
) -> dict[str, Any]:
    settings = crawl_settings(
        user_agent_contact=config.crawl.contact,
        allow_hosts=config.crawl.allow_hosts,
        overrides={
            "ITEM_PIPELINES": plan.pipelines,
            "EXOWATCH_DATABASE_URL": config.database.url,
            "EXOWATCH_DELIST_AFTER": config.crawl.delist_after,
            "EXOWATCH_RUN_SOURCE": f"crawl {spider_name} #{run_id}",
            "LOG_LEVEL": "INFO",
            "DOWNLOAD_DELAY": config.crawl.download_delay_seconds,
            "AUTOTHROTTLE_ENABLED": config.crawl.autothrottle,
            "CONCURRENT_REQUESTS_PER_DOMAIN": config.crawl.requests_per_site,
            "EXOWATCH_PROXY": config.crawl.proxy,
            **plan.settings,
        },
    )
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(spider_class(spider_name))
    bugs: list[str] = []

    def on_spider_error(failure, response, spider) -> None:  # a bug in our code, not the source's
        error = f"{failure.type.__name__}: {failure.getErrorMessage()[:200]}"
        bugs.append(f"spider error on {response.url[:200]}: {error}")

    crawler.signals.connect(on_spider_error, signal=signals.spider_error)
    process.crawl(crawler, **plan.spider_kwargs, **state)
    process.start()
    return _record(config, crawler, run_id, bugs)


def _record(config: Config, crawler, run_id: int, bugs: list[str]) -> dict[str, Any]:
    stats = crawler.stats.get_stats()
    spider = crawler.spider
    reason = getattr(spider, "failure", None)
    finish = stats.get("finish_reason")
    if reason is None and finish not in ("finished", "shutdown"):
        reason = f"crawl ended: {finish}"
    if reason is None and not stats.get("exowatch/stored"):
        reason = "crawl ended before its records were stored"
    counts = tuple(stats.get(f"exowatch/records_{name}", 0) for name in ("new", "changed", "unchanged"))
    problems = [*getattr(spider, "source_failures", ()), *getattr(spider, "page_failures", ()), *bugs]
    if reason:
        status = "failed"
    elif problems:  # stored what could be read; the run says what could not
        status = "partial"
        reason = _problems_line(problems)
    else:
        status = "ok"
    cache = getattr(spider, "robots_cache", None)
    finish_run(
        config.database,
        run_id,
        robots_txt=cache.read if cache is not None else {},
        status=status,
        counts=counts,
        seen=len(getattr(spider, "seen", ())),
        error=reason,
        requests=stats.get("downloader/request_count", 0),
        errors=stats.get("log_count/ERROR", 0),
        stats=_counters(stats),
    )
    return {
        "run_id": run_id,
        "status": status,
        "reason": reason,
        "requests": stats.get("downloader/request_count", 0),
        "records": dict(zip(("new", "changed", "unchanged"), counts, strict=True)),
        "letters": {k.split("_", 1)[1]: v for k, v in stats.items() if k.startswith("exowatch/letters_")},
        "listing_complete": stats.get("exowatch/listing_complete", False),
        "urlgate_refused": stats.get("urlgate/refused", 0),
        "problems": problems,
    }


def finish_run(
    database: DatabaseConfig, run_id: int, *, robots_txt: dict[str, tuple[int, bytes]], **outcome: Any
) -> None:
    """Fill in the crawl's crawl_runs row, and keep the robots.txt it read for the next crawls."""
    from db.store import Store  # here, not at the top: see crawler.plans.stored_state

    store = Store.open(database.url, busy_timeout_seconds=database.busy_timeout_seconds)
    try:
        store.record_robots_txt(robots_txt, datetime.now(UTC))
        store.finish_run(run_id, **outcome)
    finally:
        store.close()


def _counters(stats: dict[str, Any]) -> dict[str, int]:
    """The run's own counters (exowatch/*, the URL gate's, size cuts): what it skipped and why."""
    keep = (
        "exowatch/",
        "urlgate/",
        "httpcompression/",
        "robotstxt/forbidden",
        "robotstxt/cached",
        "retry/max_reached",
    )
    return {
        key.split("/", 1)[1] if key.startswith("exowatch/") else key: value
        for key, value in sorted(stats.items())
        if key.startswith(keep) and isinstance(value, int) and not isinstance(value, bool)
    }


def _problems_line(problems: list[str], shown: int = 3, max_chars: int = 2000) -> str:
    """One line for crawl_runs.error: how many sources failed and the first few reasons."""
    head = "; ".join(" ".join(p.split()) for p in problems[:shown])
    more = f"; and {len(problems) - shown} more" if len(problems) > shown else ""
    return f"{len(problems)} failed: {head}{more}"[:max_chars]
