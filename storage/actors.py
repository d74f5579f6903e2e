"""Local actors (groups, people, the instance actor) and their private keys."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from storage.db import Connection, Row, fetchall, fetchone


@dataclass(frozen=True, slots=True)
class LocalActor:
    id: int
    name: str
    kind: str  # assembly | council | person | instance
    title: str
    summary: str
    settings: dict[str, Any]
    created_at: str


@dataclass(frozen=True, slots=True)
class ActorKey:
    actor_id: int
    kind: str  # rsa | ed25519
    private_pem: str
    public_pem: str


_COLUMNS = "id, name, kind, title, summary, settings, created_at"


def _actor(row: Row | None) -> LocalActor | None:
    if row is None:
        return None
    return LocalActor(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]), row[6])


async def put_actor(
    conn: Connection,
    name: str,
    kind: str,
    title: str,
    created_at: str,
    settings: dict[str, Any] | None = None,
    password_hash: str | None = None,
) -> int:
    """Insert a local actor; raises sqlite3.IntegrityError if the name is taken."""
    cursor = await conn.execute(
        "INSERT INTO local_actors (name, kind, title, settings, password_hash, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (name, kind, title, json.dumps(settings or {}), password_hash, created_at),
    )
    return int(cursor.lastrowid or 0)


async def get_actor_by_name(conn: Connection, name: str) -> LocalActor | None:
    """The local actor called ``name``, if any."""
    return _actor(await fetchone(conn, f"SELECT {_COLUMNS} FROM local_actors WHERE name = ?", (name,)))


async def get_actor_by_id(conn: Connection, actor_id: int) -> LocalActor | None:
    """The local actor with row id ``actor_id``, if any."""
    return _actor(await fetchone(conn, f"SELECT {_COLUMNS} FROM local_actors WHERE id = ?", (actor_id,)))


async def get_instance_actor(conn: Connection) -> LocalActor | None:
    """The node's own instance actor, once created."""
    return _actor(await fetchone(conn, f"SELECT {_COLUMNS} FROM local_actors WHERE kind = 'instance'"))


async def put_actor_settings(conn: Connection, actor_id: int, settings: dict[str, Any]) -> None:
    """Replace an actor's settings."""
    await conn.execute("UPDATE local_actors SET settings = ? WHERE id = ?", (json.dumps(settings), actor_id))


async def count_actors_by_kind(conn: Connection) -> dict[str, int]:
    """How many local actors of each kind exist."""
    rows = await fetchall(conn, "SELECT kind, COUNT(*) FROM local_actors GROUP BY kind")
    return {row[0]: int(row[1]) for row in rows}


async def get_key(conn: Connection, actor_id: int, kind: str) -> ActorKey | None:
    """An actor's key of ``kind`` (rsa or ed25519), if made."""
    row = await fetchone(
        conn,
        "SELECT actor_id, kind, private_pem, public_pem FROM actor_keys WHERE actor_id = ? AND kind = ?",
        (actor_id, kind),
    )
    return ActorKey(row[0], row[1], row[2], row[3]) if row else None


async def put_key_if_absent(
    conn: Connection,
    actor_id: int,
    kind: str,
    private_pem: str,
    public_pem: str,
    created_at: str,
) -> None:
    """Store a key unless the actor has one of that kind already (first writer wins)."""
    await conn.execute(
        "INSERT OR IGNORE INTO actor_keys (actor_id, kind, private_pem, public_pem, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (actor_id, kind, private_pem, public_pem, created_at),
    )
