"""Run a crawl's CPU work, and its store, in a worker process next to Scrapy's event loop.

Why: a crawl child is one Python process, and Scrapy's own work (HTTP, scheduling, middlewares)
already keeps one core busy; parsing and extracting every page on that same core is what made a
crawl about half as fast as a bare fetch (bench/letters.py, bench/clinics.py). The extraction
functions are pure (bytes and a URL in, a frozen record or a SourceFailure out), so they can run
on another core without changing what a crawl stores. For the same reason the store side of a
crawl (what it reads of the store before it starts, what it writes at its end) runs there too:
the crawl process then never loads SQLAlchemy, and never holds the pages it fetched.

How: `start()` forks one worker before the reactor runs (the process is single-threaded then, so
the fork is safe). Calls go to the worker as length-prefixed pickles over a non-blocking socket
pair watched by the event loop (the loop never blocks on a full socket, so the two sides cannot
deadlock), and the worker runs them one at a time, in the order they were made. Three ways in:

* `await run(function, *args)`: the answer, or the worker's exception (a SourceFailure with its
  reason) raised as if the call had been made here.
* `post(function, *args, on_error=...)`: fire and forget, for the per-page calls whose answer the
  crawl does not need (the page is kept in the worker): no future, no awaiting callback in Scrapy,
  only `on_error(exc)` if it failed. While more than BACKLOG_BYTES of posted work is waiting, post
  returns an awaitable that a spider callback returns to Scrapy, which then waits for it before
  it takes on more responses: the worker never falls unboundedly behind.
* `call(function, *args)`: a blocking call, for before the reactor starts and after it stops.

Without a started worker (tests, a one-core machine, `extract_workers = 0`) every call runs inline.
Functions that keep state between calls (a crawl's letters) keep it in module state: the worker's,
or this process's when inline.

The worker is our own fork and its pickles are our own values; nothing from a crawled page is
unpickled except what the extraction functions return. It dies with the crawl (Linux
PR_SET_PDEATHSIG, and EOF on its socket). If it dies on a page (a crash in a C parser), the calls
in flight fail with WorkerDied and later calls run inline, where an inline crash would have killed
the crawl process: the clinic crawl counts those pages as failed and goes on; the letters crawl,
whose letters were kept in the dead worker, fails with the reason. An answer that cannot travel
back (an unpicklable exception) comes back as a RuntimeError naming it; it fails its own call only.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import multiprocessing
import os
import pickle
import select
import signal
import socket
import struct
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

_LENGTH = struct.Struct("!I")
_REPLY_HEAD = struct.Struct("!IQ")  # a reply's length, then its task id (outside its pickle)
_PR_SET_PDEATHSIG = 1

#: The worker says how far it got every ACK_EVERY posts that succeeded, or once it has caught up
#: and nothing more came for ACK_AFTER_SECONDS: posts need no answer of their own, only the
#: backlog count does, and every answer wakes the crawl's event loop.
ACK_EVERY = 32
ACK_AFTER_SECONDS = 0.02

#: Posted work the worker may fall behind by, in pickled bytes (about a hundred letter pages).
BACKLOG_BYTES = 4 * 1024 * 1024


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
        # task id -> (a future, or a posted call's on_error, or None for a blocking call; its size)
        self.pending: dict[int, tuple[asyncio.Future | Callable[[Exception], None] | None, int]] = {}
        self.backlog = 0  # bytes of calls sent and not answered yet
        self.room: list[asyncio.Future] = []  # posters waiting for the backlog to go down
        self.next_id = 0
        self.outbox = bytearray()
        self.writing = False  # watching for room in the socket to send the rest of the outbox
        self.inbox = bytearray()
        self.answers: dict[int, tuple[bool, Any]] = {}  # blocking calls' answers, read off the socket
        self.dead = False

    # -- sending ---------------------------------------------------------------------------------

    def _frame(self, function: Callable, args: tuple, kwargs: dict[str, Any], entry: Any) -> bytes:
        task_id = self.next_id
        self.next_id += 1
        quiet = callable(entry)  # a post's on_error: answered only if it fails
        payload = pickle.dumps((task_id, function, args, kwargs, quiet), protocol=pickle.HIGHEST_PROTOCOL)
        self.pending[task_id] = (entry, len(payload))
        self.backlog += len(payload)
        return _LENGTH.pack(len(payload)) + payload

    def _watch(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self.loop is not loop:
            self.loop = loop
            loop.add_reader(self.fd, self._on_readable)
        return loop

    async def call(self, function: Callable[..., T], args: tuple, kwargs: dict[str, Any]) -> T:
        loop = self._watch()
        future = loop.create_future()
        self._send(self._frame(function, args, kwargs, future))
        return await future

    def post(
        self, function: Callable, args: tuple, kwargs: dict[str, Any], on_error: Callable[[Exception], None]
    ) -> Awaitable[None] | None:
        loop = self._watch()
        self._send(self._frame(function, args, kwargs, on_error))
        if self.backlog <= BACKLOG_BYTES:
            return None
        waiter = loop.create_future()
        self.room.append(waiter)
        return waiter

    def send_blocking(self, function: Callable, args: tuple, kwargs: dict[str, Any]) -> int:
        """Send a call outside the event loop; `answer_blocking(task_id)` waits for its answer."""
        if self.loop is not None and self.loop.is_running():
            raise RuntimeError("offload.call() blocks: use `await offload.run()` inside the event loop")
        frame = self._frame(function, args, kwargs, None)
        self.sock.setblocking(True)
        try:
            self.sock.sendall(bytes(self.outbox) + frame)
            self.outbox.clear()
        except OSError:
            self._died()
            raise WorkerDied(self._death()) from None
        finally:
            self.sock.setblocking(False)
        return self.next_id - 1

    def answer_blocking(self, task_id: int) -> Any:
        """The answer, read off the socket until it is in (it may be already: the event loop
        reads every answer that arrives, blocking calls' too)."""
        if task_id not in self.answers:
            self.sock.setblocking(True)
            try:
                while task_id not in self.answers:
                    chunk = self.sock.recv(1 << 20)
                    if not chunk:
                        raise OSError("EOF")
                    self._take(chunk)
            except OSError:
                self._died()
                self.answers.pop(task_id, None)
                raise WorkerDied(self._death()) from None
            finally:
                self.sock.setblocking(False)
        ok, value = self.answers.pop(task_id)
        if not ok:
            raise value
        return value

    def _send(self, data: bytes) -> None:
        """Queue a call; the queue goes out once this turn of the event loop is over, in one
        write for the calls of every response the turn handled (a write wakes the worker)."""
        if not self.outbox:
            self.loop.call_soon(self._flush)
        self.outbox += data

    def _flush(self) -> None:
        if self.dead or not self.outbox or self.writing:
            return
        self._on_writable()
        if self.outbox and not self.dead:
            self.writing = True
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
        if not self.outbox and self.writing:
            self.writing = False
            self.loop.remove_writer(self.fd)

    # -- answers ---------------------------------------------------------------------------------

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
        self._take(chunk)

    def _take(self, chunk: bytes) -> None:
        """Settle every whole answer in the inbox."""
        self.inbox += chunk
        at = 0
        while len(self.inbox) - at >= _REPLY_HEAD.size:
            length, task_id = _REPLY_HEAD.unpack_from(self.inbox, at)
            end = at + _REPLY_HEAD.size + length
            if len(self.inbox) < end:
                break
            start, at = at + _REPLY_HEAD.size, end
            self._posts_done_before(task_id)
            entry, size = self.pending.pop(task_id, (None, 0))
            self.backlog -= size
            if length == 0:  # a call that returned None: nothing to unpickle
                ok, value = True, None
            else:
                try:
                    ok, value = pickle.loads(self.inbox[start:end])
                except Exception as exc:  # noqa: BLE001 - fails this call only, never the stream
                    ok, value = (
                        False,
                        RuntimeError(f"the extraction worker's answer could not be read: {exc!r}"),
                    )
            self._settle(task_id, entry, ok, value)
        del self.inbox[:at]
        if self.room and self.backlog <= BACKLOG_BYTES // 2:
            self._make_room()

    def _posts_done_before(self, task_id: int) -> None:
        """The worker runs calls in order and answers a post only if it failed (or, now and then,
        to say how far it got): an answer to a call says every earlier post that is still
        pending succeeded."""
        while self.pending:
            first = next(iter(self.pending))
            if first >= task_id:
                return
            _entry, size = self.pending.pop(first)
            self.backlog -= size

    def _settle(self, task_id: int, entry: Any, ok: bool, value: Any) -> None:
        if entry is None:  # a blocking call's
            self.answers[task_id] = (ok, value)
        elif isinstance(entry, asyncio.Future):
            if not entry.done():
                if ok:
                    entry.set_result(value)
                else:
                    entry.set_exception(value)
        elif not ok:
            entry(value)

    def _make_room(self) -> None:
        waiting, self.room = self.room, []
        for waiter in waiting:
            if not waiter.done():
                waiter.set_result(None)

    def _died(self) -> None:
        if self.dead:
            return
        self.dead = True
        self._unwatch()
        self.process.join(timeout=1)  # it has closed its end: exited, or about to
        reason = self._death()
        pending, self.pending = self.pending, {}
        for task_id, (entry, _size) in pending.items():
            self._settle(task_id, entry, False, WorkerDied(reason))
        self.backlog = 0
        self._make_room()
        log.error("%s; extraction goes on in the crawl process", reason)

    def _death(self) -> str:
        return f"the extraction worker exited with status {self.process.exitcode}"

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


def _alive() -> _Worker | None:
    return _worker if _worker is not None and not _worker.dead else None


async def run(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`function(*args, **kwargs)`, in the worker when one is running, else here. The function
    must be importable by name (a module-level function), its arguments and answer picklable."""
    worker = _alive()
    if worker is None:
        return function(*args, **kwargs)
    return await worker.call(function, args, kwargs)


def post(
    function: Callable[..., Any], *args: Any, on_error: Callable[[Exception], None], **kwargs: Any
) -> Awaitable[None] | None:
    """`function(*args, **kwargs)` in the worker, without waiting for it; `on_error(exc)` if it
    raises (inline: at once). Returns None, or, while the worker is BACKLOG_BYTES behind, an
    awaitable that is done once it has caught up by half: a Scrapy callback returns it."""
    worker = _alive()
    if worker is not None:
        return worker.post(function, args, kwargs, on_error)
    try:
        function(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - handed over, as the worker would have
        on_error(exc)
    return None


def call(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`function(*args, **kwargs)` in the worker, blocking until it answers: only outside the
    event loop (before the crawl starts, after it ends). After all the calls made before it.
    If the worker has died, or dies now, the call runs here."""
    return begin(function, *args, **kwargs)()


def begin(function: Callable[..., T], *args: Any, **kwargs: Any) -> Callable[[], T]:
    """`call`, in two halves: the call starts in the worker now, and the function returned
    blocks for its answer, so that this process does something else meanwhile."""
    worker = _alive()
    if worker is not None:
        try:
            task_id = worker.send_blocking(function, args, kwargs)
        except WorkerDied:
            pass
        else:

            def answer() -> T:
                try:
                    return worker.answer_blocking(task_id)
                except WorkerDied:
                    return function(*args, **kwargs)

            return answer
    try:
        value = function(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - raised when the answer is asked for, as from the worker
        error = exc

        def fail() -> T:
            raise error

        return fail
    return lambda: value


def _serve(sock: socket.socket, parents: socket.socket) -> None:
    """The worker's loop: read a call, run it, write its result or its exception."""
    parents.close()
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the crawl decides when to stop; EOF tells us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    inbox = bytearray()
    at = 0
    quiet_count = 0
    unanswered: int | None = None  # the last post that succeeded and was not answered yet
    while True:
        if (
            len(inbox) - at < _LENGTH.size
            or len(inbox) - at < _LENGTH.size + _LENGTH.unpack_from(inbox, at)[0]
        ):
            del inbox[:at]
            at = 0
            if unanswered is not None and not _readable(sock, ACK_AFTER_SECONDS):
                sock.sendall(_REPLY_HEAD.pack(0, unanswered))  # caught up: how far it got
                unanswered = None
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            inbox += chunk
            continue
        length = _LENGTH.unpack_from(inbox, at)[0]
        payload = bytes(inbox[at + _LENGTH.size : at + _LENGTH.size + length])
        at += _LENGTH.size + length
        task_id, function, args, kwargs, quiet = pickle.loads(payload)
        try:
            answer = (True, function(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - the caller gets it, as if it had called
            answer = (False, exc)
        if quiet and answer[0]:
            unanswered = task_id
            quiet_count += 1
            if quiet_count < ACK_EVERY:
                continue
        quiet_count = 0
        unanswered = None
        data = b"" if answer[0] is True and answer[1] is None else _dumps(answer)
        sock.sendall(_REPLY_HEAD.pack(len(data), task_id) + data)
    os._exit(0)


def _readable(sock: socket.socket, seconds: float) -> bool:
    return bool(select.select([sock], [], [], seconds)[0])


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
