"""Run a benchmark side as a child process, timed: wall seconds and the CPU seconds it used.

CPU is what a crawl costs a machine whatever else runs on it (wall time on a shared machine is
noisy, CPU much less): getrusage(RUSAGE_CHILDREN) before and after the wait, user plus system,
which counts the child and anything it waited for."""

from __future__ import annotations

import resource
import subprocess
import time


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_run(command: list[str], **kwargs) -> tuple[subprocess.CompletedProcess, float, float]:
    """subprocess.run(command, **kwargs), and the wall and CPU seconds it took."""
    cpu, start = _children_cpu(), time.perf_counter()
    result = subprocess.run(command, **kwargs)
    return result, time.perf_counter() - start, _children_cpu() - cpu
