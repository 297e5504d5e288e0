"""The `exowatch` command line.

Exit status: 0 done; 2 bad input (a config key, a file, a row), with one line saying what; 1 an
operational failure (store unreachable, not initialised). A traceback is shown only with -v.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import click
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from db.store import Store, StoreError
from monitor.config import Config, load_config
from monitor.errors import ExowatchError, InputError


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
        outcome = run_crawl(state.config, name, config_path=state.config_path or None, full=full)
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
@pass_state
def status(state: _State, event_limit: int | None) -> None:
    """Where the store is, rows per table, the latest runs and events."""
    store = state.open_store()
    try:
        store.require_schema()
        limit = state.config.status.latest_events if event_limit is None else event_limit
        click.echo(f"store: {store.location}")
        click.echo(f"config: {state.config.source}")
        click.echo("rows per table:")
        for table, count in store.table_counts().items():
            click.echo(f"  {table:<16} {count:>8}")
        runs = store.latest_runs(5)
        click.echo("latest runs:" if runs else "latest runs: none")
        for run in runs:
            click.echo(
                f"  #{run['id']} {run['source']} {run['status']} at {run['started_at']:%Y-%m-%d %H:%M:%SZ}: "
                f"{run['records_new']} new, {run['records_changed']} changed, "
                f"{run['records_unchanged']} unchanged" + (f" ({run['error']})" if run["error"] else "")
            )
        events = store.latest_events(limit) if limit else []
        click.echo("latest events:" if events else "latest events: none")
        for event in events:
            changes = event.summary.get("changes") or {}
            what = event.summary.get("company_name") or ", ".join(
                f"{name}={str(change['to'])[:40]}" if "to" in change else name
                for name, change in sorted(changes.items())
            )
            what = what if len(what) <= 120 else what[:117] + "..."
            click.echo(f"  #{event.id} {event.at:%Y-%m-%d %H:%M:%SZ} {event.kind} {event.subject_key} {what}")
    finally:
        store.close()


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
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
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


@cli.command("check-page")
@click.argument("source")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_state
def check_page(state: _State, source: str, as_json: bool) -> None:
    """Read one page (a file, '-' for standard input, or a URL) and print the flagger's verdict."""
    from crawler.settings import user_agent
    from monitor.rules import assess_page
    from monitor.rules.pages import read_page

    page = read_page(source, user_agent=user_agent(state.config.crawl.contact))
    verdict = assess_page(page.text, title=page.title, url=page.url)
    if as_json:
        click.echo(
            json.dumps({k: v for k, v in verdict.as_dict().items() if k != "reason"}, ensure_ascii=False)
        )
        return
    why = "" if verdict.flag else f": {verdict.reason}"
    click.echo(f"flag: {'yes' if verdict.flag else 'no'} ({verdict.severity}){why}")
    for finding in verdict.findings:
        click.echo(
            f"- {finding.rule_id} v{finding.rule_version} ({finding.severity}): {', '.join(finding.phrases)}"
        )
        click.echo(f"  evidence [{finding.start}:{finding.end}]: {finding.snippet}")


@cli.command()
@click.argument("path")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def evaluate(path: str, as_json: bool) -> None:
    """Score the flagger on a labelled JSONL set: precision, recall, F1, severity, confusion."""
    from pathlib import Path

    from monitor.rules.evaluate import SEVERITIES, evaluate_file

    score = evaluate_file(Path(path))
    if as_json:
        click.echo(json.dumps(score.as_dict(), ensure_ascii=False))
        return
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
