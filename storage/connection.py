"""SQLite connections: the PRAGMAs every connection gets, the writer's inline connection, and the
one-round-trip query helpers the repositories use on either connection."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from storage.busy import BUSY_SLICE_MS

Row = sqlite3.Row

_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
)


class WriterConnection:
    """The writer's connection inside a unit: the reader's async interface, run inline.

    Repositories take either connection; with this one their statements execute at once on the
    loop (see the theory of operation in ``storage.db``) and the ``await`` costs nothing.
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


async def connect_reader(path: Path, busy_timeout_ms: int) -> aiosqlite.Connection:
    """The reader connection; CLI commands write beside the node, so it waits for their locks."""
    reader = await aiosqlite.connect(path, isolation_level=None)
    try:
        reader.row_factory = Row
        for pragma in (*_PRAGMAS, f"PRAGMA busy_timeout={busy_timeout_ms}"):
            await reader.execute(pragma)
    except BaseException:
        await reader.close()
        raise
    return reader


def connect_writer(path: Path) -> sqlite3.Connection:
    """The writer connection, in autocommit mode: ``storage.db`` issues BEGIN and COMMIT itself.

    It waits for a lock only a slice at a time (``storage.busy``), so a waiting command can be
    interrupted.
    """
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


# One round trip to the connection's thread per query (execute + fetch + close would be three):
# thread hand-offs, not SQLite, dominate the cost of small queries.


async def fetchone(conn: Connection, sql: str, params: Iterable[Any] = ()) -> Row | None:
    """One row of a query on a connection (inside a transaction: sees its own writes)."""
    rows = await conn.execute_fetchall(sql, tuple(params))
    return next(iter(rows), None)


async def fetchall(conn: Connection, sql: str, params: Iterable[Any] = ()) -> list[Row]:
    """All rows of a query on a connection (inside a transaction: sees its own writes)."""
    return list(await conn.execute_fetchall(sql, tuple(params)))
