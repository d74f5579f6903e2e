"""Incoming activities: deduplicated by (id, actor), kept at least seven days.

The key includes the actor so that an id is spent only for the actor who sent it: whoever sends
another actor's id first cannot make that actor's activity a duplicate. Activities refused for
their ids are recorded too, with the reason in ``refusal`` (and had no effect). The record is for
deduplication: the body is kept only up to ``max_bytes`` (cut between characters), whatever the
sender sent. What an activity changes is kept in its own tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Connection, Database, fetchall, fetchone
from storage.truncate import cut_text


@dataclass(frozen=True, slots=True)
class InboxRecord:
    actor: str
    type: str
    refusal: str | None  # None: accepted (handled, or without effect here)
    received_at: float


INSERT_IGNORING_DUPLICATES = (
    "INSERT OR IGNORE INTO inbox_activities (id, actor, type, body, received_at, refusal)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)


async def put_inbox_activity(
    conn: Connection, activity_id: str, actor: str, type_: str, body: str, now: float, *, max_bytes: int
) -> bool:
    """Record an activity; False if this actor sent this id before (a duplicate: do nothing more)."""
    cursor = await conn.execute(
        INSERT_IGNORING_DUPLICATES, (activity_id, actor, type_, cut_text(body, max_bytes), now, None)
    )
    return cursor.rowcount > 0


async def append_inbox_activity(
    db: Database, activity_id: str, actor: str, type_: str, body: str, now: float, *, max_bytes: int,
    refusal: str | None = None,
) -> None:
    """Record an activity that has no effect, with the next group commit (a duplicate is ignored);
    ``refusal`` says why it was refused, if it was."""
    await db.append(
        INSERT_IGNORING_DUPLICATES, (activity_id, actor, type_, cut_text(body, max_bytes), now, refusal)
    )


async def get_inbox_activity_body(conn: Connection, activity_id: str) -> str | None:
    """The body of the first recorded incoming activity with this id."""
    row = await fetchone(
        conn, "SELECT body FROM inbox_activities WHERE id = ? ORDER BY received_at LIMIT 1", (activity_id,)
    )
    return row[0] if row else None


async def count_inbox_activities(conn: Connection, activity_id: str) -> int:
    """How many records an activity id has: at most one per actor (the dedupe invariant)."""
    row = await fetchone(conn, "SELECT COUNT(*) FROM inbox_activities WHERE id = ?", (activity_id,))
    return int(row[0]) if row else 0


async def list_inbox_records(conn: Connection, activity_id: str) -> list[InboxRecord]:
    """Every record of an activity id (one per actor who sent it), oldest first."""
    rows = await fetchall(
        conn,
        "SELECT actor, type, refusal, received_at FROM inbox_activities WHERE id = ?"
        " ORDER BY received_at, actor",
        (activity_id,),
    )
    return [InboxRecord(r[0], r[1], r[2], r[3]) for r in rows]


async def delete_inbox_activities_before(conn: Connection, cutoff: float) -> int:
    """Forget activities received before ``cutoff`` (senders stopped retrying long ago)."""
    cursor = await conn.execute("DELETE FROM inbox_activities WHERE received_at < ?", (cutoff,))
    return cursor.rowcount
