"""Run a crawl's page extraction in a worker process, next to Scrapy's event loop.

Why: a crawl child is one Python process, and Scrapy's own work (HTTP, scheduling, middlewares)
already keeps one core busy; parsing and extracting every page on that same core is what made a
crawl about half as fast as a bare fetch (bench/letters.py, bench/clinics.py). The extraction
functions are pure (bytes and a URL in, a frozen record or a SourceFailure out), so they can run
on another core without changing what a crawl stores.

How: `start()` forks one worker before the reactor runs (the process is single-threaded then, so
the fork is safe). A spider's callback awaits `run(function, *args)`: the call goes to the worker
as a length-prefixed pickle over a socket pair, through asyncio's buffered transport (the loop
never blocks on a full pipe, so the two sides cannot deadlock), and the answer resolves a future.
The worker's exception (SourceFailure with its reason) is raised in the callback as if the call
had been made here. Without a started worker (tests, a one-core machine, `extract_workers = 0`)
`run` calls the function inline.

The worker is our own fork and its pickles are our own values; nothing from a crawled page is
unpickled except what the extraction functions return. It dies with the crawl (Linux
PR_SET_PDEATHSIG, and EOF on its socket). If it dies on a page (a crash in a C parser), the calls
in flight fail with WorkerDied and later calls run inline: the crawl records the failure and goes
on, where an inline crash would have killed the whole crawl.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import os
import pickle
import signal
import socket
import struct
import sys
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

_LENGTH = struct.Struct("!I")
_PR_SET_PDEATHSIG = 1


class WorkerDied(RuntimeError):
    """The extraction worker exited while a call was in flight."""


class _Worker:
    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        context = multiprocessing.get_context("fork")
        self.process = context.Process(
            target=_serve, args=(theirs, ours), name="exowatch-extract", daemon=True
        )
        self.process.start()
        theirs.close()
        self.sock = ours
        self.pending: dict[int, asyncio.Future] = {}
        self.next_id = 0
        self.writer: asyncio.StreamWriter | None = None
        self.connecting: asyncio.Task | None = None
        self.reader_task: asyncio.Task | None = None
        self.dead = False

    async def call(self, function: Callable[..., T], args: tuple) -> T:
        if self.writer is None:  # the first call connects; calls made meanwhile wait for it
            if self.connecting is None:
                self.connecting = asyncio.get_running_loop().create_task(self._connect())
            await self.connecting
            if self.dead:
                return function(*args)
        task_id = self.next_id
        self.next_id += 1
        future = asyncio.get_running_loop().create_future()
        self.pending[task_id] = future
        payload = pickle.dumps((task_id, function, args), protocol=pickle.HIGHEST_PROTOCOL)
        self.writer.write(_LENGTH.pack(len(payload)) + payload)
        return await future

    async def _connect(self) -> None:
        reader, self.writer = await asyncio.open_connection(sock=self.sock)
        self.reader_task = asyncio.get_running_loop().create_task(self._read(reader))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                length = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))[0]
                task_id, ok, value = pickle.loads(await reader.readexactly(length))
                future = self.pending.pop(task_id, None)
                if future is None or future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        self.dead = True
        self.process.join(timeout=1)
        reason = f"the extraction worker exited with status {self.process.exitcode}"
        for future in self.pending.values():
            if not future.done():
                future.set_exception(WorkerDied(reason))
        self.pending.clear()
        log.error("%s; extraction goes on in the crawl process", reason)

    def close(self) -> None:
        """EOF to the worker (it exits), then wait for it. Called when the loop has stopped: the
        socket is shut down under the transport, which is never used again."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


_worker: _Worker | None = None


def start() -> None:
    """Fork the extraction worker; call before the reactor (and any thread) starts."""
    global _worker
    if _worker is None:
        _worker = _Worker()


def stop() -> None:
    global _worker
    if _worker is not None:
        _worker.close()
        _worker = None


async def run(function: Callable[..., T], *args: Any) -> T:
    """`function(*args)`, in the worker when one is running, else here."""
    if _worker is None or _worker.dead:
        return function(*args)
    return await _worker.call(function, args)


def _serve(sock: socket.socket, parents: socket.socket) -> None:
    """The worker's loop: read a call, run it, write its result or its exception."""
    parents.close()
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the crawl decides when to stop; EOF tells us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    stream = sock.makefile("rwb", buffering=1024 * 1024)
    while True:
        head = stream.read(_LENGTH.size)
        if len(head) < _LENGTH.size:
            break
        payload = stream.read(_LENGTH.unpack(head)[0])
        task_id, function, args = pickle.loads(payload)
        try:
            answer = (task_id, True, function(*args))
        except Exception as exc:  # noqa: BLE001 - the caller gets it, as if it had called
            answer = (task_id, False, exc)
        try:
            data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - an unpicklable result or exception
            data = pickle.dumps((task_id, False, RuntimeError(f"{type(exc).__name__}: {exc}")))
        stream.write(_LENGTH.pack(len(data)) + data)
        stream.flush()
    os._exit(0)
