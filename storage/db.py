"""The SQLite connection: PRAGMAs, a group-committing writer, and readers.

Theory of operation. SQLite commits durably (WAL, ``synchronous=FULL``) at about a thousand
fsyncs a second, far below what the inbox must acknowledge. So every write is a *unit*: a
coroutine body run inside its own ``SAVEPOINT`` on the single writer connection. Units queue on
one FIFO lock; the first unit of a batch opens ``BEGIN IMMEDIATE`` and schedules a commit task,
which queues on the same lock behind every unit already waiting. When the commit task gets the
lock it commits them all with one fsync and wakes them. A unit that raises rolls back only its
own savepoint; the others still commit. A unit returns only after its commit is durable, so a
2xx answered after ``async with db.transaction()`` acknowledges durable data.

Reads use a separate connection (WAL lets it read while the writer writes), so readers never
wait for a batch.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger("storage.db")

Row = aiosqlite.Row


class StorageError(Exception):
    """A storage operation failed."""


async def _configure(conn: aiosqlite.Connection) -> None:
    conn.row_factory = aiosqlite.Row
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.execute("PRAGMA synchronous=FULL")
    await conn.execute("PRAGMA foreign_keys=ON")
    # CLI commands write to the same file while the node runs: wait for the lock, don't fail.
    await conn.execute("PRAGMA busy_timeout=10000")


class Database:
    """One SQLite file: a group-committing writer connection and a reader connection."""

    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection):
        self.path = path
        self._writer = writer
        self._reader = reader
        self._lock = asyncio.Lock()
        self._batch: asyncio.Future[None] | None = None
        self._savepoint = 0

    @classmethod
    async def open(cls, path: Path | str) -> Database:
        """Open (creating its folder) and configure the database file at ``path``."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = await aiosqlite.connect(path, isolation_level=None)
        await _configure(writer)
        reader = await aiosqlite.connect(path, isolation_level=None)
        await _configure(reader)
        return cls(path, writer, reader)

    async def close(self) -> None:
        """Wait for the batch in flight, then close both connections."""
        async with self._lock:
            pass
        if self._batch is not None:
            await asyncio.shield(self._batch)
        await self._writer.close()
        await self._reader.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run the body as one atomic unit; return only once it is durably committed."""
        async with self._lock:
            if self._batch is None:
                await self._writer.execute("BEGIN IMMEDIATE")
                self._batch = asyncio.get_running_loop().create_future()
                asyncio.get_running_loop().create_task(self._commit_batch(self._batch))
            batch = self._batch
            self._savepoint += 1
            name = f"u{self._savepoint}"
            await self._writer.execute(f"SAVEPOINT {name}")
            try:
                yield self._writer
            except BaseException:
                await self._writer.execute(f"ROLLBACK TO {name}")
                await self._writer.execute(f"RELEASE {name}")
                raise
            await self._writer.execute(f"RELEASE {name}")
        await asyncio.shield(batch)

    async def _commit_batch(self, batch: asyncio.Future[None]) -> None:
        async with self._lock:
            self._batch = None
            try:
                await self._writer.execute("COMMIT")
            except Exception as error:  # the whole batch failed to commit: every unit learns it
                log.error("commit failed: %s", error)
                await self._writer.execute("ROLLBACK")
                batch.set_exception(StorageError(f"commit failed: {error}"))
                batch.exception()  # mark retrieved even if no unit is left waiting
            else:
                batch.set_result(None)

    @property
    def reader(self) -> aiosqlite.Connection:
        """The read connection: committed data only; pass it to repository functions."""
        return self._reader

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        """One row of a read query (reader connection, committed data only)."""
        async with self._reader.execute(sql, tuple(params)) as cursor:
            return await cursor.fetchone()

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        """All rows of a read query (reader connection, committed data only)."""
        async with self._reader.execute(sql, tuple(params)) as cursor:
            return list(await cursor.fetchall())

    async def backup(self, target: Path | str) -> None:
        """A consistent copy of the database, safe while the node runs."""
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        async with aiosqlite.connect(target) as dest:
            await self._reader.backup(dest)

    async def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` verdict ('ok' when sound)."""
        row = await self.fetchone("PRAGMA integrity_check")
        return str(row[0]) if row else "no answer"


async def fetchone(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> Row | None:
    """One row of a query on a connection (inside a transaction: sees its own writes)."""
    async with conn.execute(sql, tuple(params)) as cursor:
        return await cursor.fetchone()


async def fetchall(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> list[Row]:
    """All rows of a query on a connection (inside a transaction: sees its own writes)."""
    async with conn.execute(sql, tuple(params)) as cursor:
        return list(await cursor.fetchall())
