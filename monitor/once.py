"""`exowatch once`: the whole job one time, for cron and CI users: every source's crawl (each in
its own child process, with its retries), the flagger, then every channel's digest; then exit.

A step that fails is reported and the next steps still run (a failing feed must not stop the
digest of what did work); the exit status says whether anything failed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from alerts.run import run_digests
from db.store import Store
from monitor.config import Config
from monitor.crawl import run_crawl
from monitor.flagging import run_flagger
from monitor.leader import identity


@dataclass
class OnceReport:
    lines: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def run_once(config: Config, *, config_path: str | None, echo: Callable[[str], None] = print) -> OnceReport:
    report = OnceReport()
    for source in config.run.sources:
        if source == "clinic_listings" and not config.sources.clinic_listings:
            echo(f"{source}: skipped: no [[sources.clinic_listings]] configured")
            continue
        outcome = run_crawl(config, source, config_path=config_path, runner=identity("once"))
        run = outcome.run
        line = f"{source}: run #{outcome.run_id} {outcome.status}"
        if outcome.status in ("ok", "partial"):
            counts = (run["records_new"], run["records_changed"], run["records_unchanged"])
            line += ": {} new, {} changed, {} unchanged".format(*counts)
        if outcome.reason:
            line += f" ({outcome.reason[:300]})"
        echo(line)
        if outcome.status == "failed":
            report.failed.append(source)
    store = Store.open(config.database.url, busy_timeout_seconds=config.database.busy_timeout_seconds)
    try:
        echo(f"flagger: {run_flagger(store).line()}")
        base = config.base_dir
        for outcome in run_digests(store, config, echo=echo, base_dir=base) + run_digests(
            store, config, urgent=True, echo=echo, base_dir=base
        ):
            echo(
                f"digest {outcome.channel}: {outcome.status}{': ' + outcome.detail if outcome.detail else ''}"
            )
            if outcome.status == "failed":
                report.failed.append(f"digest {outcome.channel}")
    finally:
        store.close()
    return report
