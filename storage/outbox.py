"""What local actors publish: activities, the objects they carry, and their deliveries."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from storage.db import Connection, Row, fetchall, fetchone


@dataclass(frozen=True, slots=True)
class OutboxActivity:
    seq: int
    id: str
    actor_id: int
    type: str
    body: dict[str, Any]
    published_at: str


async def put_activity(
    conn: Connection,
    activity: dict[str, Any],
    actor_id: int,
    public: bool,
    published_at: str,
    body: str | None = None,
) -> None:
    """Store an activity a local actor publishes (served at its id, listed in its outbox);
    ``body`` is its JSON when the caller has it already."""
    await conn.execute(
        "INSERT INTO outbox_activities (id, actor_id, type, public, body, published_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (activity["id"], actor_id, activity["type"], int(public), body or json.dumps(activity), published_at),
    )


async def get_activity(conn: Connection, activity_id: str) -> OutboxActivity | None:
    """A published activity by id."""
    row = await fetchone(
        conn,
        "SELECT seq, id, actor_id, type, body, published_at FROM outbox_activities WHERE id = ?",
        (activity_id,),
    )
    return _activity(row)


def _activity(row: Row | None) -> OutboxActivity | None:
    if row is None:
        return None
    return OutboxActivity(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5])


async def list_public_activities(
    conn: Connection, actor_id: int, offset: int, limit: int
) -> list[OutboxActivity]:
    """One page of an actor's public activities, newest first."""
    rows = await fetchall(
        conn,
        "SELECT seq, id, actor_id, type, body, published_at FROM outbox_activities"
        " WHERE actor_id = ? AND public = 1 ORDER BY seq DESC LIMIT ? OFFSET ?",
        (actor_id, limit, offset),
    )
    return [a for a in map(_activity, rows) if a is not None]


async def count_public_activities(conn: Connection, actor_id: int) -> int:
    """How many public activities an actor published."""
    row = await fetchone(
        conn, "SELECT COUNT(*) FROM outbox_activities WHERE actor_id = ? AND public = 1", (actor_id,)
    )
    return int(row[0]) if row else 0


async def count_all_public_activities(conn: Connection) -> int:
    """How many public activities the node published (NodeInfo's localPosts)."""
    row = await fetchone(conn, "SELECT COUNT(*) FROM outbox_activities WHERE public = 1")
    return int(row[0]) if row else 0


async def count_activities_of_type(conn: Connection, actor_id: int, type_: str) -> int:
    """How many activities of one type an actor published."""
    row = await fetchone(
        conn, "SELECT COUNT(*) FROM outbox_activities WHERE actor_id = ? AND type = ?", (actor_id, type_)
    )
    return int(row[0]) if row else 0


async def put_object(conn: Connection, obj: dict[str, Any], actor_id: int, created_at: str) -> None:
    """Store an object a local actor created, served at its id."""
    await conn.execute(
        "INSERT INTO objects (id, actor_id, type, body, created_at) VALUES (?, ?, ?, ?, ?)",
        (obj["id"], actor_id, obj["type"], json.dumps(obj), created_at),
    )


async def get_object(conn: Connection, object_id: str) -> dict[str, Any] | None:
    """A stored local object by id."""
    row = await fetchone(conn, "SELECT body FROM objects WHERE id = ?", (object_id,))
    return json.loads(row[0]) if row else None


async def put_deliveries(
    conn: Connection,
    activity_id: str,
    sender_id: int,
    targets: Iterable[tuple[str, str]],
    now: float,
) -> int:
    """Queue one delivery per (inbox, host), due now; in the caller's transaction."""
    rows = [(activity_id, sender_id, inbox, host, now, now) for inbox, host in targets]
    await conn.executemany(
        "INSERT INTO deliveries (activity_id, sender_id, inbox, host, next_attempt_at, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )
    return len(rows)
