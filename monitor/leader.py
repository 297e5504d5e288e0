"""One daemon leads per database: a PostgreSQL advisory lock, or a file lock beside a SQLite file.

Two schedulers on one job store would run every job twice, so the second daemon must wait. The
lock lives as long as the leader's process (a session lock on its own connection, or an flock on
an open file): a leader killed with SIGKILL frees it at once, nothing stale is left to clean up.
A waiting daemon can say who leads: the leader names itself (pid, host, start time) in its
connection's application_name, or in the lock file.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from monitor.errors import ExowatchError

log = logging.getLogger("exowatch.daemon")

# pg_try_advisory_lock(int, int): the first number says "exowatch", the second "the daemon".
LOCK_CLASS = 0x45584F57  # "EXOW"
LOCK_ID = 1


def identity(role: str = "daemon") -> str:
    """How a process names itself (the leader, or the runner of a crawl): enough for an operator
    to find it and stop it."""
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return f"exowatch {role} pid {os.getpid()} on {socket.gethostname()[:60]} since {started}"


class Lead(ABC):
    """The lead of one database; `acquire()` tries without blocking."""

    @abstractmethod
    def acquire(self) -> bool: ...

    @abstractmethod
    def holder(self) -> str:
        """Who leads now, as that daemon named itself ("unknown" when it cannot be read)."""

    @abstractmethod
    def still_held(self) -> bool: ...

    @abstractmethod
    def release(self) -> None: ...


def lead_for(database_url: str, name: str | None = None) -> Lead:
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return PostgresLead(database_url, name or identity())
    database = url.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        raise ExowatchError("the daemon needs a database file or PostgreSQL, not an in-memory SQLite store")
    return FileLead(Path(database + ".daemon.lock"), name or identity())


class PostgresLead(Lead):
    """A session-level advisory lock held on a connection of its own for the daemon's life."""

    def __init__(self, database_url: str, name: str) -> None:
        self.name = name[:63]  # application_name's limit
        self.engine = create_engine(database_url, poolclass=NullPool)
        self.connection: Connection | None = None

    def acquire(self) -> bool:
        """Try for the lock on the lead connection. A connection that dropped (PostgreSQL
        restarted, failed over, or ended the backend) is dropped here and made anew at the next
        try: a waiting daemon keeps waiting, and takes the lead once it is free."""
        try:
            if self.connection is None:
                self.connection = self.engine.connect()
                self.connection.execute(
                    text("SELECT set_config('application_name', :name, false)"), {"name": self.name}
                )
            got = self.connection.execute(
                text("SELECT pg_try_advisory_lock(:cls, :id)"), {"cls": LOCK_CLASS, "id": LOCK_ID}
            ).scalar()
            self.connection.commit()  # the lock is the session's; no transaction stays open
        except SQLAlchemyError as exc:
            log.warning("the lead's database connection failed (%s); trying again", type(exc).__name__)
            self._drop()
            return False
        return bool(got)

    def _drop(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(SQLAlchemyError):
                self.connection.close()
            self.connection = None

    def holder(self) -> str:
        query = text(
            "SELECT a.application_name, a.pid, a.client_addr FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :cls AND l.objid = :id "
            "AND l.objsubid = 2 "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        try:
            with self.engine.connect() as connection:
                row = connection.execute(query, {"cls": LOCK_CLASS, "id": LOCK_ID}).first()
        except SQLAlchemyError as exc:
            return f"unknown ({type(exc).__name__})"
        if row is None:
            return "nobody (the lead is free)"
        where = f" from {row.client_addr}" if row.client_addr else ""
        return f"{row.application_name or 'an unnamed session'} (backend {row.pid}{where})"

    def still_held(self) -> bool:
        if self.connection is None:
            return False
        try:
            held = self.connection.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND pid = pg_backend_pid() AND classid = :cls AND objid = :id AND objsubid = 2"
                ),
                {"cls": LOCK_CLASS, "id": LOCK_ID},
            ).scalar()
            self.connection.commit()
        except SQLAlchemyError:
            return False  # the connection dropped: so did the lock
        return bool(held)

    def release(self) -> None:
        if self.connection is not None:
            try:
                self.connection.execute(
                    text("SELECT pg_advisory_unlock(:cls, :id)"), {"cls": LOCK_CLASS, "id": LOCK_ID}
                )
                self.connection.commit()
                self.connection.close()
            except SQLAlchemyError:
                pass
            self.connection = None
        self.engine.dispose()


class FileLead(Lead):
    """An exclusive flock on `<database file>.daemon.lock`, which holds the leader's name."""

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name
        self.handle = None

    def acquire(self) -> bool:
        if self.handle is not None:
            return True
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held open while leading
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(self.name + "\n")
        handle.flush()
        self.handle = handle
        return True

    def holder(self) -> str:
        try:
            named = self.path.read_text("utf-8", errors="replace").strip()
        except OSError:
            return "unknown"
        return "".join(c for c in named[:200] if c.isprintable()) or "unknown"

    def still_held(self) -> bool:
        if self.handle is None:
            return False
        try:  # the lock file deleted or replaced: another daemon could lock the new one
            return os.fstat(self.handle.fileno()).st_ino == self.path.stat().st_ino
        except OSError:
            return False

    def release(self) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle.fileno(), fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None
