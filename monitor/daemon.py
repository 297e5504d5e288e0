"""`exowatch run`: the scheduled daemon (APScheduler 3.11) that runs the whole job for months.

Jobs, with fixed ids, in a job store in the exowatch database (table scheduler_jobs), so a
restarted daemon keeps its timetable:

* `crawl:<source>` on the source's schedule ([daemon] schedules): the crawl in a child process with
  its hard timeout and retries (monitor.crawl), then, when it stored something new or changed, the
  flagger and the urgent digests of the channels that send high flags at once;
* `crawl:fda_warning_letters:full`: the walk of the whole letter listing that delisting counts on;
* `digest:<channel>` on the channel's schedule.

The job settings are chosen, not defaulted: one worker thread, so steps never overlap (two crawls
writing one SQLite file, or a digest half way through a crawl's events, would gain nothing);
`max_instances=1`; `coalesce=True` (a daemon down for three runs of a job runs it once); and
`misfire_grace_time` from config (APScheduler's default of one second would skip any run the
daemon was late for). A job that is new in the store runs at once if its schedule is an interval,
so a fresh daemon starts with a full cycle; a restarted one continues where it was.

One daemon leads per database (monitor.leader); another waits for the lead and says who holds it.
SIGTERM and SIGINT let the running step finish, skip the queued ones, and exit 0.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from db.store import Store
from monitor.config import Config, load_config
from monitor.leader import Lead, identity, lead_for
from monitor.schedules import parse_schedule

log = logging.getLogger("exowatch.daemon")

JOB_TABLE = "scheduler_jobs"
#: Set when the daemon is asked to stop: a queued job that starts after it does nothing.
STOPPING = threading.Event()
SIGNALLED = threading.Event()  # SIGTERM or SIGINT: stop for good (STOPPING alone may be a lost lead)
LOST_LEAD = 1
#: Jobs that came due but did not run because the daemon was stopping (queued behind the running
#: crawl at SIGTERM): put back in the job store as due now, so the restarted daemon runs them once.
_OWED: set[str] = set()
_OWED_LOCK = threading.Lock()
#: This daemon's name while it leads: the runner of the crawls it starts (crawl_runs.runner).
_NAME: list[str] = []


class Stopping(Exception):
    """The daemon is stopping: the job gives up between two steps."""


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: str  # "module:function", so the job store can find it again after a restart
    args: tuple[Any, ...]
    schedule: str
    run_at_once: bool  # when new in the store


def job_specs(config: Config, config_path: str | None) -> list[JobSpec]:
    """The jobs this configuration asks for."""
    specs = []
    for source in config.run.sources:
        if source == "clinic_listings" and not config.sources.clinic_listings:
            continue
        schedule = parse_schedule(config.daemon.schedule_for(source))
        specs.append(
            JobSpec(
                f"crawl:{source}",
                "monitor.daemon:crawl_job",
                (config_path, source, False),
                schedule.text,
                schedule.interval_seconds is not None,
            )
        )
    if "fda_warning_letters" in config.run.sources and config.daemon.full_letters_schedule:
        schedule = parse_schedule(config.daemon.full_letters_schedule)
        specs.append(
            JobSpec(
                "crawl:fda_warning_letters:full",
                "monitor.daemon:crawl_job",
                (config_path, "fda_warning_letters", True),
                schedule.text,
                False,  # the incremental crawl starts the first cycle; the full walk waits its turn
            )
        )
    for channel in config.channels:
        specs.append(
            JobSpec(
                f"digest:{channel.name}",
                "monitor.daemon:digest_job",
                (config_path, channel.name),
                parse_schedule(channel.schedule).text,
                False,  # a digest first goes out on its schedule, after the crawls have run
            )
        )
    return specs


# -- the jobs (importable, plain arguments) ------------------------------------------------------


def crawl_job(config_path: str | None, source: str, full: bool = False) -> None:
    """Crawl one source; after a crawl that stored something new or changed, flag and send the
    urgent digests."""
    from alerts.run import run_digests
    from monitor.crawl import run_crawl
    from monitor.flagging import run_flagger

    job_id = f"crawl:{source}:full" if full else f"crawl:{source}"
    if STOPPING.is_set():
        _owe(job_id)
        return
    config = load_config(config_path)
    name = f"{source}{' (full)' if full else ''}"
    try:
        outcome = run_crawl(
            config,
            source,
            config_path=config_path,
            full=full,
            sleep=_sleep_unless_stopping,
            runner=_NAME[0] if _NAME else identity("daemon"),
        )
    except Stopping:
        log.info("%s: stopped between two attempts", name)
        _owe(job_id)
        return
    run = outcome.run
    counts = (run["records_new"], run["records_changed"], run["records_unchanged"])
    log.info(
        "%s: run #%s %s: %s new, %s changed, %s unchanged%s",
        name,
        outcome.run_id,
        outcome.status,
        *counts,
        f" ({_one_line(outcome.reason)})" if outcome.reason else "",
    )
    if outcome.status == "failed" or not (counts[0] or counts[1]) or STOPPING.is_set():
        return
    store = _open_store(config)
    try:
        log.info("flagger: %s", run_flagger(store).line())
        for digest in run_digests(store, config, urgent=True, echo=_log_line, base_dir=config.base_dir):
            log.info("urgent digest %s: %s", digest.channel, _outcome(digest))
    finally:
        store.close()


def digest_job(config_path: str | None, channel: str) -> None:
    """Send one channel's digest of what is new since its cursor (nothing when nothing is)."""
    from alerts.run import run_digests

    if STOPPING.is_set():
        _owe(f"digest:{channel}")
        return
    config = load_config(config_path)
    store = _open_store(config)
    try:
        for digest in run_digests(store, config, channel=channel, echo=_log_line, base_dir=config.base_dir):
            log.info("digest %s: %s", digest.channel, _outcome(digest))
    finally:
        store.close()


def _owe(job_id: str) -> None:
    with _OWED_LOCK:
        _OWED.add(job_id)
    log.info("%s: not run, the daemon is stopping; it runs when the daemon starts again", job_id)


def _outcome(digest) -> str:
    return f"{digest.status} ({_one_line(digest.detail)})" if digest.detail else digest.status


def _sleep_unless_stopping(seconds: float) -> None:
    if STOPPING.wait(seconds):
        raise Stopping


def _open_store(config: Config) -> Store:
    database = config.database
    return Store.open(database.url, busy_timeout_seconds=database.busy_timeout_seconds)


def _log_line(text: str) -> None:
    log.info("%s", _one_line(text))


def _one_line(text: str | None, limit: int = 300) -> str:
    flat = " ".join((text or "").split())
    return "".join(c for c in flat if c.isprintable())[:limit]


# -- the daemon ----------------------------------------------------------------------------------


def run_daemon(
    config: Config,
    *,
    config_path: str | None,
    wait_for_lead: bool = True,
    install_signals: bool = True,
    on_lead: Callable[[], None] | None = None,
) -> int:
    """Lead (or wait for the lead), schedule the jobs, run until stopped. Returns the exit status:
    0 stopped on request, 1 could not lead (with `wait_for_lead` False) or lost the lead without
    `wait_for_lead`. A daemon that loses the lead (its database connection or lock file gone:
    PostgreSQL restarted or failed over) stops its jobs and waits to take the lead again."""
    STOPPING.clear()
    SIGNALLED.clear()
    if install_signals:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, _request_stop)
    name = identity("daemon")
    while True:
        lead = lead_for(config.database.url, name)
        try:
            if not _take_lead(lead, config, wait_for_lead):
                return 0 if STOPPING.is_set() else 1
            _NAME[:] = [name]
            if on_lead is not None:
                on_lead()
            code = _lead(lead, config, config_path, name)
        finally:
            _NAME.clear()
            lead.release()
        if code != LOST_LEAD or SIGNALLED.is_set():
            return 0 if SIGNALLED.is_set() else code
        if not wait_for_lead:
            return code
        log.warning("lost the lead: waiting to take it again")
        STOPPING.clear()


def _request_stop(signum: int, _frame: Any) -> None:
    log.info("%s: finishing the current step, then stopping", signal.Signals(signum).name)
    SIGNALLED.set()
    STOPPING.set()


def _take_lead(lead: Lead, config: Config, wait: bool) -> bool:
    if lead.acquire():
        log.info("took the lead")
        return True
    holder = lead.holder()
    if not wait:
        log.error("another daemon leads this database: %s", holder)
        return False
    log.info("another daemon leads this database: %s; waiting for the lead", holder)
    while not STOPPING.wait(config.daemon.lead_check_seconds):
        if lead.acquire():
            log.info("took the lead")
            return True
    return False


def _lead(lead: Lead, config: Config, config_path: str | None, name: str) -> int:
    # its engine (busy timeout, SQLite pragmas) holds the job store; the lead loop reads runs with it
    jobs_store = _open_store(config)
    scheduler = _scheduler(config, jobs_store)
    submitted = _track_submitted(scheduler)
    with _OWED_LOCK:
        _OWED.clear()
    scheduler.start(paused=True)
    try:
        _sync_jobs(scheduler, job_specs(config, config_path))
        for source in _abandon_dead_runs(jobs_store, config, predecessors_of=name):
            # the crawl its predecessor died in runs again now, not at its next turn
            job = scheduler.get_job(f"crawl:{source}")
            if job is not None:
                job.modify(next_run_time=datetime.now(UTC))
        scheduler.resume()
        for job in sorted(scheduler.get_jobs(), key=lambda j: j.id):
            log.info("job %s: %s, next run %s", job.id, job.trigger, _when(job.next_run_time))
        while not STOPPING.wait(config.daemon.lead_check_seconds):
            if not lead.still_held():
                log.error("lost the lead of the database (its connection or lock file is gone): stopping")
                STOPPING.set()
                # another daemon may lead now: its crawl must not meet ours
                from monitor.crawl import stop_children

                if stop_children():
                    log.warning("stopped the running crawl: this daemon no longer leads")
                return LOST_LEAD
            _abandon_dead_runs(jobs_store, config)
        return 0
    finally:
        STOPPING.set()  # queued jobs return at once; the running one finishes its step
        scheduler.pause()  # nothing new is submitted; what is queued still runs (and returns)
        _drain(submitted)
        scheduler.shutdown(wait=True)
        _repay(scheduler, jobs_store)
        jobs_store.close()
        log.info("stopped")


class _Submitted:
    """Jobs handed to the executor and not yet done, from the scheduler's own events (per job:
    a job may finish before its submission is told, so one count can dip below zero)."""

    def __init__(self) -> None:
        self.pending: Counter[str] = Counter()
        self.changed = threading.Condition()

    def on_event(self, event) -> None:
        from apscheduler.events import EVENT_JOB_SUBMITTED

        with self.changed:
            self.pending[event.job_id] += 1 if event.code == EVENT_JOB_SUBMITTED else -1
            self.changed.notify_all()

    def idle(self) -> bool:
        return all(count <= 0 for count in self.pending.values())


def _track_submitted(scheduler) -> _Submitted:
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_SUBMITTED

    submitted = _Submitted()
    scheduler.add_listener(submitted.on_event, EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    return submitted


def _drain(submitted: _Submitted) -> None:
    """Wait until every job handed to the executor is done: the running one finishes its step
    (a crawl is bounded by its timeout), the queued ones see STOPPING and return."""
    with submitted.changed:
        submitted.changed.wait_for(submitted.idle)


def _repay(scheduler, store: Store) -> None:
    """The jobs that did not run because of the stop, due again now in the job store: the next
    daemon runs each once (within misfire_grace_seconds; coalesce merges repeats).

    Written through the job store once the scheduler has stopped: a stopping scheduler woken by
    a modified job would submit it to its closed executor and move its next run on."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    with _OWED_LOCK:
        owed = sorted(_OWED)
        _OWED.clear()
    if not owed:
        return
    jobs = SQLAlchemyJobStore(engine=store.engine, tablename=JOB_TABLE)
    jobs.start(scheduler, "default")  # the stopped scheduler only rebuilds the stored jobs
    now = datetime.now(UTC)
    for job_id in owed:
        job = jobs.lookup_job(job_id)
        if job is None:
            continue
        job.next_run_time = now
        jobs.update_job(job)
        log.info("%s: due again when the daemon starts", job_id)


def _scheduler(config: Config, store: Store):
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    return BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=store.engine, tablename=JOB_TABLE)},
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": config.daemon.misfire_grace_seconds,
        },
        timezone=UTC,
    )


def _sync_jobs(scheduler, specs: list[JobSpec]) -> None:
    """Make the job store hold exactly these jobs. A job already there with the same schedule and
    arguments keeps its next run time (the restarted daemon continues); others are (re)placed."""
    wanted = {spec.id: spec for spec in specs}
    for job in scheduler.get_jobs():
        if job.id not in wanted:
            log.info("job %s: no longer configured, removed", job.id)
            job.remove()
    for spec in specs:
        trigger = parse_schedule(spec.schedule).trigger()
        existing = scheduler.get_job(spec.id)
        if (
            existing is not None
            and str(existing.trigger) == str(trigger)
            and tuple(existing.args) == spec.args
            and existing.func_ref == spec.func
        ):
            continue
        options: dict[str, Any] = {}
        if existing is None and spec.run_at_once:
            options["next_run_time"] = datetime.now(UTC)
        scheduler.add_job(
            spec.func, trigger, args=spec.args, id=spec.id, name=spec.id, replace_existing=True, **options
        )


def _abandon_dead_runs(store: Store, config: Config, predecessors_of: str | None = None) -> set[str]:
    """Runs left 'running' by a parent that died are failures: those of an earlier daemon as soon
    as this one leads (its crawl children died with it), any other once past the hard timeout.
    Returns the sources of the runs abandoned."""
    abandoned = []
    if predecessors_of is not None:
        abandoned += store.abandon_runs(
            reason="abandoned: the daemon running the crawl stopped before its end",
            runner_like="exowatch daemon %",
            except_runner=predecessors_of,
        )
    cutoff = datetime.now(UTC) - timedelta(seconds=config.crawl.timeout_seconds + 60)
    abandoned += store.abandon_runs(
        started_before=cutoff, reason="abandoned: the process running the crawl died before its end"
    )
    sources = set()
    for run_id in abandoned:
        run = store.run(run_id)
        sources.add(run["source"])
        log.warning("run #%s (%s): abandoned, its process died before its end", run_id, run["source"])
    return sources


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if moment else "paused"
