"""`exowatch run` end to end: the daemon as a real process, on the whole replayed world (FDA and the
clinic web behind one proxy), with a real SMTP server; killed, restarted, doubled, and given
crawls that hang or crash. Waits are on conditions (a log line, a message, a process), with a
deadline; nothing is timed."""

from __future__ import annotations

import email
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import select

from db.models import Event
from db.store import Store
from monitor.cli import main
from tests.conftest import _empty_pg
from tests.reliability.audit import audit
from tests.world import replay_world, write_world_config

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 180.0
ALL_HOURLY = (
    'schedules = { fda_warning_letters = "every 1h", fda_notices = "every 1h", '
    'clinic_listings = "every 1h", clinic_sites = "every 1h" }\n'
)


class Daemon:
    """`python -m monitor --config CONFIG run` with its log in a file."""

    started: list[Daemon] = []

    def __init__(self, config: Path, log: Path) -> None:
        self.log_path = log
        self.handle = log.open("a", encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if k not in ("EXOWATCH_CONFIG", "EXOWATCH_DATABASE_URL")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "run"],
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env=env,
        )
        Daemon.started.append(self)

    def text(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace")

    def wait_for(self, pattern: str, count: int = 1) -> str:
        """Wait until the log holds `count` lines matching `pattern`; fail with the log's tail."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            text = self.text()
            if len(regex.findall(text)) >= count:
                return text
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        pytest.fail(f"no {count} x {pattern!r} in the daemon's log:\n{self.text()[-3000:]}")

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=DEADLINE)
        self.handle.close()
        return code

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=30)
        self.handle.close()

    def crawl_children(self) -> list[int]:
        return [pid for pid, cmd in _processes() if _ppid(pid) == self.process.pid and "crawler" in cmd]


def _processes() -> list[tuple[int, str]]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found.append(
                    (int(entry.name), (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
                )
            except OSError:
                continue
    return found


def _ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait(condition, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture(autouse=True)
def _no_daemon_outlives_its_test():
    yield
    for daemon in Daemon.started:
        if daemon.process.poll() is None:
            daemon.kill()
    Daemon.started.clear()


def _config(path: Path, web, database_url: str, smtp_port: int, daemon: str, **crawl: object) -> Path:
    extra = (
        '[[channels]]\nname = "desk"\nkind = "email"\nto = ["desk@example.org"]\nsender = "exowatch@example.org"\n'
        f'smtp_host = "127.0.0.1"\nsmtp_port = {smtp_port}\nsmtp_security = "none"\nschedule = "every 6s"\n\n'
        f'[daemon]\nfull_letters_schedule = ""\nlead_check_seconds = 0.3\n{daemon}'
    )
    path = write_world_config(path, web, database_url, extra=extra, recheck_after_hours=0)
    if crawl:  # extra [crawl] keys go into the existing table
        lines = "".join(f"{key} = {value}\n" for key, value in crawl.items())
        path.write_text(
            path.read_text("utf-8").replace("[crawl]\n", f"[crawl]\n{lines}", 1), encoding="utf-8"
        )
    assert main(["--config", str(path), "init"]) == 0
    return path


def _message(raw: bytes) -> tuple[str, str]:
    message = email.message_from_bytes(raw, policy=policy.default)
    return message["Subject"], message.get_body(preferencelist=("plain",)).get_content()


def _no_duplicates(probe, database_url: str) -> Counter:
    """Each record once, each 'new' event once per subject, no event in two digests (counted on
    the probe); returns the events per kind."""
    found = audit(database_url)
    assert probe.duplicates(found.duplicates) == 0, found.surplus
    store = Store.open(database_url)
    try:
        with store.engine.connect() as connection:
            return Counter(connection.scalars(select(Event.kind)))
    finally:
        store.close()


def test_the_daemon_digests_a_cycle_once_then_nothing_then_a_resolved_flag(tmp_path, smtp, probe):
    database = f"sqlite:///{tmp_path / 'store.db'}"
    web, _fda = replay_world()
    with web:
        config = _config(tmp_path / "config.toml", web, database, smtp.port, ALL_HOURLY)
        daemon = Daemon(config, tmp_path / "daemon.log")
        log = daemon.wait_for(r"digest desk: nothing", 1)
        assert daemon.stop() == 0
        assert "SIGTERM: finishing the current step" in daemon.text() and daemon.text().rstrip().endswith(
            "stopped"
        )
        for source in ("fda_warning_letters", "fda_notices", "clinic_listings", "clinic_sites"):
            assert re.search(rf"{source}: run #\d+ (ok|partial): [1-9]\d* new", log), source
        assert "flagger: 137 pages assessed" in log
        # one digest for the first cycle, with its letters, notices and flags; the next one is empty
        assert len(smtp.messages) == 1
        subject, body = _message(smtp.messages[0])
        assert "exowatch" in subject.lower()
        for expected in ("Kimera Labs", "Mayfair Skin Rooms", "Glow", "exosome"):
            assert expected.lower() in body.lower(), expected
        events = _no_duplicates(probe, database)
        assert events["letter.new"] == 12 and events["notice.new"] == 13 and events["flag.opened"] >= 20

        # Mayfair stops advertising exosomes; the restarted daemon re-crawls the sites every 5 s
        for key, entry in web.answers.items():
            if "mayfairskin.example" in key and entry.get("file", "").endswith(".html"):
                web.overrides[key] = (
                    200,
                    {"Content-Type": "text/html; charset=utf-8"},
                    b"<!DOCTYPE html><html><head><title>Mayfair Skin Rooms</title></head><body>"
                    b"<h1>Mayfair Skin Rooms</h1><p>Chemical peels and PRP facials in London W1.</p>"
                    b"</body></html>",
                )
        config = _config(
            tmp_path / "config.toml",
            web,
            database,
            smtp.port,
            ALL_HOURLY.replace('clinic_sites = "every 1h"', 'clinic_sites = "every 5s"'),
        )
        daemon = Daemon(config, tmp_path / "daemon-2.log")
        daemon.wait_for(r"flag\w*: .*[1-9]\d* resolved")
        _wait(lambda: len(smtp.messages) >= 2, "the digest of the resolved flag")
        assert daemon.stop() == 0
    subject, body = _message(smtp.messages[1])
    assert "mayfair skin rooms" in body.lower() and "resolved" in body.lower()
    assert "kimera" not in body.lower()  # told once, in the first digest
    _no_duplicates(probe, database)


@pytest.fixture
def load(request: pytest.FixtureRequest):
    """'idle', or 'cpu-hog': one busy process per CPU for the whole test, so the daemon, its
    crawls and the digest schedule run late and out of step (the digest-once test failed once
    on a loaded machine: the property must hold by the delivery record, not by timing)."""
    hogs = []
    if request.param == "cpu-hog":
        hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 1)]
    yield request.param
    for hog in hogs:
        hog.kill()
        hog.wait()


@pytest.mark.parametrize("load", ["idle", "cpu-hog"], indirect=True)
def test_a_daemon_killed_mid_crawl_restarts_without_duplicates_and_digests_once(tmp_path, smtp, probe, load):
    database = f"sqlite:///{tmp_path / 'store.db'}"
    web, _fda = replay_world()
    with web:
        config = _config(tmp_path / "config.toml", web, database, smtp.port, ALL_HOURLY)
        daemon = Daemon(config, tmp_path / "daemon.log")
        daemon.wait_for(r"clinic_listings: run #\d+ ok")  # the sites' crawl is the next step
        _wait(lambda: daemon.crawl_children(), "the clinic_sites crawl to start")
        children = daemon.crawl_children()
        daemon.kill()
        _wait(lambda: not any(_alive(pid) for pid in children), "the crawl to die with its daemon")

        daemon = Daemon(config, tmp_path / "daemon-2.log")
        log = daemon.wait_for(r"digest desk: nothing")
        assert daemon.stop() == 0
    assert re.search(r"run #\d+ \(clinic_sites\): abandoned", log)
    assert re.search(r"clinic_sites: run #\d+ partial: 137 new", log)  # run again at once
    # Each event is told once. The digest runs every 6 s, so on a loaded machine the first daemon
    # may send one between its crawls (the letters and notices so far) before it is killed: a
    # digest on schedule, not a repeat. What must hold: the sends cover disjoint event ranges
    # (a name may still appear twice: a new clinic in one digest, its flag in the next, or the
    # Kimera letter and later a flag citing it).
    assert 1 <= len(smtp.messages) <= 2
    bodies = " ".join(_message(raw)[1].lower() for raw in smtp.messages)
    assert "kimera labs" in bodies and "mayfair skin rooms" in bodies
    store = Store.open(database)
    try:
        with store.engine.connect() as connection:
            from sqlalchemy import text

            sent = connection.execute(
                text(
                    "SELECT first_event_id, last_event_id FROM deliveries "
                    "WHERE channel = 'desk' AND status = 'sent' ORDER BY first_event_id"
                )
            ).all()
    finally:
        store.close()
    assert probe.duplicates(len(smtp.messages) - len(sent)) == 0  # a message no delivery records
    assert len(sent) == len(smtp.messages)
    for (_, last), (first, _) in zip(sent, sent[1:], strict=False):
        assert first > last  # no event in two digests
    events = _no_duplicates(probe, database)
    counts = audit(database).counts
    assert probe.expect_rows(137 + 25, counts["pages"] + counts["clinics"]) == 0
    assert events["page.new"] == 137 and events["clinic.new"] == 25
    store = Store.open(database)
    try:
        runs = store.latest_runs(100)
    finally:
        store.close()
    killed = [r for r in runs if r["source"] == "clinic_sites" and r["status"] == "failed"]
    assert len(killed) == 1 and "daemon running the crawl stopped" in killed[0]["error"]


@pytest.mark.postgres
def test_two_daemons_on_one_postgres_database_one_leads_and_no_job_runs_twice(
    tmp_path, smtp, pg_database_url, probe
):
    pg_database_url = _empty_pg(pg_database_url)
    web, _fda = replay_world()
    with web:
        config = _config(
            tmp_path / "config.toml",
            web,
            pg_database_url,
            smtp.port,
            'schedules = { fda_notices = "every 5s" }\n',
        )
        config.write_text(
            config.read_text("utf-8") + '\n[run]\nsources = ["fda_notices"]\n', encoding="utf-8"
        )
        first = Daemon(config, tmp_path / "first.log")
        first.wait_for(r"fda_notices: run #\d+ ok")
        second = Daemon(config, tmp_path / "second.log")
        waiting = second.wait_for(r"another daemon leads this database: exowatch daemon pid (\d+)")
        assert f"exowatch daemon pid {first.process.pid} on " in waiting
        first.wait_for(r"fda_notices: run #\d+ ok", 3)
        assert "fda_notices: run" not in second.text()  # it waits; it runs nothing
        assert first.stop() == 0
        second.wait_for(r"took the lead")
        second.wait_for(r"fda_notices: run #\d+ ok")
        assert second.stop() == 0
    store = Store.open(pg_database_url)
    try:
        runs = store.latest_runs(500)
    finally:
        store.close()
    runners = Counter(r["runner"].split(" since ")[0] for r in runs)
    assert set(runners) == {
        f"exowatch daemon pid {first.process.pid} on {os.uname().nodename[:60]}",
        f"exowatch daemon pid {second.process.pid} on {os.uname().nodename[:60]}",
    }
    # never two runs of the job at once: each starts after the one before it finished
    ordered = sorted(runs, key=lambda r: r["started_at"])
    overlapping = [
        after["id"]
        for before, after in zip(ordered, ordered[1:], strict=False)
        if before["finished_at"] is None or before["finished_at"] > after["started_at"]
    ]
    assert probe.duplicates(len(overlapping)) == 0, overlapping
    _no_duplicates(probe, pg_database_url)


def test_a_crawl_that_hangs_or_crashes_is_a_failed_run_and_the_daemon_runs_on(tmp_path, smtp):
    database = f"sqlite:///{tmp_path / 'store.db'}"
    web, _fda = replay_world()
    release = threading.Event()
    site = web.sites["www.fda.gov"]
    listing = site.routes["/datatables/views/ajax"]

    def hang(query):  # the listing never answers within the crawl's hard timeout
        release.wait(60)
        return listing(query)

    site.routes["/datatables/views/ajax"] = hang
    with web:
        config = _config(
            tmp_path / "config.toml",
            web,
            database,
            smtp.port,
            ALL_HOURLY.replace('clinic_sites = "every 1h"', 'clinic_sites = "every 5s"'),
            timeout_seconds=15,
        )
        daemon = Daemon(config, tmp_path / "daemon.log")
        daemon.wait_for(r"fda_warning_letters: run #\d+ failed: .* \(timed out after 15 seconds\)")
        daemon.wait_for(r"fda_notices: run #\d+ ok")  # the daemon went on
        daemon.wait_for(r"clinic_sites: run #\d+ partial")
        # the next sites' crawl crashes (its process is killed); the daemon records it and goes on
        _wait(lambda: daemon.crawl_children(), "the next clinic_sites crawl")
        for pid in daemon.crawl_children():
            os.kill(pid, signal.SIGKILL)
        log = daemon.wait_for(r"clinic_sites: run #\d+ failed: .*crawler process exited with status -9")
        daemon.wait_for(r"clinic_sites: run #\d+ (ok|partial)", 2)
        assert daemon.stop() == 0
        release.set()
    assert "Traceback" not in log
    store = Store.open(database)
    try:
        runs = store.latest_runs(100)
    finally:
        store.close()
    assert not [r for r in runs if r["status"] == "running"]


def test_two_daemons_survive_postgresql_ending_their_connections(tmp_path, smtp, probe, pg_database_url):
    """As a PostgreSQL restart or failover does: every backend of both daemons is terminated. The
    leader stops its jobs and waits; the waiting one reconnects; one of them leads again and the
    job runs on, never two runs at once (issue: the standby crashed, and no daemon was left)."""
    from sqlalchemy import create_engine, text

    pg_database_url = _empty_pg(pg_database_url)
    web, _fda = replay_world()
    with web:
        config = _config(
            tmp_path / "config.toml", web, pg_database_url, smtp.port, 'schedules = { fda_notices = "every 5s" }\n'
        )
        config.write_text(config.read_text("utf-8") + '\n[run]\nsources = ["fda_notices"]\n', encoding="utf-8")
        first = Daemon(config, tmp_path / "first.log")
        first.wait_for(r"fda_notices: run #\d+ ok")
        second = Daemon(config, tmp_path / "second.log")
        second.wait_for(r"another daemon leads this database")
        engine = create_engine(pg_database_url)
        with engine.connect() as connection:
            ended = connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar()
        engine.dispose()
        assert ended >= 2  # at least the two lead connections
        first.wait_for(r"lost the lead: waiting to take it again")
        # one of them leads again: the first at once, or the second once the first let go
        _wait(
            lambda: len(re.findall("took the lead", first.text())) >= 2 or "took the lead" in second.text(),
            "a daemon to lead again",
        )
        leader = second if "took the lead" in second.text() else first
        runs_before = len(re.findall(r"fda_notices: run #\d+ ok", leader.text()))
        leader.wait_for(r"fda_notices: run #\d+ ok", runs_before + 1)
        assert first.process.poll() is None and second.process.poll() is None  # both still running
        assert first.stop() == 0 and second.stop() == 0
    # Nothing stored twice, no event told twice; each daemon's own runs one at a time. (A crawl
    # the old leader had under way when it lost the lead is stopped, not finished: it may end a
    # moment after the new leader's first crawl began, as with any leader that dies.)
    _no_duplicates(probe, pg_database_url)
    store = Store.open(pg_database_url)
    try:
        runs = store.latest_runs(500)
        with store.engine.connect() as connection:
            sent = connection.execute(
                text("SELECT first_event_id, last_event_id FROM deliveries WHERE status = 'sent' ORDER BY 1")
            ).all()
    finally:
        store.close()
    for (_, last), (first_id, _) in zip(sent, sent[1:], strict=False):
        assert first_id > last
    for daemon in (first, second):
        mine = sorted(
            (r for r in runs if f"pid {daemon.process.pid} " in (r["runner"] or "") and r["finished_at"]),
            key=lambda r: r["started_at"],
        )
        for before, after in zip(mine, mine[1:], strict=False):
            assert before["finished_at"] <= after["started_at"]


def test_crawls_queued_at_sigterm_run_once_after_the_restart(tmp_path, smtp, probe):
    """Four sources come due at once; one crawls, three wait behind it (one worker). SIGTERM
    while the first crawls: the three did not run, and the restarted daemon runs each once at
    once, though their next turn by the schedule is an hour away (issue: the job store had moved
    on, and a daily schedule would have skipped that day's crawls)."""
    database = f"sqlite:///{tmp_path / 'store.db'}"
    web, _fda = replay_world()
    with web:
        config = _config(tmp_path / "config.toml", web, database, smtp.port, ALL_HOURLY)
        first = Daemon(config, tmp_path / "first.log")
        _wait(lambda: first.crawl_children(), "the first crawl to start")
        assert first.stop() == 0
        stopped = first.text()
        ran = set(re.findall(r"(\w+): run #\d+ ", stopped))
        owed = set(re.findall(r"crawl:(\w+): due again when the daemon starts", stopped))
        sources = {"fda_warning_letters", "fda_notices", "clinic_listings", "clinic_sites"}
        assert owed and owed | ran == sources and not owed & ran, (owed, ran)
        second = Daemon(config, tmp_path / "second.log")
        for source in owed:
            second.wait_for(rf"{source}: run #\d+ ")
        assert second.stop() == 0
        again = second.text()
        runs = {source: len(re.findall(rf"{source}: run #\d+ ", again)) for source in owed}
        probe.duplicates(sum(n - 1 for n in runs.values() if n > 1))
        assert runs == dict.fromkeys(owed, 1), runs
