"""The `exowatch` command line.

Exit status: 0 done; 2 bad input (a config key, a file, a row), with one line saying what; 1 an
operational failure (store unreachable, not initialised). A traceback is shown only with -v.
"""

from __future__ import annotations

import json
import re
import sys
import traceback
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import click
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from db.store import Store, StoreError
from monitor.config import ChannelConfig, Config, load_config
from monitor.errors import ExowatchError, InputError
from monitor.rules.model import SITE_KINDS


@dataclass
class _State:
    config_path: str | None = None
    verbose: bool = False
    _config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    def open_store(self) -> Store:
        database = self.config.database
        return Store.open(
            database.url, busy_timeout_seconds=database.busy_timeout_seconds, batch_size=database.batch_size
        )


pass_state = click.make_pass_decorator(_State)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Config file (default: $EXOWATCH_CONFIG, else ./config.toml, else built-in defaults).",
)
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """exowatch: FDA actions and clinics advertising unapproved exosome products."""
    state = ctx.ensure_object(_State)
    state.config_path = config_path
    state.verbose = verbose


@cli.command()
@pass_state
def init(state: _State) -> None:
    """Create the store, or upgrade it to the newest schema. Safe to run again."""
    store = state.open_store()
    try:
        before, after = store.init()
    finally:
        store.close()
    if before == after:
        click.echo(f"store at {store.location} is up to date (schema {after})")
    else:
        click.echo(f"store at {store.location}: schema {before or 'empty'} -> {after}")


@cli.command("import-letters")
@click.argument("files", nargs=-1, required=True)
@pass_state
def import_letters(state: _State, files: Sequence[str]) -> None:
    """Backfill warning letters from FDA listing exports (CSV, JSON or FDA's XLSX)."""
    from monitor.backfill import plan_import, run_import

    store = state.open_store()
    try:
        store.require_schema()
        plan = plan_import(store, files)
        with _progress(plan.summary.letters, "storing letters") as advance:
            summary = run_import(store, plan, progress=advance)
    finally:
        store.close()
    for path, rows in summary.rows_per_file.items():
        click.echo(f"{path}: {rows} rows")
    if summary.matched_without_link or summary.unmatched_without_link:
        click.echo(
            f"rows without a letter link: {summary.matched_without_link} matched to a known letter, "
            f"{len(summary.unmatched_without_link)} skipped (no single letter with that company and dates)"
        )
        for where in summary.unmatched_without_link[:10]:
            click.echo(f"  skipped {where}")
    click.echo(f"{summary.letters} letters: {summary.report.line()}")


@contextmanager
def _progress(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """A bar on a terminal; on a pipe or log, a line per tenth of the work (large jobs only)."""
    if sys.stderr.isatty():
        with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
            yield bar.update
        return
    done = 0
    step = max(total // 10, 1)

    def advance(count: int) -> None:
        nonlocal done
        before, done = done, done + count
        if total >= 2000 and (done // step > before // step or done == total):
            click.echo(f"{label}: {done}/{total}", err=True)

    yield advance


@cli.command()
@click.argument("spiders", nargs=-1, required=True)
@click.option("--full", is_flag=True, help="Walk the whole listing (counts towards delisting).")
@pass_state
def crawl(state: _State, spiders: Sequence[str], full: bool) -> None:
    """Run crawls, each in its own process with a hard timeout; failures are retried."""
    from crawler.spiders import SPIDERS
    from monitor.crawl import run_crawl
    from monitor.leader import identity

    unknown = [name for name in spiders if name not in SPIDERS]
    if unknown:
        raise InputError(f"unknown spider {unknown[0]!r} (spiders: {', '.join(SPIDERS)})")
    store = state.open_store()
    try:
        store.require_schema()
    finally:
        store.close()
    failed = []
    for name in spiders:
        outcome = run_crawl(
            state.config, name, config_path=state.config_path or None, full=full, runner=identity("crawl")
        )
        line = f"{name}: run #{outcome.run_id} {outcome.status}"
        if outcome.attempts > 1:
            line += f" after {outcome.attempts} attempts"
        run = outcome.run
        if outcome.status in ("ok", "partial"):
            line += (
                f": {run['records_new']} new, {run['records_changed']} changed, "
                f"{run['records_unchanged']} unchanged, {run['requests']} requests"
            )
        if outcome.reason:
            line += f"; {outcome.reason}" if outcome.status == "partial" else f": {outcome.reason}"
        click.echo(line)
        if outcome.status == "failed":
            failed.append(name)
    if failed:
        raise ExowatchError(f"crawl failed: {', '.join(failed)}")


@cli.command()
@click.option("--events", "event_limit", type=click.IntRange(0, 1000), help="How many latest events to show.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (for monitoring scripts).")
@pass_state
def status(state: _State, event_limit: int | None, as_json: bool) -> None:
    """Each source's last and next run, open flags, events not yet digested per channel, the
    store's size, rows per table, the latest runs and events."""
    store = state.open_store()
    try:
        store.require_schema()
        limit = state.config.status.latest_events if event_limit is None else event_limit
        report = _status_report(store, state.config, limit)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, default=_status_json_value))
    else:
        _print_status(report)


# A digest takes at most this many events after its cursor (Store.events_between's limit): status
# reads as many to count what a channel's next digest would carry, and no more.
_STATUS_DIGEST_SCAN = 5000
_STATUS_TEXT_LIMIT = 200
# Terminal escape sequences (CSI like ESC[2J, OSC like ESC]0;title BEL, two-character ones): dropped whole.
_ESCAPE_SEQUENCE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-_])")
_SEVERITIES = ("high", "medium", "low")


def _status_report(store: Store, config: Config, event_limit: int) -> dict[str, Any]:
    """What `status` shows, as plain data (datetimes stay datetimes until printed)."""
    now = datetime.now(UTC)
    jobs = store.scheduled_jobs()  # None: the daemon never ran on this store
    last = store.last_runs(config.run.sources)
    sources = []
    for source in config.run.sources:
        failures, last_ok = store.consecutive_failures(source)
        sources.append(
            {
                "source": source,
                "last_run": _status_run(last[source]) if source in last else None,
                "consecutive_failures": failures,
                "last_ok_at": last_ok,
                "next_run": _status_next(jobs, f"crawl:{source}"),
            }
        )
        if source == "fda_warning_letters":  # the walk of the whole listing, a job of its own
            sources[-1]["next_full_run"] = _status_next(jobs, "crawl:fda_warning_letters:full")
            # how far the letters' pages are read: with a body, unreadable (page_error), waiting
            sources[-1]["letter_pages"] = store.letter_page_counts()
    counts = store.open_flag_counts()
    flags = {"open": sum(counts.values())}
    flags |= {severity: sum(n for (s, _), n in counts.items() if s == severity) for severity in _SEVERITIES}
    flags["escalated"] = sum(n for (_, status), n in counts.items() if status == "escalated")
    channels = [
        {**_status_backlog(store, spec), "next_digest": _status_next(jobs, f"digest:{spec.name}")}
        for spec in config.channels
    ]
    size = store.size()
    return {
        "generated_at": now,
        "store": {
            "location": store.location,
            "config": config.source,
            "backend": store.engine.dialect.name,
            "size_bytes": size.database_bytes,
            "wal_bytes": size.wal_bytes,
        },
        "daemon_has_run": jobs is not None,
        "sources": sources,
        "flags": flags,
        "channels": channels,
        "tables": store.table_counts(),
        "latest_runs": [_status_run(run) for run in store.latest_runs(5)],
        "latest_events": [
            {
                "id": event.id,
                "at": event.at,
                "kind": event.kind,
                "subject_key": _one_line(event.subject_key),
                "what": _one_line(_event_what(event.summary), 120),
            }
            for event in (store.latest_events(event_limit) if event_limit else [])
        ],
    }


def _status_run(run: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": run["id"],
        "source": run["source"],
        "status": run["status"],
        "attempt": run["attempt"],
        "started_at": run["started_at"],
        "finished_at": run["finished_at"],
        "new": run["records_new"],
        "changed": run["records_changed"],
        "unchanged": run["records_unchanged"],
        # pages (letter or alert pages, clinic pages) and sources (feeds, index pages, listings)
        # the run could not read: a partial run's count
        "pages_failed": int((run["stats"] or {}).get("pages_failed", 0)),
        "sources_failed": int((run["stats"] or {}).get("sources_failed", 0)),
        "error": _one_line(run["error"]) if run["error"] else None,
    }


def _status_next(jobs: dict[str, datetime | None] | None, job_id: str) -> dict[str, Any]:
    """A job's next run from the daemon's scheduler_jobs: scheduled (at), paused, no job (the
    table exists but holds no such job), no daemon (no table yet)."""
    if jobs is None:
        return {"job": job_id, "state": "no daemon", "at": None}
    if job_id not in jobs:
        return {"job": job_id, "state": "no job", "at": None}
    at = jobs[job_id]
    return {"job": job_id, "state": "paused" if at is None else "scheduled", "at": at}


def _status_backlog(store: Store, spec: ChannelConfig) -> dict[str, Any]:
    """Events after a channel's cursor, and how many of them its next digest would carry: the
    digest's own filters (alerts.digest.build_digest) over the events one digest takes."""
    from alerts.digest import build_digest

    cursor = store.channel_cursor(spec.name)
    undigested = store.count_events_after(cursor)
    events = store.events_between(cursor, limit=_STATUS_DIGEST_SCAN) if undigested else []
    scanned = len(events)
    if events and spec.immediate_high and spec.kind != "feed":
        urgent_sent = store.channel_cursor(f"{spec.name}-urgent")
        if urgent_sent > cursor:  # high flags already sent at once are not told again in the digest
            from alerts.run import _urgent

            events = [e for e in events if not (e["id"] <= urgent_sent and _urgent(e))]
    digest = build_digest(spec, events, *store.digest_lookups(events)) if events else None
    return {
        "channel": spec.name,
        "kind": spec.kind,
        "cursor": cursor,
        "undigested": undigested,
        "for_channel": len(digest.items) if digest else 0,
        "scanned": scanned,
        "failed_sends": store.recent_failures(spec.name)[0],
    }


def _event_what(summary: dict[str, Any]) -> str:
    changes = summary.get("changes") or {}
    return str(summary.get("company_name") or "") or ", ".join(
        f"{name}={str(change['to'])[:40]}" if isinstance(change, dict) and "to" in change else str(name)
        for name, change in sorted(changes.items())
    )


def _one_line(value: object, limit: int = _STATUS_TEXT_LIMIT) -> str:
    """Crawled text made safe for a terminal line: escape sequences are dropped, other control and
    format characters (line breaks, bidi overrides) become spaces, runs of spaces one, at most
    `limit` characters."""
    text = "".join(
        " " if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp") else char
        for char in _ESCAPE_SEQUENCE.sub("", str(value))
    )
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _status_json_value(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _at(value: datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M:%SZ}"


def _status_when(entry: dict[str, Any], now: datetime) -> str:
    if entry["state"] == "no daemon":
        return "not scheduled (no daemon has run)"
    if entry["state"] == "no job":
        return f"not scheduled (the daemon has no job {entry['job']})"
    if entry["state"] == "paused":
        return "paused"
    seconds = int((entry["at"] - now).total_seconds())
    days, rest = divmod(abs(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    span = f"{days}d {hours}h" if days else f"{hours}h {minutes}m" if hours else f"{minutes}m"
    return f"{_at(entry['at'])} ({'in ' + span if seconds >= 0 else 'overdue by ' + span})"


def _human_size(size: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def _status_run_line(run: dict[str, Any]) -> str:
    if run["status"] == "running":
        return f"#{run['id']} running since {_at(run['started_at'])}"
    line = (
        f"#{run['id']} {run['status']} at {_at(run['started_at'])}: {run['new']} new, "
        f"{run['changed']} changed, {run['unchanged']} unchanged"
    )
    if run["pages_failed"]:
        line += f", {run['pages_failed']} {'page' if run['pages_failed'] == 1 else 'pages'} not read"
    if run["sources_failed"]:
        line += f", {run['sources_failed']} {'source' if run['sources_failed'] == 1 else 'sources'} not read"
    return line + (f"; error: {run['error']}" if run["error"] else "")


def _print_status(report: dict[str, Any]) -> None:
    echo, now = click.echo, report["generated_at"]
    echo(f"store: {report['store']['location']}")
    echo(f"config: {report['store']['config']}")
    echo("sources:" if report["sources"] else "sources: none in [run] sources")
    for entry in report["sources"]:
        run = entry["last_run"]
        echo(f"  {entry['source']}: " + (f"last run {_status_run_line(run)}" if run else "never run"))
        if entry["consecutive_failures"]:
            since = f"last ok run {_at(entry['last_ok_at'])}" if entry["last_ok_at"] else "never ran ok"
            echo(f"    failed runs in a row: {entry['consecutive_failures']} ({since})")
        echo(f"    next run: {_status_when(entry['next_run'], now)}")
        if "next_full_run" in entry:
            echo(f"    next full listing walk: {_status_when(entry['next_full_run'], now)}")
        if "letter_pages" in entry:
            pages = entry["letter_pages"]
            echo(
                f"    letter pages: {pages['with_body']} of {pages['letters']} letters have a body; "
                f"{pages['unreadable']} could not be read (page_error, tried again), "
                f"{pages['waiting']} not fetched yet"
            )
    flags = report["flags"]
    echo(
        f"open flags: {flags['open']} (high {flags['high']}, medium {flags['medium']}, low {flags['low']}); "
        f"escalated {flags['escalated']}"
    )
    echo("channels:" if report["channels"] else "channels: none configured")
    for channel in report["channels"]:
        line = (
            f"  {channel['channel']} ({channel['kind']}): {channel['undigested']} events not digested "
            f"(after event #{channel['cursor']})"
        )
        if channel["undigested"]:
            line += f", {channel['for_channel']} for this channel"
            if channel["scanned"] < channel["undigested"]:
                line += f" in the first {channel['scanned']}"
        echo(line)
        if channel["failed_sends"]:
            echo(f"    failed sends since the last one sent: {channel['failed_sends']}")
        echo(f"    next digest: {_status_when(channel['next_digest'], now)}")
    size = report["store"]
    if size["size_bytes"] is None:
        echo("store size: in memory")
    else:
        wal = f" (WAL {_human_size(size['wal_bytes'])})" if size["wal_bytes"] else ""
        echo(f"store size: {_human_size(size['size_bytes'])}{wal}")
    echo("rows per table:")
    for table, count in report["tables"].items():
        echo(f"  {table:<16} {count:>8}")
    echo("latest runs:" if report["latest_runs"] else "latest runs: none")
    for run in report["latest_runs"]:
        echo(
            f"  #{run['id']} {run['source']} {run['status']} at {_at(run['started_at'])}: "
            f"{run['new']} new, {run['changed']} changed, {run['unchanged']} unchanged"
            + (f" ({run['error']})" if run["error"] else "")
        )
    echo("latest events:" if report["latest_events"] else "latest events: none")
    for event in report["latest_events"]:
        line = f"  #{event['id']} {_at(event['at'])} {event['kind']} {event['subject_key']} {event['what']}"
        echo(line.rstrip())


@cli.command()
@click.option(
    "--all", "everything", is_flag=True, help="Assess every page again, not only new and changed ones."
)
@pass_state
def flag(state: _State, everything: bool) -> None:
    """Run the flagger over the store: new and changed pages, flags opened, escalated, resolved."""
    from monitor.flagging import run_flagger

    store = state.open_store()
    try:
        store.require_schema()
        click.echo(run_flagger(store, everything=everything).line())
    finally:
        store.close()


@cli.command()
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True
)
@pass_state
def flags(state: _State, fmt: str) -> None:
    """List open flags with their evidence."""
    store = state.open_store()
    try:
        store.require_schema()
        rows = store.open_flags()
    finally:
        store.close()
    columns = (
        "clinic",
        "name",
        "country",
        "severity",
        "status",
        "rule",
        "url",
        "evidence",
        "cites",
        "opened_at",
    )
    records = [
        {
            "clinic": row["clinic_key"],
            "name": row["name"],
            "country": row["country"],
            "severity": row["severity"],
            "status": row["status"],
            "rule": f"{row['rule_id']} v{row['rule_version']}",
            "url": (row["evidence"] or {}).get("url"),
            "evidence": (row["evidence"] or {}).get("snippet"),
            "cites": "; ".join(c.get("url", "") for c in (row["evidence"] or {}).get("cites", [])),
            "opened_at": row["opened_at"].isoformat() if row["opened_at"] else None,
        }
        for row in rows
    ]
    if fmt == "json":
        click.echo(json.dumps(records, ensure_ascii=False))
    elif fmt == "csv":
        import csv
        import io

        buffer = io.StringIO()
        # CRLF (RFC 4180): a CR or LF inside a cell then makes the writer quote it
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows({k: spreadsheet_safe(v) for k, v in record.items()} for record in records)
        click.echo(buffer.getvalue(), nl=False)
    else:
        click.echo(f"{len(records)} open flags")
        for r in records:
            who = f"{r['clinic']} ({r['name'] or '?'}, {r['country'] or '?'})"
            click.echo(f"{r['severity']:<6} {r['status']:<9} {who} {r['rule']}")
            click.echo(f"       {r['url']}")
            click.echo(f'       "{(r["evidence"] or "")[:200]}"')
            if r["cites"]:
                click.echo(f"       cites: {r['cites']}")


@cli.command()
@click.option("--channel", help="Only this channel.")
@click.option("--dry-run", is_flag=True, help="Print the digests; send nothing, move no cursor.")
@click.option("--urgent", is_flag=True, help="Only the high-severity flags of channels with immediate_high.")
@pass_state
def digest(state: _State, channel: str | None, dry_run: bool, urgent: bool) -> None:
    """Build and send the digests of new events, per channel (e-mail, RSS/Atom files)."""

    from alerts.run import run_digests

    if channel is not None and channel not in {c.name for c in state.config.channels}:
        raise InputError(
            f"unknown channel {channel!r} (channels: {', '.join(c.name for c in state.config.channels)})"
        )
    store = state.open_store()
    try:
        store.require_schema()
        base = state.config.base_dir
        outcomes = run_digests(
            store,
            state.config,
            channel=channel,
            dry_run=dry_run,
            urgent=urgent,
            echo=click.echo,
            base_dir=base,
        )
    finally:
        store.close()
    failed = []
    for outcome in outcomes:
        click.echo(f"{outcome.channel}: {outcome.status}{': ' + outcome.detail if outcome.detail else ''}")
        if outcome.status == "failed":
            failed.append(outcome.channel)
    if failed:
        raise ExowatchError(f"digest not sent: {', '.join(failed)} (the cursor stays; the next run retries)")


@cli.command()
@pass_state
def once(state: _State) -> None:
    """Crawl every source of [run] sources, run the flagger, send the digests, and exit."""
    from monitor.once import run_once

    store = state.open_store()
    try:
        store.require_schema()
    finally:
        store.close()
    report = run_once(state.config, config_path=state.config_path or None, echo=click.echo)
    if report.failed:
        raise ExowatchError(f"once: failed: {', '.join(report.failed)}")


@cli.command()
@click.option(
    "--no-wait",
    is_flag=True,
    help="Exit with status 1 when another daemon leads this database, instead of waiting.",
)
@pass_state
def run(state: _State, no_wait: bool) -> None:
    """Run the daemon: every source on its schedule, the flagger, each channel's digest."""
    import logging
    from pathlib import Path

    from monitor.daemon import run_daemon

    store = state.open_store()
    try:
        store.require_schema()
    finally:
        store.close()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # the jobs keep the path in the job store: absolute, so a daemon restarted elsewhere finds it
    config_path = str(Path(state.config_path).resolve()) if state.config_path else None
    code = run_daemon(state.config, config_path=config_path, wait_for_lead=not no_wait)
    if code:
        raise ExowatchError(
            "the daemon could not lead this database" if no_wait else "the daemon lost its lead"
        )


@cli.command("serve-feed")
@pass_state
def serve_feed(state: _State) -> None:
    """Serve the feed channels' RSS and Atom files over HTTP on [serve] host and port."""

    from alerts.serve import make_server

    base = state.config.base_dir
    try:
        server = make_server(state.config, base, state.config.serve.host, state.config.serve.port)
    except OSError as exc:
        raise ExowatchError(
            f"cannot listen on {state.config.serve.host}:{state.config.serve.port}: {exc}"
        ) from None
    click.echo(f"serving feeds on http://{state.config.serve.host}:{server.server_address[1]}/")
    try:
        server.serve_forever()
    finally:
        server.server_close()


# A cell a spreadsheet would run as a formula (or, with a tab or CR first, still parse as one).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """A CSV cell that opens as text in a spreadsheet: clinic names and snippets come from crawled
    pages, and `=HYPERLINK(...)` in one would be a live formula. A leading quote makes it text
    (OWASP's advice for CSV injection); the value is otherwise unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


@cli.command("check-page")
@click.argument("source")
@click.option("--url", "page_url", help="The page's address, for a saved file (a URL source gives its own).")
@click.option("--title", help="The page's title, for a text file (HTML and URLs give their own).")
@click.option(
    "--site-kind",
    type=click.Choice(SITE_KINDS),
    help="What the site is, when known (a crawl knows its clinics: clinic).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_state
def check_page(
    state: _State,
    source: str,
    page_url: str | None,
    title: str | None,
    site_kind: str | None,
    as_json: bool,
) -> None:
    """Read one page (a file, '-' for standard input, or a URL) and print the flagger's verdict.

    The page's context weighs in: its URL path (a clinic's /treatments/exosome/ page is an offer
    page), its title and the site's kind."""
    from crawler.settings import user_agent
    from monitor.rules import assess_page
    from monitor.rules.pages import read_page

    if page_url is not None and not page_url.lower().startswith(("http://", "https://")):
        raise InputError(f"--url must be an http(s) address, not {page_url!r}")
    crawl = state.config.crawl
    page = read_page(
        source, user_agent=user_agent(crawl.contact), allow_hosts=crawl.allow_hosts, proxy=crawl.proxy
    )
    verdict = assess_page(
        page.text, title=page.title or title, url=page.url or page_url, site_kind=site_kind
    )
    if as_json:
        click.echo(
            json.dumps({k: v for k, v in verdict.as_dict().items() if k != "reason"}, ensure_ascii=False)
        )
        return
    why = "" if verdict.flag else f": {verdict.reason}"
    decided = "" if verdict.decided_by != "page model" else f", page model {verdict.model:.2f}"
    click.echo(f"flag: {'yes' if verdict.flag else 'no'} ({verdict.severity}{decided}){why}")
    for finding in verdict.findings:
        click.echo(
            f"- {finding.rule_id} v{finding.rule_version} ({finding.severity}): {', '.join(finding.phrases)}"
        )
        click.echo(f"  evidence [{finding.start}:{finding.end}]: {finding.snippet}")


@cli.command()
@click.argument("path", required=False)
@click.option(
    "--real",
    "part",
    type=click.Choice(["dev", "test"]),
    help="Score the real labelled set's part instead of PATH (labels from --labels, texts from --texts).",
)
@click.option(
    "--labels", "labels_dir", type=click.Path(file_okay=False), help="Folder of the real set's labels."
)
@click.option(
    "--texts", "texts_dir", type=click.Path(file_okay=False), help="Folder of its saved page texts."
)
@click.option(
    "--no-context",
    is_flag=True,
    help="Real set: judge the text alone, without each page's URL and site kind.",
)
@click.option("--rules-only", is_flag=True, help="Score the rules alone, without the page model.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def evaluate(
    path: str | None,
    part: str | None,
    labels_dir: str | None,
    texts_dir: str | None,
    no_context: bool,
    rules_only: bool,
    as_json: bool,
) -> None:
    """Score the flagger on a labelled JSONL set (PATH), or on a part of the real labelled set
    (--real dev|test): precision, recall, F1, severity, confusion. The real set's pages are
    judged with their URL and their site's kind, as a crawl judges a clinic's pages."""
    from pathlib import Path

    from monitor.rules.evaluate import SEVERITIES, evaluate_file, evaluate_real
    from monitor.rules.real_set import DEFAULT_LABELS, DEFAULT_TEXTS

    if (path is None) == (part is None):
        raise InputError("evaluate: give either PATH or --real dev|test")
    extra: dict = {}
    if part is not None:
        real = evaluate_real(
            part,
            Path(labels_dir or DEFAULT_LABELS),
            Path(texts_dir or DEFAULT_TEXTS),
            context=not no_context,
            model=not rules_only,
        )
        score = real.score
        extra = {
            "part": part,
            "labelled": real.labelled,
            "missing_texts": len(real.missing),
            "context": not no_context,
            "model": not rules_only,
        }
        if real.missing and not as_json:
            click.echo(
                f"{len(real.missing)} of {real.labelled} pages of the {part} part: no saved text, skipped",
                err=True,
            )
    else:
        score = evaluate_file(Path(path), model=not rules_only)
    if as_json:
        click.echo(json.dumps(extra | score.as_dict(), ensure_ascii=False))
        return
    if part is not None:
        judged = "text alone" if no_context else "text, URL and site kind"
        by = "the rules alone" if rules_only else "rules and page model"
        click.echo(f"real set, {part} part: {real.labelled} labelled pages, judged on {judged} by {by}")
    click.echo(f"pages: {score.total}")
    click.echo(
        f"flag vs no flag: precision {score.precision:.3f}, recall {score.recall:.3f}, F1 {score.f1:.3f}"
    )
    click.echo(f"recall on high and medium pages: {score.serious_recall:.3f}")
    click.echo(f"exact severity on flagged pages: {score.severity_accuracy:.3f}")
    click.echo("confusion (rows: labelled, columns: predicted): " + " ".join(f"{s:>6}" for s in SEVERITIES))
    for label in SEVERITIES:
        click.echo(f"  {label:>6} " + " ".join(f"{score.confusion[label][s]:>6}" for s in SEVERITIES))


@cli.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Folder of the demo's store, config and digests (default: demo/out in the checkout).",
)
def demo(out_dir: str | None) -> None:
    """Run the whole job once, offline, on a fresh store: a replayed web, a local SMTP server.

    Needs a checkout (the snapshot is tests/fixtures); it writes its own config, not --config's."""
    from pathlib import Path

    from monitor.demo import run_demo

    run_demo(Path(out_dir) if out_dir else None, echo=click.echo)


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: maps failures to exit codes and one-line messages."""
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = "-v" in args or "--verbose" in args
    try:
        cli.main(args=args, prog_name="exowatch", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("exowatch: aborted", err=True)
        return 1
    except click.ClickException as exc:
        message = exc.format_message()
        if isinstance(exc, click.UsageError) and exc.ctx is not None:
            message += f" (see '{exc.ctx.command_path} --help')"
        return _fail(exc, exc.exit_code, message, verbose)
    except InputError as exc:
        return _fail(exc, 2, str(exc), verbose)
    except (ExowatchError, StoreError) as exc:
        return _fail(exc, 1, str(exc), verbose)
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        return _fail(exc, 1, f"database error: {reason}", verbose)
    except SQLAlchemyError as exc:
        return _fail(exc, 1, f"database error: {str(exc).splitlines()[0]}", verbose)
    except KeyboardInterrupt:
        click.echo("exowatch: interrupted", err=True)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last resort keeps the one-line promise
        return _fail(exc, 1, f"internal error: {type(exc).__name__}: {exc}", verbose)
    return 0


def _fail(exc: BaseException, code: int, message: str, verbose: bool) -> int:
    if verbose:
        traceback.print_exception(exc)
    click.echo(f"exowatch: error: {' '.join(message.split())}", err=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
