"""Follow relations: remote actors following local actors, local people following remote ones."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Connection, fetchall, fetchone


@dataclass(frozen=True, slots=True)
class Follower:
    actor_id: int
    follower: str
    follow_id: str
    inbox: str
    shared_inbox: str | None


@dataclass(frozen=True, slots=True)
class Following:
    actor_id: int
    target: str
    follow_id: str
    state: str


async def put_follower(conn: Connection, follower: Follower, created_at: str) -> None:
    """Record (or refresh, with the newest Follow id) a follower of a local actor."""
    await conn.execute(
        "INSERT INTO followers (actor_id, follower, follow_id, inbox, shared_inbox, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (actor_id, follower) DO UPDATE SET"
        " follow_id = excluded.follow_id, inbox = excluded.inbox,"
        " shared_inbox = excluded.shared_inbox",
        (
            follower.actor_id,
            follower.follower,
            follower.follow_id,
            follower.inbox,
            follower.shared_inbox,
            created_at,
        ),
    )


async def delete_follower(conn: Connection, actor_id: int, follower: str) -> bool:
    """Remove a follower; True if there was one."""
    cursor = await conn.execute(
        "DELETE FROM followers WHERE actor_id = ? AND follower = ?", (actor_id, follower)
    )
    return cursor.rowcount > 0


async def delete_follows_of(conn: Connection, remote_actor: str) -> None:
    """Remove every follow of a remote actor (its account was deleted)."""
    await conn.execute("DELETE FROM followers WHERE follower = ?", (remote_actor,))


async def list_followers(conn: Connection, actor_id: int) -> list[Follower]:
    """Every follower of a local actor."""
    rows = await fetchall(
        conn,
        "SELECT actor_id, follower, follow_id, inbox, shared_inbox FROM followers"
        " WHERE actor_id = ? ORDER BY created_at, follower",
        (actor_id,),
    )
    return [Follower(*row) for row in rows]


async def list_follower_page(conn: Connection, actor_id: int, offset: int, limit: int) -> list[str]:
    """One page of a local actor's follower IRIs, oldest first."""
    rows = await fetchall(
        conn,
        "SELECT follower FROM followers WHERE actor_id = ? ORDER BY created_at, follower LIMIT ? OFFSET ?",
        (actor_id, limit, offset),
    )
    return [row[0] for row in rows]


async def count_followers(conn: Connection, actor_id: int) -> int:
    """How many actors follow a local actor."""
    row = await fetchone(conn, "SELECT COUNT(*) FROM followers WHERE actor_id = ?", (actor_id,))
    return int(row[0]) if row else 0


async def put_following(conn: Connection, following: Following, created_at: str) -> None:
    """Record that a local actor asked to follow ``target`` (pending until its Accept)."""
    await conn.execute(
        "INSERT INTO following (actor_id, target, follow_id, state, created_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (actor_id, target) DO UPDATE SET"
        " follow_id = excluded.follow_id, state = excluded.state",
        (following.actor_id, following.target, following.follow_id, following.state, created_at),
    )


async def get_following(conn: Connection, actor_id: int, target: str) -> Following | None:
    """A local actor's follow of ``target``, if any."""
    row = await fetchone(
        conn,
        "SELECT actor_id, target, follow_id, state FROM following WHERE actor_id = ? AND target = ?",
        (actor_id, target),
    )
    return Following(*row) if row else None


async def get_following_by_follow_id(conn: Connection, follow_id: str) -> Following | None:
    """The local follow whose Follow activity has id ``follow_id``."""
    row = await fetchone(
        conn,
        "SELECT actor_id, target, follow_id, state FROM following WHERE follow_id = ?",
        (follow_id,),
    )
    return Following(*row) if row else None


async def accept_following(conn: Connection, follow_id: str) -> None:
    """Mark a pending follow as accepted by its target."""
    await conn.execute("UPDATE following SET state = 'accepted' WHERE follow_id = ?", (follow_id,))


async def delete_following(conn: Connection, actor_id: int, target: str) -> None:
    """Forget a local actor's follow of ``target``."""
    await conn.execute("DELETE FROM following WHERE actor_id = ? AND target = ?", (actor_id, target))


async def count_following(conn: Connection, actor_id: int) -> int:
    """How many remote actors a local actor follows (accepted)."""
    row = await fetchone(
        conn, "SELECT COUNT(*) FROM following WHERE actor_id = ? AND state = 'accepted'", (actor_id,)
    )
    return int(row[0]) if row else 0
