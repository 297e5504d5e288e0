"""The extraction worker (crawler.offload): calls run in another process, answers and exceptions
come back as if the call were local, and a worker that dies fails only the calls in flight."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawler import offload
from crawler.errors import SourceFailure

ROOT = Path(__file__).resolve().parents[2]


def where(value: int) -> tuple[int, int]:
    return os.getpid(), value * 2


def refuse(reason: str) -> None:
    raise SourceFailure(reason)


def die(_value: int) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def unpicklable(_value: int):
    return lambda: None


class TwoPartError(Exception):
    """Pickles, but does not unpickle: its __init__ needs two arguments, pickle passes one."""

    def __init__(self, what: str, where: str) -> None:
        super().__init__(f"{what} at {where}")


def raise_two_part(_value: int) -> None:
    raise TwoPartError("bad markup", "line 3")


@pytest.fixture
def worker():
    offload.start()
    yield offload._worker
    offload.stop()


def test_without_a_worker_the_call_runs_here():
    assert asyncio.run(offload.run(where, 2)) == (os.getpid(), 4)


def test_calls_run_in_the_worker_and_answer_in_order_of_their_own(worker):
    async def calls():
        return await asyncio.gather(*(offload.run(where, n) for n in range(50)))

    answers = asyncio.run(calls())
    assert [value for _, value in answers] == [n * 2 for n in range(50)]
    assert {pid for pid, _ in answers} == {worker.process.pid} != {os.getpid()}


def test_large_arguments_and_answers_do_not_block_either_side(worker):
    page = b"x" * (3 * 1024 * 1024)  # far over a socket buffer, both ways

    async def calls():
        return await asyncio.gather(*(offload.run(bytes.upper, page) for _ in range(4)))

    assert all(answer == page.upper() for answer in asyncio.run(calls()))


def test_an_exception_in_the_worker_is_raised_at_the_await_with_its_reason(worker):
    with pytest.raises(SourceFailure, match="letter page is truncated"):
        asyncio.run(offload.run(refuse, "letter page is truncated"))


def test_an_unpicklable_answer_is_an_error_that_names_it(worker):
    with pytest.raises(RuntimeError, match="PicklingError|AttributeError"):
        asyncio.run(offload.run(unpicklable, 1))


def test_an_exception_that_cannot_travel_back_fails_its_call_only_and_keeps_its_message(worker):
    async def calls():
        with pytest.raises(RuntimeError, match="TwoPartError: bad markup at line 3"):
            await offload.run(raise_two_part, 1)
        return await asyncio.gather(*(offload.run(where, n) for n in range(3)))

    assert [value for _, value in asyncio.run(calls())] == [0, 2, 4]


def test_a_worker_that_dies_fails_the_calls_in_flight_and_later_calls_run_here(worker):
    async def calls():
        with pytest.raises(offload.WorkerDied, match="exited with status -9"):
            await offload.run(die, 1)
        return await offload.run(where, 3)

    assert asyncio.run(calls()) == (os.getpid(), 6)
    assert not worker.process.is_alive()


def test_stop_ends_the_worker():
    offload.start()
    process = offload._worker.process
    offload.stop()
    assert not process.is_alive() and process.exitcode == 0
    assert offload._worker is None


def test_the_worker_dies_with_the_crawl_that_started_it():
    script = (
        f"import sys, time; sys.path.insert(0, {str(ROOT)!r})\n"
        "from crawler import offload\n"
        "offload.start(); print(offload._worker.process.pid, flush=True); time.sleep(60)\n"
    )
    crawl = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        pid = int(crawl.stdout.readline())
        crawl.kill()  # SIGKILL: no cleanup runs in the crawl
        crawl.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)
        assert not _alive(pid)
    finally:
        crawl.kill()
        crawl.stdout.close()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has exited; init reaps it


_kept: list[int] = []  # module state: the worker's copy, or this process's when inline


def keep(value: int) -> None:
    if value < 0:
        raise SourceFailure(f"letter {value} is truncated")
    _kept.append(value)


def kept() -> tuple[int, list[int]]:
    return os.getpid(), list(_kept)


def test_posted_calls_run_in_order_in_the_worker_and_only_failures_come_back(worker):
    errors: list[Exception] = []

    async def calls():
        for value in (1, -2, 3):
            assert offload.post(keep, value, on_error=errors.append) is None
        return await offload.run(kept)  # after every call posted before it

    pid, values = asyncio.run(calls())
    assert (pid, values) == (worker.process.pid, [1, 3])
    assert [str(e) for e in errors] == ["letter -2 is truncated"]
    assert _kept == []  # nothing ran here


def test_without_a_worker_a_posted_call_runs_at_once_and_its_failure_is_handed_over():
    errors: list[Exception] = []
    try:
        assert offload.post(keep, 5, on_error=errors.append) is None
        offload.post(keep, -1, on_error=errors.append)
        assert _kept == [5] and [type(e) for e in errors] == [SourceFailure]
    finally:
        _kept.clear()


def test_a_worker_far_behind_makes_posters_wait_until_it_has_caught_up(worker, monkeypatch):
    monkeypatch.setattr(offload, "BACKLOG_BYTES", 64 * 1024)
    page = b"x" * (40 * 1024)

    async def calls():
        waits = [offload.post(bytes.upper, page, on_error=print) for _ in range(6)]
        assert waits[0] is None and all(w is not None for w in waits[1:])  # over 64 KiB from the 2nd
        await asyncio.wait_for(asyncio.gather(*waits[1:]), timeout=30)
        return worker.backlog

    assert asyncio.run(calls()) <= 32 * 1024  # released once it is half the limit or less


def test_a_worker_that_dies_fails_the_posted_calls_in_flight(worker):
    errors: list[Exception] = []

    async def calls():
        offload.post(die, 1, on_error=errors.append)
        offload.post(keep, 2, on_error=errors.append)
        with pytest.raises(offload.WorkerDied):
            await offload.run(kept)
        return await offload.run(kept)  # the worker is gone: runs here, where nothing was kept

    assert asyncio.run(calls()) == (os.getpid(), [])
    assert [type(e) for e in errors] == [offload.WorkerDied, offload.WorkerDied]


def test_a_blocking_call_answers_outside_the_event_loop_and_raises_the_workers_exception(worker):
    answer = offload.begin(where, 4)  # started: the worker runs it while this process goes on
    assert offload.call(where, 5) == (worker.process.pid, 10)
    assert answer() == (worker.process.pid, 8)
    with pytest.raises(SourceFailure, match="block page"):
        offload.call(refuse, "block page")
    assert offload.call(kept) == (worker.process.pid, [])


def test_blocking_and_awaited_calls_share_one_worker_in_order(worker):
    offload.call(keep, 7)

    async def calls():
        offload.post(keep, 8, on_error=print)
        return await offload.run(kept)

    assert asyncio.run(calls()) == (worker.process.pid, [7, 8])
    assert offload.call(kept) == (worker.process.pid, [7, 8])  # after the loop has closed


def test_a_blocking_call_after_the_worker_died_runs_here(worker):
    with pytest.raises(offload.WorkerDied):
        asyncio.run(offload.run(die, 1))
    assert offload.call(where, 1) == (os.getpid(), 2)
    failing = offload.begin(refuse, "apology page")
    with pytest.raises(SourceFailure, match="apology page"):
        failing()


def test_an_answer_settles_every_post_before_it(worker):
    async def calls():
        for value in range(100):
            offload.post(keep, value, on_error=print)
        pid, values = await offload.run(kept)
        return values, dict(worker.pending), worker.backlog

    values, pending, backlog = asyncio.run(calls())
    assert values == list(range(100))
    assert pending == {} and backlog == 0  # the posts needed no answer of their own
