"""Backups: a consistent copy made while the node runs, and put back only while nothing has the
database open, never beside an old WAL.

A backup is one step of SQLite's backup API, under one read transaction: it holds exactly the
units committed before it began. It is written beside its target (0600) and renamed over it only
when whole, so a failed backup never leaves half a file there.

A WAL file belongs to the database file it sits beside. Left next to a restored copy, SQLite
would replay the old node's last writes onto pages of another database, so the old ``-wal`` and
``-shm`` files are deleted before the copy takes the database's place. The copy is checked
first, beside the database (so the final rename is atomic), and replaces it only when sound.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import aiosqlite

from storage.busy import is_busy
from storage.db import Database
from storage.errors import StorageError, reason_of
from storage.files import create_private_file, ensure_private_folder, remove_quietly


class DatabaseInUseError(StorageError):
    """Another process (a running node, a CLI command) has the database open."""


async def backup_database(db: Database, target: Path) -> None:
    """Copy the database ``db`` to ``target``, safely while the node writes to it."""
    if target.exists() and os.path.samefile(target, db.path):
        raise StorageError(f"{target} is the database itself")
    partial = target.with_name(f"{target.name}.partial")
    try:
        ensure_private_folder(target.parent)
        remove_quietly(partial)
        create_private_file(partial)
        async with aiosqlite.connect(partial) as copy:
            await db.reader.backup(copy)
        os.replace(partial, target)
    except (sqlite3.Error, OSError) as error:
        remove_quietly(partial)
        raise StorageError(f"cannot write the backup {target}: {reason_of(error)}") from error


def database_in_use(path: Path) -> bool:
    """Whether another connection has the database at ``path`` open, even idle.

    Every connection to a WAL database holds a shared lock for as long as it is open; a
    connection in exclusive locking mode cannot begin while any other exists.
    """
    conn = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        try:
            conn.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError as error:
            if is_busy(error):
                return True
            raise
        conn.execute("ROLLBACK")
        return False
    finally:
        conn.close()


def check_backup(path: Path, newest_version: int, shown: Path | None = None) -> int:
    """The schema version of a sound database file at ``path`` (named ``shown``); StorageError otherwise."""
    name = shown or path
    try:
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error as error:
        raise StorageError(f"{name} is not a usable database: {error}") from error
    if verdict != "ok":
        raise StorageError(f"{name} fails its integrity check: {verdict}")
    if version > newest_version:
        raise StorageError(f"{name} has schema {version}, newer than this release ({newest_version})")
    return version


def restore_database(backup: Path, path: Path, newest_version: int) -> None:
    """Make the database at ``path`` a copy of ``backup``; DatabaseInUseError while it is open."""
    if not backup.is_file():
        raise StorageError(f"no backup file at {os.path.abspath(backup)}")
    try:
        if path.exists() and database_in_use(path):
            raise DatabaseInUseError(
                f"{os.path.abspath(path)} is open in another process (a running node?): stop it first"
            )
        ensure_private_folder(path.parent)
        incoming = path.with_name(f"{path.name}.restoring")
        remove_quietly(incoming)
        create_private_file(incoming)
        try:
            with backup.open("rb") as source, incoming.open("wb") as copy:
                shutil.copyfileobj(source, copy)
                copy.flush()
                os.fsync(copy.fileno())
            check_backup(incoming, newest_version, shown=backup)
            for suffix in ("-wal", "-shm"):
                remove_quietly(path.with_name(path.name + suffix))
            os.replace(incoming, path)
        finally:
            for leftover in ("", "-wal", "-shm"):
                remove_quietly(incoming.with_name(incoming.name + leftover))
    except (OSError, sqlite3.Error) as error:
        raise StorageError(f"cannot restore {os.path.abspath(path)}: {reason_of(error)}") from error
