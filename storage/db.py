"""The SQLite connection: PRAGMAs, a group-committing writer, and readers.

Theory of operation. SQLite commits durably (WAL, ``synchronous=FULL``) at about a thousand
fsyncs a second, far below what the inbox must acknowledge. So every write is a *unit*: a
coroutine body run inside its own ``SAVEPOINT`` on the single writer connection. Units queue on
one FIFO lock; the first unit of a batch opens ``BEGIN IMMEDIATE`` and schedules a commit task,
which queues on the same lock behind every unit already waiting. When the commit task gets the
lock it commits them all with one fsync and wakes them. A unit returns only after its commit is
durable, so a 2xx answered after ``async with db.transaction()`` acknowledges durable data.

One bad unit never harms another. Whatever a unit raises (a constraint, an encoding error at
bind time, any exception, even one that is not an ``Exception``) rolls back its own savepoint
alone and reaches its own caller; the drain goes on with the next unit. Nothing a unit did may
fail later, at COMMIT, where it would take the batch with it: foreign keys are immediate (the
migrations declare none deferrable, a test holds them to it), and a unit that defers them with
``PRAGMA defer_foreign_keys`` is checked (``foreign_key_check``) before its savepoint is released.
Appended rows that fail are retried one by one, so only their own callers learn it. Only what
SQLite rolls back whole (a full disk, an I/O error, a ROLLBACK conflict clause) fails every unit
of the batch; the writer then begins a new batch for the units still queued.

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
writes), so readers never wait for a batch and a large page never blocks the loop. Both
connections are made in ``storage.connection``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from storage.batch import Batch, ends_the_drain, grouped_appends
from storage.busy import begin_immediate

# The connections live in storage.connection and the errors in storage.errors; repositories and
# the shell keep importing them from here.
from storage.connection import (
    Connection,
    Row,
    WriterConnection,
    connect_reader,
    connect_writer,
    fetchall,
    fetchone,
)
from storage.errors import DatabaseLockedError, MissingDatabaseError, StorageError, reason_of
from storage.files import make_database_file

__all__ = [
    "Connection", "Database", "DatabaseLockedError", "MissingDatabaseError", "Row", "StorageError", "Unit",
    "WriterConnection", "fetchall", "fetchone",
]

log = logging.getLogger("storage.db")

T = TypeVar("T")

DEFAULT_BUSY_TIMEOUT_SECONDS = 10.0


# Units never nest (each holds the writer lock), so one savepoint name serves them all and its
# statements stay prepared in the connection's cache: a name per unit cost two prepares a unit.
_BEGIN_UNIT, _UNDO_UNIT, _END_UNIT = "SAVEPOINT unit", "ROLLBACK TO unit", "RELEASE unit"
_DEFERRED_FKS, _IMMEDIATE_FKS = "PRAGMA defer_foreign_keys", "PRAGMA defer_foreign_keys = OFF"


Unit = Callable[["WriterConnection"], Awaitable[T]]


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
        self._batch: Batch | None = None
        self._queued: deque[tuple[Unit[Any], asyncio.Future[Any]]] = deque()
        self._drainer: asyncio.Task[None] | None = None
        self._closed = False
        # Whether any statement on the writer ever named defer_foreign_keys: until one does, no
        # unit can have deferred a foreign key, and units end without asking SQLite.
        self._may_defer = False
        writer.set_authorizer(self._watch_pragmas)

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
            writer = await asyncio.to_thread(connect_writer, path)
            try:
                reader = await connect_reader(path, int(busy_timeout_seconds * 1000))
            except BaseException:
                writer.close()
                raise
        except (sqlite3.Error, OSError) as error:
            raise StorageError(f"cannot open the database {shown}: {reason_of(error)}") from error
        return cls(path, writer, reader, busy_timeout_seconds=busy_timeout_seconds, created=created)

    async def close(self) -> None:
        """Wait for the batch in flight, then close both connections; later units are refused."""
        if self._drainer is not None:
            await asyncio.shield(self._drainer)
        async with self._lock:
            self._closed = True
        if self._batch is not None:
            await asyncio.shield(self._batch.done)
        await self._on_writer_thread("close", self._raw_writer.close)
        self._writer_thread.shutdown()
        await self._reader.close()

    async def _open_batch(self) -> Batch:
        """The open batch, beginning one if needed (call with the lock held)."""
        if self._batch is None:
            if self._closed:
                raise StorageError(f"the database {os.path.abspath(self.path)} is closed")
            await begin_immediate(
                self._raw_writer, self._writer_thread, self._busy_timeout, os.path.abspath(self.path)
            )
            loop = asyncio.get_running_loop()
            self._batch = Batch(loop.create_future(), [])
            # Keep a reference: the loop holds tasks weakly, and this one must run to the end.
            self._batch.task = loop.create_task(self._commit_batch(self._batch))
        return self._batch

    async def append(self, sql: str, params: tuple[Any, ...]) -> None:
        """Write one independent row with the next group commit; return once it is durable.

        A row that cannot be written (a constraint, text SQLite cannot encode) raises
        StorageError here, to its own caller only.
        """
        batch = self._batch
        if batch is None:
            async with self._lock:
                batch = await self._open_batch()
        index = len(batch.appends)
        batch.appends.append((sql, params))  # no await since the check: the batch is still open
        await asyncio.shield(batch.done)
        failure = batch.failed_appends.get(index) if batch.failed_appends else None
        if failure is not None:
            raise StorageError(f"row not written: {failure}") from failure

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
                self._end_unit()
            except BaseException as error:
                self._unit_failed(batch, error)
                raise
        await asyncio.shield(batch.done)  # raises when the batch failed to commit or was lost

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
        current: asyncio.Future[Any] | None = None
        try:
            async with self._lock:
                # The units queued by now. Any that arrive while one of them waits go to the
                # next batch, as with-body units do once a batch's commit is queued: no batch
                # grows without end while its fsync waits.
                for _ in range(len(self._queued)):
                    unit, current = self._queued.popleft()
                    if not current.cancelled():  # a caller gone before its turn: nothing to do
                        # A new batch when SQLite rolled the last one back under a unit.
                        batch = self._batch or await self._open_batch()
                        await self._apply(batch, unit, current)
                current = None
        except BaseException as error:  # BEGIN failed, or the node is shutting down
            # The unit in hand when it failed, and every unit still queued, learn it.
            waiting = [current] if current is not None else []
            while self._queued:
                waiting.append(self._queued.popleft()[1])
            for future in waiting:
                if not future.done():
                    future.set_exception(StorageError(f"unit not run: {error}"))
            if not isinstance(error, Exception):
                raise
        finally:
            self._drainer = None
            if self._queued:
                self._drainer = asyncio.get_running_loop().create_task(self._drain())

    async def _apply(self, batch: Batch, unit: Unit[Any], future: asyncio.Future[Any]) -> None:
        self._raw_writer.execute(_BEGIN_UNIT)
        try:
            result = await unit(self._writer)
            self._end_unit()
        except BaseException as error:
            self._unit_failed(batch, error)
            if not future.cancelled():
                future.set_exception(error if isinstance(error, Exception) else StorageError(repr(error)))
            if ends_the_drain(error):
                raise
            return
        batch.results.append((future, result))

    def _watch_pragmas(self, action: int, name: str | None, *_: object) -> int:
        # The authorizer runs when a statement is prepared (cached ones are not prepared again):
        # a cost only for new statements, none per unit.
        if action == sqlite3.SQLITE_PRAGMA and name is not None and name.lower() == "defer_foreign_keys":
            self._may_defer = True
        return sqlite3.SQLITE_OK

    def _end_unit(self) -> None:
        """Release the unit's savepoint, once a unit that deferred foreign keys is found sound.

        A deferred violation would otherwise surface only at COMMIT and fail the whole batch.
        """
        writer = self._raw_writer
        if self._may_defer and writer.execute(_DEFERRED_FKS).fetchone()[0]:
            writer.execute(_IMMEDIATE_FKS)  # the next unit starts with immediate checks again
            violation = writer.execute("PRAGMA foreign_key_check").fetchone()
            if violation is not None:
                raise sqlite3.IntegrityError(f"FOREIGN KEY constraint failed (deferred): {violation[0]}")
        writer.execute(_END_UNIT)

    def _unit_failed(self, batch: Batch, error: BaseException) -> None:
        """Roll back the failed unit alone; if SQLite already rolled back the whole transaction
        (or the unit broke its savepoint), the batch is lost and a new one begins."""
        writer = self._raw_writer
        try:
            if self._may_defer:
                writer.execute(_IMMEDIATE_FKS)
            if writer.in_transaction:
                self._undo_unit()
                return
        except sqlite3.Error as undo_error:
            error = undo_error
        log.error("batch lost: SQLite rolled back the transaction under a unit: %r", error)
        if writer.in_transaction:
            writer.execute("ROLLBACK")
        batch.lost = StorageError(f"batch rolled back: {error!r}")
        if self._batch is batch:
            self._batch = None

    def _undo_unit(self) -> None:
        self._raw_writer.execute(_UNDO_UNIT)
        self._raw_writer.execute(_END_UNIT)

    def _write_appends(self, batch: Batch) -> None:
        """The appended rows, one ``executemany`` per statement; a group that fails is written
        again row by row, each in its savepoint, and the rows that still fail are set aside."""
        writer = self._raw_writer
        for sql, indexes in grouped_appends(batch.appends).items():
            if self._in_savepoint(writer.executemany, sql, [batch.appends[i][1] for i in indexes]) is None:
                continue
            for index in indexes:
                error = self._in_savepoint(writer.execute, sql, batch.appends[index][1])
                if error is not None:
                    log.error("appended row not written: %s", error)
                    batch.failed_appends[index] = error

    def _in_savepoint(self, call: Callable[..., object], *args: Any) -> Exception | None:
        """``call(*args)`` in the unit savepoint: None, or the error it was rolled back for."""
        self._raw_writer.execute(_BEGIN_UNIT)
        try:
            call(*args)
        except Exception as error:
            self._undo_unit()
            return error
        self._raw_writer.execute(_END_UNIT)
        return None

    async def _commit_batch(self, batch: Batch) -> None:
        async with self._lock:
            if self._batch is batch:  # a lost batch was replaced already
                self._batch = None
            failure = batch.lost
            if failure is None:
                try:
                    self._write_appends(batch)
                    await self._on_writer_thread("COMMIT", self._raw_writer.execute, "COMMIT")
                except Exception as error:  # the whole batch failed to commit: every unit learns it
                    log.error("commit failed: %s", error)
                    if self._raw_writer.in_transaction:
                        self._raw_writer.execute("ROLLBACK")
                    failure = StorageError(f"commit failed: {error}")
            if failure is not None:
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

