"""The job journal: a SQLite file that lets a killed job resume without sending anything twice.

What it holds: a random job id (made once, when the file is created) and, per input index, a
digest of the message as sent (its exact JSON body, ``messageId`` included), its status, its
``messageId`` and its attempts.

Why no write before a send: a message's id is derived from the job id and its index
(``uuid5(job_id, str(index))``), so the id is the same in every run without having been written
down, and a kill between a send and its journal write cannot give the message a second id.

Why group commits that the senders wait for: a sender waits until its outcome is committed
before it takes its next message, so at any instant each of the ``concurrency`` senders holds at
most one message whose fate a kill could lose (in flight, or answered but not yet committed).
Commits are batched (every outcome that arrives while one commit runs goes into the next) and
run in a worker thread, off the event loop.

Why a rollback journal, not WAL: after every commit the main file alone is the whole journal,
so a copy of it (without a ``-wal`` sidecar) resumes the job rather than passing for a new one.
``synchronous=NORMAL`` survives a killed process.

Why an exclusive lock: two jobs on one journal would both send every message. The file is
locked (SQLite ``locking_mode=EXCLUSIVE``, taken with ``BEGIN EXCLUSIVE`` when the journal is
opened) for the job's life; another job, in this process or another, gets ``JournalLockedError``
before it sends anything.

What is checked at open, before the first send: the file is a SQLite database that holds only a
journal (``JournalCorruptError`` otherwise, also for a damaged one: ``PRAGMA quick_check``), it
can be written (a write probe), and a file that holds outcomes has its job id (outcomes without
one are refused with ``JournalMismatchError``, never taken for a new job). No ``sqlite3`` error
leaves this module: each becomes a ``JournalError`` naming the file.

On resume: an index recorded ``accepted`` or ``rejected`` is not sent again (its journaled
outcome is yielded, marked ``resumed``); one recorded ``failed``, or not recorded at all, is sent
again under its derived id (its fate is unknown: the platform de-duplicates by ``messageId``). A
recorded digest that differs from the input's message at the same index means the input changed:
the job is refused with ``JournalMismatchError``.
"""

from __future__ import annotations

import hashlib
import os
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

import anyio
import anyio.to_thread
import msgspec

from .._exceptions import QlaraError

__all__ = [
    "Journal",
    "JournalCorruptError",
    "JournalError",
    "JournalLockedError",
    "JournalMismatchError",
    "JournalRow",
    "digest",
    "invalid_digest",
]

_FORMAT = "1"
_READ_CHUNK = 2048
_TABLES = {"meta", "outcomes"}

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS outcomes ("
    " idx INTEGER PRIMARY KEY, digest BLOB NOT NULL, status TEXT NOT NULL,"
    " message_id TEXT, attempts INTEGER NOT NULL)",
)

# What each table must hold exactly: a file with the same table names but other columns would
# take the sends and fail at the first commit, after messages went out unrecorded.
_COLUMNS = {
    "meta": ("key", "value"),
    "outcomes": ("idx", "digest", "status", "message_id", "attempts"),
}
_LOCK_WAIT = 1.0
"""Seconds a job waits for a journal another job holds before it is refused."""
_STATUSES = frozenset({"accepted", "rejected", "failed"})


class JournalError(QlaraError):
    """The journal file cannot be used (unreadable, unwritable, or not a journal).

    ``path`` names the file. Raised before anything is sent when found at open.
    """

    __module__ = "qlara_async.bulk"

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only attributes survive pickling (multiprocessing, logging handlers).
        return (type(self), (self.message,), self.__dict__)


class JournalLockedError(JournalError):
    """Another job (in this process or another) holds the journal: running both would send
    every message twice."""

    __module__ = "qlara_async.bulk"


class JournalCorruptError(JournalError):
    """The journal file is not a SQLite journal, or is damaged (e.g. truncated)."""

    __module__ = "qlara_async.bulk"


class JournalMismatchError(JournalError, ValueError):
    """The input is not the one the journal recorded: resuming would send the wrong messages."""

    __module__ = "qlara_async.bulk"

    def __init__(self, message: str, *, index: int | None = None, path: str | None = None) -> None:
        super().__init__(message, path=path)
        self.index = index


def _translate(exc: sqlite3.Error, path: str, doing: str) -> JournalError:
    """The library's error for a ``sqlite3`` one, naming the file."""
    name = getattr(exc, "sqlite_errorname", "")
    text = str(exc)
    if name in ("SQLITE_BUSY", "SQLITE_LOCKED") or "locked" in text or "busy" in text:
        return JournalLockedError(
            f"journal {path} is in use by another job (another process, or another job of"
            " this one): two jobs on one journal would send every message twice",
            path=path,
        )
    if (
        name in ("SQLITE_NOTADB", "SQLITE_CORRUPT")
        or "not a database" in text
        or ("malformed" in text)
    ):
        return JournalCorruptError(
            f"journal {path} is damaged or not a journal ({text}); {doing} failed", path=path
        )
    if name.startswith("SQLITE_READONLY") or "readonly" in text:
        return JournalError(f"journal {path} cannot be written ({text})", path=path)
    return JournalError(f"journal {path}: {doing} failed ({text})", path=path)


@contextmanager
def _guard(path: str, doing: str) -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        raise _translate(exc, path, doing) from exc


class JournalRow(NamedTuple):
    """One recorded outcome."""

    idx: int
    """The input index."""
    digest: bytes
    status: str
    message_id: str | None
    attempts: int


def digest(content: bytes) -> bytes:
    """The identity of a message as sent: 16 bytes of SHA-256 of its JSON body."""
    return hashlib.sha256(content).digest()[:16]


def _sound(row: JournalRow) -> bool:
    return (
        isinstance(row.idx, int)
        and isinstance(row.digest, bytes)
        and row.status in _STATUSES
        and (row.message_id is None or isinstance(row.message_id, str))
        and isinstance(row.attempts, int)
        and row.attempts >= 0
    )


def invalid_digest(message: object) -> bytes:
    """The identity of a message that failed validation (it has no body): its own encoding."""
    try:
        raw = msgspec.json.encode(message)
    except Exception:
        # Whatever made it invalid may also break the encoder (a lone surrogate, a dict that
        # contains itself): fall back to its repr, and past that to its type.
        try:
            raw = repr(message).encode("utf-8", "backslashreplace")
        except Exception:
            raw = type(message).__qualname__.encode()
    return digest(b"invalid\0" + raw)


class Journal:
    """One job's journal. Open with ``await Journal.open(path)``; not shared between jobs."""

    def __init__(self, path: str, conn: sqlite3.Connection, job_id: uuid.UUID, new: bool) -> None:
        self.path = path
        self.job_id = job_id
        self.new = new
        """The file was created by this run (nothing to resume)."""
        self._conn = conn
        # One connection, used from worker threads one call at a time.
        self._lock = threading.Lock()
        self._pending: list[JournalRow] = []
        self._committed = anyio.Event()
        self._wake = anyio.Event()
        self._closing = False
        self._chunk: Sequence[JournalRow] = ()
        self._chunk_pos = 0
        self._chunk_end = -1  # every index <= this has been fetched (or is absent)
        self._empty = new
        self.commits = 0
        self.error: Exception | None = None
        """The error that stopped the writer, if any."""
        self.on_error: Callable[[Exception], None] | None = None

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    async def open(cls, path: str | os.PathLike[str]) -> Journal:
        """Open (or create) the journal at ``path``."""
        return await anyio.to_thread.run_sync(cls._open_sync, os.fspath(path))

    @classmethod
    def _open_sync(cls, path: str) -> Journal:
        # Two jobs opening one new file at once can each be refused (SQLite answers "busy" at
        # once, without waiting, when both hold a read lock and both want to write): try
        # again for a moment, so one of them gets the file and only the other is refused.
        deadline = time.monotonic() + _LOCK_WAIT
        while True:
            try:
                return cls._open_once(path)
            except JournalLockedError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(random.uniform(0.005, 0.05))  # in a worker thread, not the loop

    @classmethod
    def _open_once(cls, path: str) -> Journal:
        with _guard(path, "opening it"):
            # A short busy wait: two jobs opening a new file at once each hold a read lock for a
            # moment, and with no wait at all both could be refused; the winner then holds the
            # file for the job's life, so the other is refused after this wait.
            conn = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, timeout=_LOCK_WAIT
            )
        try:
            with _guard(path, "opening it"):
                job_id, new = cls._claim(conn, path)
        except BaseException:
            conn.close()
            raise
        return cls(path, conn, job_id, new)

    @staticmethod
    def _claim(conn: sqlite3.Connection, path: str) -> tuple[uuid.UUID, bool]:
        """Lock the file for this job, check it, probe a write: ``(job_id, new)``."""
        # Held until the connection closes: the first write takes the exclusive lock.
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("BEGIN EXCLUSIVE")
        try:
            problems = [row[0] for row in conn.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise JournalCorruptError(
                    f"journal {path} is damaged: {'; '.join(map(str, problems[:3]))}", path=path
                )
            tables = {
                row[0]
                for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            if tables - _TABLES:
                raise JournalCorruptError(
                    f"{path} is a SQLite file but not a job journal (tables {sorted(tables)}):"
                    " refusing to write into it",
                    path=path,
                )
            for statement in _SCHEMA:
                conn.execute(statement)
            for table, columns in _COLUMNS.items():
                found = tuple(row[1] for row in conn.execute(f"PRAGMA table_info({table})"))
                if found != columns:
                    raise JournalCorruptError(
                        f"{path} is a SQLite file but not a job journal (table {table} has"
                        f" columns {list(found)}): refusing to write into it",
                        path=path,
                    )
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            has_outcomes = conn.execute("SELECT 1 FROM outcomes LIMIT 1").fetchone() is not None
            if "job_id" not in meta:
                if has_outcomes:
                    raise JournalMismatchError(
                        f"journal {path} holds outcomes but no job id (its meta row is"
                        " missing): taking it for a new job would send every message again"
                        " under new ids; restore the complete file or use a new journal",
                        path=path,
                    )
                job_id = uuid.uuid4()
                conn.execute("INSERT INTO meta VALUES ('job_id', ?)", (str(job_id),))
                conn.execute("INSERT INTO meta VALUES ('format', ?)", (_FORMAT,))
                new = True
            else:
                if meta.get("format") != _FORMAT:
                    raise JournalMismatchError(
                        f"{path}: journal format {meta.get('format')!r} is not {_FORMAT!r}",
                        path=path,
                    )
                try:
                    job_id = uuid.UUID(meta["job_id"])
                except ValueError:
                    raise JournalCorruptError(
                        f"journal {path}: job id {meta['job_id']!r} is not a UUID", path=path
                    ) from None
                new = not has_outcomes
            # The write probe: a journal that cannot be written is found out now, not after
            # ``concurrency`` sends went unrecorded.
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('opened', ?)", (repr(time.time()),))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        # A journal from a version that used WAL: make the main file complete on its own.
        (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
        if str(mode).lower() != "delete":
            conn.execute("PRAGMA journal_mode=DELETE")
        return job_id, new

    def message_id(self, index: int) -> str:
        """The ``messageId`` of input ``index`` in this job, the same in every run."""
        return str(uuid.uuid5(self.job_id, str(index)))

    # -- reading (resume) ----------------------------------------------------------------------

    async def lookup(self, index: int) -> JournalRow | None:
        """The recorded outcome of ``index``, if any. Call with increasing indices.

        Rows are read ahead in chunks, so memory does not grow with the journal. This run's
        own writes are only for indices already passed, so a chunk is never stale.
        """
        if self._empty:
            return None
        while index > self._chunk_end:
            await self._fetch(index)
        chunk = self._chunk
        pos = self._chunk_pos
        while pos < len(chunk) and chunk[pos].idx < index:
            pos += 1
        self._chunk_pos = pos
        if pos < len(chunk) and chunk[pos].idx == index:
            return chunk[pos]
        return None

    async def _fetch(self, start: int) -> None:
        rows = await anyio.to_thread.run_sync(self._fetch_sync, start)
        self._chunk = rows
        self._chunk_pos = 0
        if len(rows) < _READ_CHUNK:
            # The rest of the journal is in this chunk.
            self._chunk_end = 1 << 62
        else:
            self._chunk_end = rows[-1].idx

    def _fetch_sync(self, start: int) -> list[JournalRow]:
        with self._lock, _guard(self.path, "reading it"):
            cur = self._conn.execute(
                "SELECT idx, digest, status, message_id, attempts FROM outcomes"
                " WHERE idx >= ? ORDER BY idx LIMIT ?",
                (start, _READ_CHUNK),
            )
            rows = [JournalRow(*row) for row in cur.fetchall()]
        for row in rows:
            if not _sound(row):
                # SQLite stores any type in any column: a row written by something else must
                # not reach the senders as, say, attempts='x'.
                raise JournalCorruptError(
                    f"journal {self.path} has a damaged row for message {row.idx!r}", path=self.path
                )
        return rows

    async def first_index_from(self, index: int) -> int | None:
        """The smallest recorded index ``>= index`` (to find outcomes past the input's end)."""

        def query() -> int | None:
            with self._lock, _guard(self.path, "reading it"):
                row = self._conn.execute(
                    "SELECT min(idx) FROM outcomes WHERE idx >= ?", (index,)
                ).fetchone()
            return None if row is None or row[0] is None else int(row[0])

        return await anyio.to_thread.run_sync(query)

    async def check_end(self, count: int) -> None:
        """Refuse a journal with an outcome past the input's ``count`` messages: another job's."""
        first = await self.first_index_from(count)
        if first is not None:
            raise JournalMismatchError(
                f"the input has {count} messages but the journal {self.path} has an outcome"
                f" for index {first}: it belongs to a different job",
                index=first,
                path=self.path,
            )

    # -- writing -------------------------------------------------------------------------------

    async def record(self, row: JournalRow) -> None:
        """Queue ``row`` and wait until it is committed (with whatever else was queued)."""
        self._pending.append(row)
        done = self._committed
        self._wake.set()
        await done.wait()

    async def writer(self) -> None:
        """The commit loop; run it in the job's task group until ``close_writer()``."""
        while True:
            await self._wake.wait()
            self._wake = anyio.Event()
            batch, done = self._pending, self._committed
            self._pending, self._committed = [], anyio.Event()
            if batch and self.error is None:
                try:
                    # Not abandoned on cancel: a commit once started is waited for.
                    await anyio.to_thread.run_sync(self._write_sync, batch)
                    self.commits += 1
                except Exception as exc:
                    # The job stops and raises this; senders waiting on it are let go.
                    self.error = exc
                    if self.on_error is not None:
                        self.on_error(exc)
            done.set()
            if self._closing and not self._pending:
                return

    def close_writer(self) -> None:
        """Let the writer commit what is queued, then return."""
        self._closing = True
        self._wake.set()

    def _write_sync(self, batch: list[JournalRow]) -> None:
        with self._lock, _guard(self.path, "writing to it"):
            conn = self._conn
            conn.execute("BEGIN")
            try:
                conn.executemany(
                    "INSERT OR REPLACE INTO outcomes (idx, digest, status, message_id, attempts)"
                    " VALUES (?, ?, ?, ?, ?)",
                    batch,
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    async def aclose(self) -> None:
        """Close the file."""

        def close() -> None:
            with self._lock, _guard(self.path, "closing it"):
                self._conn.close()

        await anyio.to_thread.run_sync(close)
