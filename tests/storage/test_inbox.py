"""storage.inbox on a real database: incoming activities recorded once, forgotten when old."""

from __future__ import annotations

import asyncio
import sqlite3

from storage import inbox as inbox_repo
from storage.db import Database

ANA = "https://social.example/users/ana"
LIKE = "https://social.example/activities/1"
KEEP = {"max_bytes": 4096}


async def test_an_activity_is_recorded_once_and_a_duplicate_changes_nothing(db: Database) -> None:
    async with db.transaction() as conn:
        assert await inbox_repo.put_inbox_activity(conn, LIKE, ANA, "Like", '{"v":1}', 10.0, **KEEP)
        assert not await inbox_repo.put_inbox_activity(conn, LIKE, ANA, "Like", '{"v":2}', 20.0, **KEEP)
    assert await inbox_repo.get_inbox_activity_body(db.reader, LIKE) == '{"v":1}'
    assert await inbox_repo.count_inbox_activities(db.reader, LIKE) == 1
    assert await inbox_repo.count_inbox_activities(db.reader, "https://s.example/a/2") == 0
    assert await inbox_repo.get_inbox_activity_body(db.reader, "https://s.example/a/2") is None


async def test_appended_activities_are_durable_on_return_and_never_replace_a_recorded_one(
    db: Database,
) -> None:
    async with db.transaction() as conn:
        await inbox_repo.put_inbox_activity(conn, "id-0", ANA, "Note", "first", 1.0, **KEEP)
    await asyncio.gather(
        *(inbox_repo.append_inbox_activity(db, f"id-{i % 3}", ANA, "Note", f"{i}", 2.0, **KEEP)
          for i in range(9))
    )
    # Read through a connection of its own: what append returned on is on disk.
    with sqlite3.connect(db.path) as plain:
        rows = dict(plain.execute("SELECT id, body FROM inbox_activities ORDER BY id").fetchall())
    assert set(rows) == {"id-0", "id-1", "id-2"} and rows["id-0"] == "first"


async def test_activities_received_before_the_cutoff_are_forgotten(db: Database) -> None:
    async with db.transaction() as conn:
        for i, received in enumerate([5.0, 9.9, 10.0, 11.0]):
            await inbox_repo.put_inbox_activity(conn, f"id-{i}", ANA, "Note", "{}", received, **KEEP)
        assert await inbox_repo.delete_inbox_activities_before(conn, 10.0) == 2
        assert await inbox_repo.delete_inbox_activities_before(conn, 10.0) == 0
    kept = [i for i in range(4) if await inbox_repo.count_inbox_activities(db.reader, f"id-{i}")]
    assert kept == [2, 3]  # the cutoff itself is kept
    # Once forgotten, the same id is new again.
    async with db.transaction() as conn:
        assert await inbox_repo.put_inbox_activity(conn, "id-0", ANA, "Note", "{}", 12.0, **KEEP)


async def test_a_record_keeps_at_most_max_bytes_of_the_body(db: Database) -> None:
    long = '{"content": "' + "é" * 5000 + '"}'
    async with db.transaction() as conn:
        await inbox_repo.put_inbox_activity(conn, "id-long", ANA, "Note", long, 1.0, max_bytes=100)
        await inbox_repo.put_inbox_activity(conn, "id-short", ANA, "Note", '{"v":1}', 1.0, max_bytes=100)
    await inbox_repo.append_inbox_activity(db, "id-appended", ANA, "Note", long, 1.0, max_bytes=100)
    for activity_id in ("id-long", "id-appended"):
        kept = await inbox_repo.get_inbox_activity_body(db.reader, activity_id)
        assert kept is not None and long.startswith(kept) and 99 <= len(kept.encode()) <= 100
    assert await inbox_repo.get_inbox_activity_body(db.reader, "id-short") == '{"v":1}'
