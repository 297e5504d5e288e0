"""Runs whose process died: closed by the next command that starts a run, on the same machine.

A run is recorded 'running' by the process doing it, and only that process records its end. Killed
outright (kill -9, the OOM killer, a power cut), it never does: without a daemon, nothing would
ever say the run is over, and `status` would show it running for good. Every run records who runs
it (monitor.leader.identity: "exowatch import pid 4242 on host since 2026-12-07 10:00:00Z"); a
run of this host whose pid is gone, or now belongs to a process started after the run, is dead.
Runs of other hosts are left to their own host's next command, or to a daemon's timeout.
"""

from __future__ import annotations

import os
import re
import socket
import time
from datetime import UTC, datetime
from pathlib import Path

from db.store import Store

_RUNNER = re.compile(r" pid (\d+) on (\S+) since (\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ)$")


def close_dead_runs(store: Store) -> list[int]:
    """Mark 'running' runs of this host whose process is gone as failed; returns their ids."""
    here = socket.gethostname()[:60]
    dead = {}
    for run in store.running_runs():
        match = _RUNNER.search(run["runner"] or "")
        if match is None or match.group(2) != here:
            continue
        pid = int(match.group(1))
        since = datetime.strptime(match.group(3), "%Y-%m-%d %H:%M:%SZ").replace(tzinfo=UTC)
        if not process_alive(pid, since):
            dead[run["id"]] = pid
    closed = []
    for run_id, pid in sorted(dead.items()):
        closed += store.abandon_run_ids(
            [run_id], reason=f"abandoned: its process (pid {pid} on {here}) ended before recording its end"
        )
    return closed


def process_alive(pid: int, since: datetime) -> bool:
    """Whether process `pid` exists and is the one that named itself at `since` (a pid reused by
    a process started later is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's: cannot be ours, but cannot be proven dead
        return True
    started = _start_time(pid)
    return started is None or started.timestamp() <= since.timestamp() + 1


def _start_time(pid: int) -> datetime | None:
    """When `pid` started (Linux /proc; None elsewhere or when unreadable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[19])  # starttime: field 22 of stat, clock ticks after boot
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    booted = time.time() - uptime
    return datetime.fromtimestamp(booted + ticks / os.sysconf("SC_CLK_TCK"), UTC)
