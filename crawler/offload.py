"""Run a crawl's page extraction in a worker process, next to Scrapy's event loop.

Why: a crawl child is one Python process, and Scrapy's own work (HTTP, scheduling, middlewares)
already keeps one core busy; parsing and extracting every page on that same core is what made a
crawl about half as fast as a bare fetch (bench/letters.py, bench/clinics.py). The extraction
functions are pure (bytes and a URL in, a frozen record or a SourceFailure out), so they can run
on another core without changing what a crawl stores.

How: `start()` forks one worker before the reactor runs (the process is single-threaded then, so
the fork is safe). A spider's callback awaits `run(function, *args)`: the call goes to the worker
as a length-prefixed pickle over a non-blocking socket pair watched by the event loop (the loop
never blocks on a full socket, so the two sides cannot deadlock), and the answer resolves a
future.
The worker's exception (SourceFailure with its reason) is raised in the callback as if the call
had been made here. Without a started worker (tests, a one-core machine, `extract_workers = 0`)
`run` calls the function inline.

The worker is our own fork and its pickles are our own values; nothing from a crawled page is
unpickled except what the extraction functions return. It dies with the crawl (Linux
PR_SET_PDEATHSIG, and EOF on its socket). If it dies on a page (a crash in a C parser), the calls
in flight fail with WorkerDied and later calls run inline, where an inline crash would have killed
the crawl process: the clinic crawl counts those pages as failed and goes on; the letters crawl,
which stores nothing unless it read every page, fails with the reason. An answer that cannot
travel back (an unpicklable exception) comes back as a RuntimeError naming it; it fails its own
call only.
"""

from __future__ import annotations

import asyncio
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
_REPLY_HEAD = struct.Struct("!IQ")  # a reply's length, then its task id (outside its pickle)
_PR_SET_PDEATHSIG = 1


class WorkerDied(RuntimeError):
    """The extraction worker exited while a call was in flight."""


class _Worker:
    """The crawl's side of one worker: a non-blocking socket watched by the running event loop.

    Plain add_reader / add_writer rather than asyncio streams: nothing to close on the loop when
    the crawl ends (the reactor may have closed it), and no buffering beyond what is in flight."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        context = multiprocessing.get_context("fork")
        self.process = context.Process(
            target=_serve, args=(theirs, ours), name="exowatch-extract", daemon=True
        )
        self.process.start()
        theirs.close()
        ours.setblocking(False)
        self.sock = ours
        self.fd = ours.fileno()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.pending: dict[int, asyncio.Future] = {}
        self.next_id = 0
        self.outbox = bytearray()
        self.inbox = bytearray()
        self.dead = False

    async def call(self, function: Callable[..., T], args: tuple, kwargs: dict[str, Any]) -> T:
        loop = asyncio.get_running_loop()
        if self.loop is None:
            self.loop = loop
            loop.add_reader(self.fd, self._on_readable)
        task_id = self.next_id
        self.next_id += 1
        payload = pickle.dumps((task_id, function, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
        future = loop.create_future()
        self.pending[task_id] = future
        self._send(_LENGTH.pack(len(payload)) + payload)
        return await future

    def _send(self, data: bytes) -> None:
        if self.outbox:  # the socket is full: the writer callback sends it in order
            self.outbox += data
            return
        try:
            sent = self.sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._died()
            return
        if sent < len(data):
            self.outbox += data[sent:]
            self.loop.add_writer(self.fd, self._on_writable)

    def _on_writable(self) -> None:
        try:
            sent = self.sock.send(self.outbox)
        except BlockingIOError:
            return
        except OSError:
            self._died()
            return
        del self.outbox[:sent]
        if not self.outbox:
            self.loop.remove_writer(self.fd)

    def _on_readable(self) -> None:
        try:
            chunk = self.sock.recv(1 << 20)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._died()
            return
        self.inbox += chunk
        at = 0
        while len(self.inbox) - at >= _REPLY_HEAD.size:
            length, task_id = _REPLY_HEAD.unpack_from(self.inbox, at)
            end = at + _REPLY_HEAD.size + length
            if len(self.inbox) < end:
                break
            start, at = at + _REPLY_HEAD.size, end
            future = self.pending.pop(task_id, None)
            try:
                ok, value = pickle.loads(self.inbox[start:end])
            except Exception as exc:  # noqa: BLE001 - fails this call only, never the stream
                ok, value = False, RuntimeError(f"the extraction worker's answer could not be read: {exc!r}")
            if future is not None and not future.done():
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)
        del self.inbox[:at]

    def _died(self) -> None:
        if self.dead:
            return
        self.dead = True
        self._unwatch()
        self.process.join(timeout=1)  # it has closed its end: exited, or about to
        reason = f"the extraction worker exited with status {self.process.exitcode}"
        for future in self.pending.values():
            if not future.done():
                future.set_exception(WorkerDied(reason))
        self.pending.clear()
        log.error("%s; extraction goes on in the crawl process", reason)

    def _unwatch(self) -> None:
        if self.loop is not None and not self.loop.is_closed():
            self.loop.remove_reader(self.fd)
            self.loop.remove_writer(self.fd)

    def close(self) -> None:
        """EOF to the worker (it exits), then wait for it."""
        self._unwatch()
        self.sock.close()
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


async def run(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`function(*args, **kwargs)`, in the worker when one is running, else here. The function
    must be importable by name (a module-level function), its arguments and answer picklable."""
    if _worker is None or _worker.dead:
        return function(*args, **kwargs)
    return await _worker.call(function, args, kwargs)


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
        task_id, function, args, kwargs = pickle.loads(payload)
        try:
            answer = (True, function(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - the caller gets it, as if it had called
            answer = (False, exc)
        data = _dumps(answer)
        stream.write(_REPLY_HEAD.pack(len(data), task_id) + data)
        stream.flush()
    os._exit(0)


def _dumps(answer: tuple[bool, Any]) -> bytes:
    """The answer pickled. An answer that cannot travel becomes a RuntimeError naming what it was.
    An exception is also loaded back here (rare, and an exception class may pickle but not load):
    so it keeps its type name and message. A result is not (every page's answer): one that does
    not load fails its own call on the crawl's side."""
    ok, value = answer
    try:
        data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        if not ok:
            pickle.loads(data)
        return data
    except Exception as exc:  # noqa: BLE001 - e.g. lxml's XMLSyntaxError, a two-argument __init__
        what = f"{type(value).__name__}: {value}" if not ok else f"an answer that cannot be pickled ({exc!r})"
        return pickle.dumps((False, RuntimeError(what[:2000])), protocol=pickle.HIGHEST_PROTOCOL)
