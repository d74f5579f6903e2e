"""The SQLite connection: PRAGMAs, a group-committing writer, and readers.

Theory of operation. SQLite commits durably (WAL, ``synchronous=FULL``) at about a thousand
fsyncs a second, far below what the inbox must acknowledge. So every write is a *unit*: a
coroutine body run inside its own ``SAVEPOINT`` on the single writer connection. Units queue on
one FIFO lock; the first unit of a batch opens ``BEGIN IMMEDIATE`` and schedules a commit task,
which queues on the same lock behind every unit already waiting. When the commit task gets the
lock it commits them all with one fsync and wakes them. A unit that raises rolls back only its
own savepoint; the others still commit. A unit returns only after its commit is durable, so a
2xx answered after ``async with db.transaction()`` acknowledges durable data.

A unit given as a function (``run``) rather than a ``with`` body is better still on a busy node:
one drain task applies every queued function back to back, each in its savepoint, without
handing the lock from task to task through the loop. A ``with`` body holds the lock across a
turn of the loop per unit, so a batch of forty stretches over forty turns of other work and the
commit's fsync starts late; drained functions finish in one stretch and the loop does its other
work during the fsync instead.

Rows that need no unit of their own (an activity recorded with no effect) can instead be
``append``-ed: they are written with one ``executemany`` by the commit itself, just before COMMIT,
and the caller is woken with the rest of the batch — no thread hand-off per row.

The writer's statements run *inline* on the event loop. Inside a unit they are small (tens of
microseconds) and never wait for a lock, because the batch already holds SQLite's write lock;
a hop to a worker thread and back would cost several times the statement itself and hold the
unit's place in the queue all the while. Only the statements that can wait — ``BEGIN
IMMEDIATE`` (on a CLI process writing beside the node, up to the busy timeout: ``storage/busy.py``)
and ``COMMIT`` (the fsync) — run on the writer's own thread, so they never stall the loop.

Reads use a separate connection on its own thread (aiosqlite; WAL lets it read while the writer
writes), so readers never wait for a batch and a large page never blocks the loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from storage.busy import BUSY_SLICE_MS, begin_immediate

# Raised here and long imported from here: re-exported.
from storage.errors import DatabaseLockedError as DatabaseLockedError
from storage.errors import MissingDatabaseError as MissingDatabaseError
from storage.errors import StorageError as StorageError
from storage.files import make_database_file

log = logging.getLogger("storage.db")

Row = sqlite3.Row
T = TypeVar("T")

_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
)
DEFAULT_BUSY_TIMEOUT_SECONDS = 10.0


class WriterConnection:
    """The writer's connection inside a unit: the reader's async interface, run inline.

    Repositories take either connection; with this one their statements execute at once on the
    loop (see the module's theory of operation) and the ``await`` costs nothing.
    """

    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        return self._conn.execute(sql, tuple(params))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> sqlite3.Cursor:
        # Rows are sequences (sqlite3 binds by index), which also satisfies aiosqlite's
        # Iterable[Iterable[Any]]: a repository's call type-checks against either connection.
        return self._conn.executemany(sql, rows)

    async def execute_fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        return self._conn.execute(sql, tuple(params)).fetchall()


Connection = aiosqlite.Connection | WriterConnection
"""What repositories take: the reader (committed data) or the writer inside a unit."""


async def _connect_reader(path: Path, busy_timeout_ms: int) -> aiosqlite.Connection:
    reader = await aiosqlite.connect(path, isolation_level=None)
    try:
        reader.row_factory = Row
        for pragma in (*_PRAGMAS, f"PRAGMA busy_timeout={busy_timeout_ms}"):
            await reader.execute(pragma)
    except BaseException:
        await reader.close()
        raise
    return reader


def _connect_writer(path: Path) -> sqlite3.Connection:
    # Used inline on the loop and, for BEGIN/COMMIT, on the writer's thread: never concurrently,
    # since both happen under the writer lock.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        conn.row_factory = Row
        for pragma in (*_PRAGMAS, f"PRAGMA busy_timeout={BUSY_SLICE_MS}"):
            conn.execute(pragma)
    except BaseException:
        conn.close()
        raise
    return conn


# Units never nest (each holds the writer lock), so one savepoint name serves them all and its
# statements stay prepared in the connection's cache: a name per unit cost two prepares a unit.
_BEGIN_UNIT, _UNDO_UNIT, _END_UNIT = "SAVEPOINT unit", "ROLLBACK TO unit", "RELEASE unit"


@dataclass(slots=True)
class _Batch:
    done: asyncio.Future[None]
    appends: list[tuple[str, tuple[Any, ...]]]
    task: asyncio.Task[None] | None = None
    # Drained units' futures and results, answered when the commit is durable.
    results: list[tuple[asyncio.Future[Any], Any]] = field(default_factory=list)


Unit = Callable[["WriterConnection"], Awaitable[T]]


def _grouped(appends: list[tuple[str, tuple[Any, ...]]]) -> list[tuple[str, list[tuple[Any, ...]]]]:
    groups: dict[str, list[tuple[Any, ...]]] = {}
    for sql, params in appends:
        groups.setdefault(sql, []).append(params)
    return list(groups.items())


class Database:
    """One SQLite file: a group-committing writer connection and a reader connection."""

    def __init__(
        self,
        path: Path,
        writer: sqlite3.Connection,
        reader: aiosqlite.Connection,
        *,
        busy_timeout_seconds: float = DEFAULT_BUSY_TIMEOUT_SECONDS,
        created: bool = False,
    ):
        self.path = path
        # Whether this open made the file (the CLI says where).
        self.created = created
        self._busy_timeout = busy_timeout_seconds
        self._raw_writer = writer
        self._writer = WriterConnection(writer)
        self._writer_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self._reader = reader
        self._lock = asyncio.Lock()
        self._batch: _Batch | None = None
        self._queued: deque[tuple[Unit[Any], asyncio.Future[Any]]] = deque()
        self._drainer: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls,
        path: Path | str,
        *,
        create: bool = True,
        busy_timeout_seconds: float = DEFAULT_BUSY_TIMEOUT_SECONDS,
    ) -> Database:
        """Open and configure the database file at ``path``.

        Without ``create``, a missing file is a MissingDatabaseError naming the path. A new file
        and the folders made for it are readable by their owner only (0600, 0700); SQLite gives
        the WAL and shared-memory files the database file's permissions.
        """
        path = Path(path)
        shown = os.path.abspath(path)
        if not create and not path.exists():
            raise MissingDatabaseError(f"no database at {shown}")
        try:
            created = make_database_file(path)
        except OSError as error:
            raise StorageError(f"cannot create the database {shown}: {reason_of(error)}") from error
        try:
            writer = await asyncio.to_thread(_connect_writer, path)
            try:
                reader = await _connect_reader(path, int(busy_timeout_seconds * 1000))
            except BaseException:
                writer.close()
                raise
        except (sqlite3.Error, OSError) as error:
            raise StorageError(f"cannot open the database {shown}: {reason_of(error)}") from error
        return cls(path, writer, reader, busy_timeout_seconds=busy_timeout_seconds, created=created)

    async def close(self) -> None:
        """Wait for the batch in flight, then close both connections."""
        if self._drainer is not None:
            await asyncio.shield(self._drainer)
        async with self._lock:
            pass
        if self._batch is not None:
            await asyncio.shield(self._batch.done)
        await self._on_writer_thread("close", self._raw_writer.close)
        self._writer_thread.shutdown()
        await self._reader.close()

    async def _open_batch(self) -> _Batch:
        """The open batch, beginning one if needed (call with the lock held)."""
        if self._batch is None:
            await begin_immediate(
                self._raw_writer, self._writer_thread, self._busy_timeout, os.path.abspath(self.path)
            )
            loop = asyncio.get_running_loop()
            self._batch = _Batch(loop.create_future(), [])
            # Keep a reference: the loop holds tasks weakly, and this one must run to the end.
            self._batch.task = loop.create_task(self._commit_batch(self._batch))
        return self._batch

    async def append(self, sql: str, params: tuple[Any, ...]) -> None:
        """Write one independent row with the next group commit; return once it is durable."""
        batch = self._batch
        if batch is None:
            async with self._lock:
                batch = await self._open_batch()
        batch.appends.append((sql, params))  # no await since the check: the batch is still open
        await asyncio.shield(batch.done)

    async def _on_writer_thread(self, what: str, call: Any, *args: Any) -> None:
        """A writer call that may wait (lock, fsync), on the writer's thread instead of the loop."""
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._writer_thread, call, *args)
        except sqlite3.Error as error:
            raise StorageError(f"{what} failed: {error}") from error

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[WriterConnection]:
        """Run the body as one atomic unit; return only once it is durably committed."""
        async with self._lock:
            batch = await self._open_batch()
            self._raw_writer.execute(_BEGIN_UNIT)
            try:
                yield self._writer
            except BaseException:
                self._undo_unit()
                raise
            self._raw_writer.execute(_END_UNIT)
        await asyncio.shield(batch.done)

    async def run(self, unit: Unit[T]) -> T:
        """Run ``unit(connection)`` as one atomic unit; return its result once durably committed.

        The unit runs in the drain task, after the units queued before it. It should not wait on
        anything but the connection it is given: while it waits, the writer waits.
        """
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queued.append((unit, future))
        if self._drainer is None:
            self._drainer = asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            async with self._lock:
                batch = await self._open_batch()
                # The units queued by now. Any that arrive while one of them waits go to the
                # next batch, as with-body units do once a batch's commit is queued: no batch
                # grows without end while its fsync waits.
                for _ in range(len(self._queued)):
                    unit, future = self._queued.popleft()
                    if not future.cancelled():  # a caller gone before its turn: nothing to do
                        await self._apply(batch, unit, future)
        except BaseException as error:  # BEGIN failed, or the node is shutting down
            while self._queued:
                _unit, future = self._queued.popleft()
                if not future.done():
                    future.set_exception(StorageError(f"unit not run: {error!r}"))
            if not isinstance(error, Exception):
                raise
        finally:
            self._drainer = None
            if self._queued:
                self._drainer = asyncio.get_running_loop().create_task(self._drain())

    async def _apply(self, batch: _Batch, unit: Unit[Any], future: asyncio.Future[Any]) -> None:
        self._raw_writer.execute(_BEGIN_UNIT)
        try:
            result = await unit(self._writer)
        except BaseException as error:
            self._undo_unit()
            if not future.cancelled():
                future.set_exception(error if isinstance(error, Exception) else StorageError(repr(error)))
            if not isinstance(error, Exception):
                raise
            return
        self._raw_writer.execute(_END_UNIT)
        batch.results.append((future, result))

    def _undo_unit(self) -> None:
        self._raw_writer.execute(_UNDO_UNIT)
        self._raw_writer.execute(_END_UNIT)

    async def _commit_batch(self, batch: _Batch) -> None:
        async with self._lock:
            self._batch = None
            try:
                for sql, rows in _grouped(batch.appends):
                    await self._writer.executemany(sql, rows)
                await self._on_writer_thread("COMMIT", self._raw_writer.execute, "COMMIT")
            except Exception as error:  # the whole batch failed to commit: every unit learns it
                log.error("commit failed: %s", error)
                await self._writer.execute("ROLLBACK")
                failure = StorageError(f"commit failed: {error}")
                batch.done.set_exception(failure)
                batch.done.exception()  # mark retrieved even if no unit is left waiting
                for future, _result in batch.results:
                    if not future.cancelled():
                        future.set_exception(failure)
            else:
                batch.done.set_result(None)
                for future, result in batch.results:
                    if not future.cancelled():
                        future.set_result(result)

    @property
    def reader(self) -> aiosqlite.Connection:
        """The read connection: committed data only; pass it to repository functions."""
        return self._reader

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        """One row of a read query (reader connection, committed data only)."""
        return await fetchone(self._reader, sql, params)

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        """All rows of a read query (reader connection, committed data only)."""
        return await fetchall(self._reader, sql, params)

    async def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` verdict ('ok' when sound)."""
        row = await self.fetchone("PRAGMA integrity_check")
        return str(row[0]) if row else "no answer"


def reason_of(error: BaseException) -> str:
    """An error as one short phrase: an OS error's own words, else its text."""
    return error.strerror if isinstance(error, OSError) and error.strerror else str(error)


# One round trip to the connection's thread per query (execute + fetch + close would be three):
# thread hand-offs, not SQLite, dominate the cost of small queries.


async def fetchone(conn: Connection, sql: str, params: Iterable[Any] = ()) -> Row | None:
    """One row of a query on a connection (inside a transaction: sees its own writes)."""
    rows = await conn.execute_fetchall(sql, tuple(params))
    return next(iter(rows), None)


async def fetchall(conn: Connection, sql: str, params: Iterable[Any] = ()) -> list[Row]:
    """All rows of a query on a connection (inside a transaction: sees its own writes)."""
    return list(await conn.execute_fetchall(sql, tuple(params)))
