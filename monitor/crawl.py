"""`exowatch crawl`: run each crawl in a child process with a hard timeout, retrying failures.

A child per crawl because Twisted's reactor cannot restart inside a long-lived process, and
because only a process can be killed at a hard deadline. The parent creates the crawl_runs row
before the child starts, so a child that hangs, crashes or is killed still leaves a failed run
with its reason. A failed crawl is tried again after retry_backoff_seconds, then twice that, and
so on, up to [crawl] retries times. A partial crawl (some sources failed, the rest was stored) is
not retried: its run says which sources failed, and the next scheduled crawl reads them again.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from db.store import Store
from monitor.config import Config
from monitor.runs import close_dead_runs

STDERR_TAIL = 400


@dataclass(frozen=True)
class CrawlOutcome:
    spider: str
    run_id: int
    status: str
    attempts: int
    reason: str | None
    run: Mapping[str, Any]  # the last attempt's crawl_runs row


def run_crawl(
    config: Config,
    spider: str,
    *,
    config_path: str | None,
    full: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    runner: str | None = None,
) -> CrawlOutcome:
    """Crawl `spider` in a child process, retrying failures; `runner` names this process in the
    runs it records (crawl_runs.runner)."""
    store = Store.open(config.database.url, busy_timeout_seconds=config.database.busy_timeout_seconds)
    try:
        close_dead_runs(store)  # runs of this host whose process was killed before their end
        attempts = config.crawl.retries + 1
        for attempt in range(1, attempts + 1):
            run_id = store.start_run(spider, attempt=attempt, runner=runner)
            reason = _run_child(config, spider, run_id, config_path=config_path, full=full, store=store)
            run = store.run(run_id)
            if reason is None:  # ok, or partial: stored what it could read, with its reason
                stats = run["stats"] or {}
                store.record_source_health(
                    spider,
                    failing=False,
                    run_id=run_id,
                    reason=run["error"],
                    pages_failed=int(stats.get("pages_failed", 0)),
                    sources_failed=int(stats.get("sources_failed", 0)),
                )
                return CrawlOutcome(spider, run_id, run["status"], attempt, run["error"], run)
            if attempt < attempts:
                sleep(config.crawl.retry_backoff_seconds * 2 ** (attempt - 1))
        # every try failed: once enough runs in a row failed, the source is failing (one event
        # when it starts failing, not per run)
        failed_in_a_row, _ = store.consecutive_failures(spider)
        if failed_in_a_row >= config.crawl.failing_after:
            store.record_source_health(spider, failing=True, run_id=run_id, reason=reason)
        return CrawlOutcome(spider, run_id, "failed", attempts, reason, store.run(run_id))
    finally:
        store.close()


# The crawl children running now: a daemon that loses the lead stops them at once, before another
# daemon, leading now, starts the same crawl.
_CHILDREN: set[subprocess.Popen] = set()
_CHILDREN_LOCK = threading.Lock()


def stop_children() -> int:
    """Terminate the crawl children of this process (SIGTERM); returns how many there were."""
    with _CHILDREN_LOCK:
        children = list(_CHILDREN)
    for child in children:
        if child.poll() is None:
            child.terminate()
    return len(children)


def _run_child(
    config: Config, spider: str, run_id: int, *, config_path: str | None, full: bool, store: Store
) -> str | None:
    """Run the child; returns the failure reason, None on success (a partial crawl is one)."""
    command = [sys.executable, "-m", "crawler", spider, "--run-id", str(run_id)]
    if full:
        command.append("--full")
    # the child dies with this process (crawler.run._die_with_parent)
    env = {
        **os.environ,
        "EXOWATCH_DATABASE_URL": config.database.url,
        "EXOWATCH_PARENT_PID": str(os.getpid()),
    }
    if config_path:
        env["EXOWATCH_CONFIG"] = str(config_path)
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with _CHILDREN_LOCK:
        _CHILDREN.add(child)
    try:
        _, stderr = child.communicate(timeout=config.crawl.timeout_seconds)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        reason = f"timed out after {config.crawl.timeout_seconds:g} seconds"
        store.finish_run(run_id, status="failed", error=reason)
        return reason
    finally:
        with _CHILDREN_LOCK:
            _CHILDREN.discard(child)
    run = store.run(run_id)
    if run["status"] == "running":  # the child died before it could record anything
        tail = " ".join(stderr.strip().splitlines()[-3:])[-STDERR_TAIL:]
        reason = f"crawler process exited with status {child.returncode}: {tail}"
        store.finish_run(run_id, status="failed", error=reason)
        return reason
    return run["error"] if run["status"] not in ("ok", "partial") else None
