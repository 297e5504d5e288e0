"""A run whose process was killed outright is closed by the next command that starts one on the
same machine (issue: kill -9 of import-letters left run #1 'running' for good without a daemon)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from db.store import Store
from monitor.cli import main
from monitor.runs import close_dead_runs, process_alive
from tests.conftest import LISTING_CSV
from tests.reliability.audit import audit

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def letters_in(listing, folder) -> int:
    """How many letters one uninterrupted import of `listing` stores: what must not be lost."""
    from monitor.backfill import import_letter_files

    reference = Store.open(f"sqlite:///{folder / 'reference.db'}")
    try:
        reference.init()
        import_letter_files(reference, [listing])
        return reference.table_counts()["warning_letters"]
    finally:
        reference.close()


def wait_for_running(store: Store, timeout: float = 60.0) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        running = store.running_runs()
        if running:
            return running[0]
        time.sleep(0.05)
    raise AssertionError("the import never recorded its run")


def test_an_import_killed_mid_run_is_closed_by_the_next_import(db_url, tmp_path, monkeypatch, capsys, probe):
    monkeypatch.delenv("EXOWATCH_CONFIG", raising=False)
    monkeypatch.setenv("EXOWATCH_DATABASE_URL", db_url)
    assert main(["init"]) == 0
    env = {**os.environ, "EXOWATCH_DATABASE_URL": db_url, "PYTHONPATH": REPO}
    env.pop("EXOWATCH_CONFIG", None)
    child = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "import-letters", str(LISTING_CSV)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    store = Store.open(db_url)
    try:
        run = wait_for_running(store)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        assert f"exowatch import pid {child.pid} on " in run["runner"]
        assert main(["import-letters", str(LISTING_CSV)]) == 0
        first = store.run(run["id"])
        assert first["status"] == "failed"
        assert first["error"].startswith(f"abandoned: its process (pid {child.pid} on ")
        assert store.running_runs() == []
        found = audit(db_url)
        assert probe.duplicates(found.duplicates) == 0, found.surplus
        assert probe.expect_rows(letters_in(LISTING_CSV, tmp_path), found.counts["warning_letters"]) == 0
        capsys.readouterr()
        assert main(["status"]) == 0
        said = capsys.readouterr().out
        assert "import-letters ok" in said and "import-letters failed" in said
    finally:
        if child.poll() is None:
            child.kill()
        store.close()


def test_live_runs_and_other_hosts_runs_are_left_alone(db_url):
    store = Store.open(db_url)
    store.init()
    try:
        here = socket.gethostname()[:60]
        since = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        alive = store.start_run("a", runner=f"exowatch import pid {os.getpid()} on {here} since {since}")
        elsewhere = store.start_run("b", runner=f"exowatch import pid 1 on not-{here} since {since}")
        # a pid that now belongs to a process started after the run named itself: not the runner
        reused = store.start_run("c", runner=f"exowatch import pid {os.getpid()} on {here} since 2000-01-01 00:00:00Z")
        assert close_dead_runs(store) == [reused]
        assert {r["id"] for r in store.running_runs()} == {alive, elsewhere}
    finally:
        store.close()


def test_process_alive_knows_a_finished_process():
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(done.stdout)
    now = datetime.now(UTC)
    assert process_alive(os.getpid(), now)
    assert not process_alive(os.getpid(), now - timedelta(days=365 * 30))  # started after that
    assert not process_alive(pid, now) or os.path.exists(f"/proc/{pid}")  # gone (unless reused)
