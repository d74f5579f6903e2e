"""Taking the write lock while another process may hold it (a CLI command beside the node, a close).

SQLite's own busy wait cannot be interrupted: a command waiting ten seconds for the lock would
ignore Ctrl-C for all of them. So each attempt waits only ``BUSY_SLICE_MS`` inside SQLite and is
retried until the busy timeout; between attempts a cancellation is noticed at once.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from concurrent.futures import Executor
from typing import Any

from storage.errors import DatabaseLockedError, StorageError

BUSY_SLICE_MS = 100


def is_busy(error: sqlite3.Error) -> bool:
    """Whether SQLite refused because another connection holds a lock."""
    return getattr(error, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _ignore_outcome(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # retrieved: a failed attempt nobody waits for is not an error


def _rollback_if_open(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


async def begin_immediate(conn: sqlite3.Connection, thread: Executor, timeout: float, name: str) -> None:
    """``BEGIN IMMEDIATE`` on ``conn``, run on ``thread``; past ``timeout`` s, DatabaseLockedError."""
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + timeout
    while True:
        attempt = loop.run_in_executor(thread, conn.execute, "BEGIN IMMEDIATE")
        try:
            await asyncio.shield(attempt)
            return
        except asyncio.CancelledError:
            # The attempt still runs on the thread; a BEGIN that succeeds after all must be
            # undone there, next in line, or the connection's next BEGIN would fail.
            attempt.add_done_callback(_ignore_outcome)
            loop.run_in_executor(thread, _rollback_if_open, conn)
            raise
        except sqlite3.Error as error:
            if not is_busy(error):
                raise StorageError(f"BEGIN IMMEDIATE failed: {error}") from error
            if time.monotonic() >= deadline:
                raise DatabaseLockedError(
                    f"the database {name} is locked by another process; gave up after {timeout:g} s"
                ) from error
