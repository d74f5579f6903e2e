"""Remote actors and their public keys, as fetched from their origin."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from storage.db import Connection, fetchall, fetchone


@dataclass(frozen=True, slots=True)
class RemoteActor:
    id: str
    host: str
    type: str
    preferred_username: str | None
    inbox: str
    shared_inbox: str | None
    document: dict[str, Any]
    fetched_at: float

    @property
    def handle(self) -> str:
        """``@user@host`` when the actor has a username, else its IRI."""
        return f"@{self.preferred_username}@{self.host}" if self.preferred_username else self.id


@dataclass(frozen=True, slots=True)
class Recipient:
    """What delivery needs of a remote actor: who, and its inboxes."""

    id: str
    inbox: str
    shared_inbox: str | None


@dataclass(frozen=True, slots=True)
class RemoteKeyRow:
    key_id: str
    owner: str
    public_pem: str
    fetched_at: float


async def put_remote_actor(conn: Connection, actor: RemoteActor) -> None:
    """Insert or refresh a remote actor."""
    await conn.execute(
        "INSERT INTO remote_actors (id, host, type, preferred_username, inbox, shared_inbox,"
        " document, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
        " host = excluded.host, type = excluded.type, preferred_username = excluded.preferred_username,"
        " inbox = excluded.inbox, shared_inbox = excluded.shared_inbox,"
        " document = excluded.document, fetched_at = excluded.fetched_at",
        (
            actor.id,
            actor.host,
            actor.type,
            actor.preferred_username,
            actor.inbox,
            actor.shared_inbox,
            json.dumps(actor.document),
            actor.fetched_at,
        ),
    )


async def get_remote_actor(conn: Connection, actor_id: str) -> RemoteActor | None:
    """A cached remote actor."""
    row = await fetchone(
        conn,
        "SELECT id, host, type, preferred_username, inbox, shared_inbox, document, fetched_at"
        " FROM remote_actors WHERE id = ?",
        (actor_id,),
    )
    if row is None:
        return None
    return RemoteActor(row[0], row[1], row[2], row[3], row[4], row[5], json.loads(row[6]), row[7])


async def list_roster_recipients(conn: Connection, group_id: int) -> list[Recipient]:
    """Where to reach a group's remote members whose actors are cached, in one query."""
    rows = await fetchall(
        conn, "SELECT r.id, r.inbox, r.shared_inbox FROM members m JOIN remote_actors r ON r.id = m.member"
        " WHERE m.group_id = ? AND m.local_actor_id IS NULL", (group_id,),
    )
    return [Recipient(*row) for row in rows]


async def list_preferred_inboxes(conn: Connection, group_id: int, proposal_id: int) -> list[str]:
    """The distinct preferred (shared, else personal) inboxes of a group's cached remote members
    and of everyone who voted on one of its proposals: one per server, not one per member."""
    rows = await fetchall(
        conn, "SELECT COALESCE(r.shared_inbox, r.inbox) FROM members m"
        " JOIN remote_actors r ON r.id = m.member WHERE m.group_id = ? AND m.local_actor_id IS NULL"
        " UNION SELECT COALESCE(r.shared_inbox, r.inbox) FROM remote_actors r WHERE r.id IN"
        " (SELECT voter FROM ballots WHERE proposal_id = ?)", (group_id, proposal_id),
    )
    return [row[0] for row in rows]


async def delete_remote_actor(conn: Connection, actor_id: str) -> None:
    """Forget a remote actor and every key it owns."""
    await conn.execute("DELETE FROM remote_keys WHERE owner = ?", (actor_id,))
    await conn.execute("DELETE FROM remote_actors WHERE id = ?", (actor_id,))


async def put_remote_key(conn: Connection, key: RemoteKeyRow) -> None:
    """Insert or replace a remote public key (only ever from a fetch at its origin)."""
    await conn.execute(
        "INSERT INTO remote_keys (key_id, owner, public_pem, fetched_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (key_id) DO UPDATE SET owner = excluded.owner,"
        " public_pem = excluded.public_pem, fetched_at = excluded.fetched_at",
        (key.key_id, key.owner, key.public_pem, key.fetched_at),
    )


async def get_remote_key(conn: Connection, key_id: str) -> RemoteKeyRow | None:
    """A cached remote key."""
    row = await fetchone(
        conn,
        "SELECT key_id, owner, public_pem, fetched_at FROM remote_keys WHERE key_id = ?",
        (key_id,),
    )
    return RemoteKeyRow(row[0], row[1], row[2], row[3]) if row else None
