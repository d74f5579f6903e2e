"""storage.backups on real files: a backup is a consistent, private, whole copy; it goes back only
while nothing has the database open, the old WAL never outlives the file it belonged to, and an
unsound or newer backup is refused."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from storage.backups import DatabaseInUseError, backup_database, database_in_use, restore_database
from storage.db import Database, StorageError
from storage.migrate import load_migrations, migrate

NEWEST = load_migrations()[-1].version

# A node that commits and dies without closing: its last units live only in the WAL.
CRASH_AFTER_WRITING = """
import os, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA journal_mode=WAL")
for name in sys.argv[2:]:
    conn.execute("INSERT INTO local_actors (name, kind, created_at) VALUES (?, 'person', 'now')", (name,))
os._exit(0)
"""


async def made_with(path: Path, *names: str) -> None:
    db = await Database.open(path)
    try:
        await migrate(db)
        async with db.transaction() as conn:
            for name in names:
                await conn.execute(
                    "INSERT INTO local_actors (name, kind, created_at) VALUES (?, 'person', 'now')", (name,)
                )
    finally:
        await db.close()


async def open_db(path: Path) -> Database:
    db = await Database.open(path)
    await migrate(db)
    return db


async def insert_person(db: Database, name: str) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO local_actors (name, kind, created_at) VALUES (?, 'person', 'now')", (name,)
        )


def mode_of(path: Path) -> int:
    return path.stat().st_mode & 0o777


def names_in(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute("SELECT name FROM local_actors ORDER BY id")]
    finally:
        conn.close()


def crash_after_writing(path: Path, *names: str) -> None:
    subprocess.run([sys.executable, "-c", CRASH_AFTER_WRITING, str(path), *names], check=True)
    assert path.with_name(path.name + "-wal").stat().st_size > 0


async def test_the_old_wal_is_deleted_before_the_copy_goes_back(tmp_path: Path) -> None:
    live, backup = tmp_path / "node.sqlite3", tmp_path / "backup.sqlite3"
    await made_with(live, "ana")
    db = await Database.open(live)
    await backup_database(db, backup)
    await db.close()
    crash_after_writing(live, "after-the-backup")

    # Why: copied back beside the old WAL, the file takes on the old node's last writes.
    careless = tmp_path / "careless"
    careless.mkdir()
    for name in ("node.sqlite3-wal", "node.sqlite3-shm"):
        shutil.copyfile(tmp_path / name, careless / name)
    shutil.copyfile(backup, careless / "node.sqlite3")
    assert names_in(careless / "node.sqlite3") == ["ana", "after-the-backup"]

    restore_database(backup, live, NEWEST)
    assert not live.with_name("node.sqlite3-wal").exists() and not live.with_name("node.sqlite3-shm").exists()
    assert names_in(live) == ["ana"]
    assert live.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup.sqlite3", "careless", "node.sqlite3"]


async def test_nothing_is_restored_while_the_database_is_open(tmp_path: Path) -> None:
    live, backup = tmp_path / "node.sqlite3", tmp_path / "backup.sqlite3"
    await made_with(backup, "old")
    await made_with(live, "current")
    node = await Database.open(live)  # idle, as a node between requests
    try:
        assert database_in_use(live)
        with pytest.raises(DatabaseInUseError, match="is open in another process"):
            restore_database(backup, live, NEWEST)
    finally:
        await node.close()
    assert names_in(live) == ["current"]
    assert not database_in_use(live)
    restore_database(backup, live, NEWEST)
    assert names_in(live) == ["old"]


async def test_an_unsound_or_newer_backup_is_refused_and_the_database_kept(tmp_path: Path) -> None:
    live = tmp_path / "node.sqlite3"
    await made_with(live, "current")
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"not a database" * 1000)
    unusable = r"garbage\.sqlite3 is not a usable database: file is not a database"
    with pytest.raises(StorageError, match=unusable):
        restore_database(garbage, live, NEWEST)
    newer = tmp_path / "newer.sqlite3"
    await made_with(newer, "future")
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {NEWEST + 1}")
    conn.close()
    with pytest.raises(StorageError, match="newer than this release"):
        restore_database(newer, live, NEWEST)
    with pytest.raises(StorageError, match="no backup file at"):
        restore_database(tmp_path / "missing.sqlite3", live, NEWEST)
    assert names_in(live) == ["current"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["garbage.sqlite3", "newer.sqlite3", "node.sqlite3"]


async def test_backup_is_a_consistent_copy(tmp_path: Path) -> None:
    db = await open_db(tmp_path / "db.sqlite3")
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO local_actors (name, kind, created_at) VALUES ('a', 'person', 'now')")
    await backup_database(db, tmp_path / "copy" / "backup.sqlite3")
    await db.close()
    with sqlite3.connect(tmp_path / "copy" / "backup.sqlite3") as plain:
        assert plain.execute("SELECT name FROM local_actors").fetchall() == [("a",)]
        assert plain.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


async def test_a_backup_is_private_whole_and_never_the_database_itself(tmp_path: Path) -> None:
    db = await open_db(tmp_path / "db.sqlite3")
    try:
        await insert_person(db, "a")
        target = tmp_path / "backups" / "monday.sqlite3"
        await backup_database(db, target)
        assert mode_of(target) == 0o600 and mode_of(target.parent) == 0o700
        await insert_person(db, "b")
        await backup_database(db, target)  # replaces the older backup
        assert sorted(p.name for p in target.parent.iterdir()) == ["monday.sqlite3"]
        plain = sqlite3.connect(target)
        assert [r[0] for r in plain.execute("SELECT name FROM local_actors ORDER BY name")] == ["a", "b"]
        plain.close()
        with pytest.raises(StorageError, match="is the database itself"):
            await backup_database(db, tmp_path / "db.sqlite3")
        (tmp_path / "a-file").write_text("not a folder")
        with pytest.raises(StorageError, match=r"cannot write the backup .*: Not a directory"):
            await backup_database(db, tmp_path / "a-file" / "backup.sqlite3")
    finally:
        await db.close()
