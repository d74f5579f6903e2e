"""Incoming activities: deduplicated by id, kept at least seven days.

The record is for deduplication: the body is kept only up to ``max_bytes`` (cut between
characters), whatever the sender sent. What an activity changes is kept in its own tables.
"""

from __future__ import annotations

from storage.db import Connection, Database, fetchone
from storage.truncate import cut_text


async def put_inbox_activity(
    conn: Connection, activity_id: str, actor: str, type_: str, body: str, now: float, *, max_bytes: int
) -> bool:
    """Record an activity; False if its id was seen before (a duplicate: do nothing more)."""
    cursor = await conn.execute(
        "INSERT OR IGNORE INTO inbox_activities (id, actor, type, body, received_at) VALUES (?, ?, ?, ?, ?)",
        (activity_id, actor, type_, cut_text(body, max_bytes), now),
    )
    return cursor.rowcount > 0


INSERT_IGNORING_DUPLICATES = (
    "INSERT OR IGNORE INTO inbox_activities (id, actor, type, body, received_at) VALUES (?, ?, ?, ?, ?)"
)


async def append_inbox_activity(
    db: Database, activity_id: str, actor: str, type_: str, body: str, now: float, *, max_bytes: int
) -> None:
    """Record an activity that has no effect, with the next group commit (a duplicate is ignored)."""
    await db.append(INSERT_IGNORING_DUPLICATES, (activity_id, actor, type_, cut_text(body, max_bytes), now))


async def get_inbox_activity_body(conn: Connection, activity_id: str) -> str | None:
    """The body of a recorded incoming activity."""
    row = await fetchone(conn, "SELECT body FROM inbox_activities WHERE id = ?", (activity_id,))
    return row[0] if row else None


async def count_inbox_activities(conn: Connection, activity_id: str) -> int:
    """How many records an activity id has (0 or 1: the dedupe invariant)."""
    row = await fetchone(conn, "SELECT COUNT(*) FROM inbox_activities WHERE id = ?", (activity_id,))
    return int(row[0]) if row else 0


async def delete_inbox_activities_before(conn: Connection, cutoff: float) -> int:
    """Forget activities received before ``cutoff`` (senders stopped retrying long ago)."""
    cursor = await conn.execute("DELETE FROM inbox_activities WHERE received_at < ?", (cutoff,))
    return cursor.rowcount
