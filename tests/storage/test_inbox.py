"""storage.inbox on a real database: incoming activities recorded once, forgotten when old."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from storage import inbox as inbox_repo
from storage.db import Database
from storage.migrate import load_migrations, migrate

ANA = "https://social.example/users/ana"
LIKE = "https://social.example/activities/1"
CAP = 4096  # max_bytes of every record here


async def test_an_activity_is_recorded_once_and_a_duplicate_changes_nothing(db: Database) -> None:
    async with db.transaction() as conn:
        assert await inbox_repo.put_inbox_activity(conn, LIKE, ANA, "Like", '{"v":1}', 10.0, max_bytes=CAP)
        again = await inbox_repo.put_inbox_activity(conn, LIKE, ANA, "Like", '{"v":2}', 20.0, max_bytes=CAP)
        assert not again
    assert await inbox_repo.get_inbox_activity_body(db.reader, LIKE) == '{"v":1}'
    assert await inbox_repo.count_inbox_activities(db.reader, LIKE) == 1
    assert await inbox_repo.count_inbox_activities(db.reader, "https://s.example/a/2") == 0
    assert await inbox_repo.get_inbox_activity_body(db.reader, "https://s.example/a/2") is None


async def test_appended_activities_are_durable_on_return_and_never_replace_a_recorded_one(
    db: Database,
) -> None:
    async with db.transaction() as conn:
        await inbox_repo.put_inbox_activity(conn, "id-0", ANA, "Note", "first", 1.0, max_bytes=CAP)
    await asyncio.gather(
        *(inbox_repo.append_inbox_activity(db, f"id-{i % 3}", ANA, "Note", f"{i}", 2.0, max_bytes=CAP)
          for i in range(9))
    )
    # Read through a connection of its own: what append returned on is on disk.
    with sqlite3.connect(db.path) as plain:
        rows = dict(plain.execute("SELECT id, body FROM inbox_activities ORDER BY id").fetchall())
    assert set(rows) == {"id-0", "id-1", "id-2"} and rows["id-0"] == "first"


async def test_activities_received_before_the_cutoff_are_forgotten(db: Database) -> None:
    async with db.transaction() as conn:
        for i, received in enumerate([5.0, 9.9, 10.0, 11.0]):
            await inbox_repo.put_inbox_activity(conn, f"id-{i}", ANA, "Note", "{}", received, max_bytes=CAP)
        assert await inbox_repo.delete_inbox_activities_before(conn, 10.0) == 2
        assert await inbox_repo.delete_inbox_activities_before(conn, 10.0) == 0
    kept = [i for i in range(4) if await inbox_repo.count_inbox_activities(db.reader, f"id-{i}")]
    assert kept == [2, 3]  # the cutoff itself is kept
    # Once forgotten, the same id is new again.
    async with db.transaction() as conn:
        assert await inbox_repo.put_inbox_activity(conn, "id-0", ANA, "Note", "{}", 12.0, max_bytes=CAP)


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


async def test_an_id_is_spent_per_actor_and_a_refusal_is_kept_with_its_reason(db: Database) -> None:
    mallory = "https://evil.example/users/mallory"
    vote = f"{ANA}#votes/1/activity"
    await inbox_repo.append_inbox_activity(
        db, vote, mallory, "Create", "{}", 1.0, refusal="not her origin", max_bytes=CAP
    )
    async with db.transaction() as conn:
        # Mallory sent Ana's id first: Ana's own activity is still new.
        assert await inbox_repo.put_inbox_activity(conn, vote, ANA, "Create", "{}", 2.0, max_bytes=CAP)
        assert not await inbox_repo.put_inbox_activity(conn, vote, ANA, "Create", "{}", 3.0, max_bytes=CAP)
    await inbox_repo.append_inbox_activity(
        db, vote, mallory, "Create", "{}", 4.0, refusal="again", max_bytes=CAP
    )
    assert await inbox_repo.list_inbox_records(db.reader, vote) == [
        inbox_repo.InboxRecord(mallory, "Create", "not her origin", 1.0),
        inbox_repo.InboxRecord(ANA, "Create", None, 2.0),
    ]
    assert await inbox_repo.count_inbox_activities(db.reader, vote) == 2


async def test_migration_0004_keeps_recorded_activities(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "old.sqlite3")
    try:
        await migrate(db, load_migrations()[:3])
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO inbox_activities (id, actor, type, body, received_at) VALUES (?, ?, ?, ?, ?)",
                (LIKE, ANA, "Like", "{}", 5.0),
            )
        assert await migrate(db) >= 4
        assert await inbox_repo.list_inbox_records(db.reader, LIKE) == [
            inbox_repo.InboxRecord(ANA, "Like", None, 5.0)
        ]
        async with db.transaction() as conn:  # still a duplicate for its actor after the upgrade
            assert not await inbox_repo.put_inbox_activity(conn, LIKE, ANA, "Like", "{}", 6.0, max_bytes=CAP)
        assert await db.integrity_check() == "ok"
    finally:
        await db.close()
