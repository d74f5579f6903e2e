"""SQLite connections: the PRAGMAs every connection gets, the writer's inline connection, and the
one-round-trip query helpers the repositories use on either connection."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

Row = sqlite3.Row

_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    # CLI commands write to the same file while the node runs: wait for the lock, don't fail.
    "PRAGMA busy_timeout=10000",
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


async def configure_reader(conn: aiosqlite.Connection) -> None:
    """The PRAGMAs and row factory on the reader connection."""
    conn.row_factory = Row
    for pragma in _PRAGMAS:
        await conn.execute(pragma)


def connect_writer(path: Path) -> sqlite3.Connection:
    """The writer connection, in autocommit mode: ``storage.db`` issues BEGIN and COMMIT itself."""
    # Used inline on the loop and, for BEGIN/COMMIT, on the writer's thread: never concurrently,
    # since both happen under the writer lock.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = Row
    for pragma in _PRAGMAS:
        conn.execute(pragma)
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
