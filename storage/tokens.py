"""API bearer tokens: only their SHA-256 is stored, with a number admins can name them by."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Connection, Database, fetchall, fetchone


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: int
    prefix: str
    created_at: str
    last_used_at: str | None


@dataclass(frozen=True, slots=True)
class TokenOwner:
    actor_id: int
    last_used_at: str | None


async def put_token(
    conn: Connection, token_hash: str, prefix: str, actor_id: int, created_at: str
) -> int:
    """Store a new token's hash for a local person; its number."""
    cursor = await conn.execute(
        "INSERT INTO api_tokens (token_hash, prefix, actor_id, created_at) VALUES (?, ?, ?, ?)",
        (token_hash, prefix, actor_id, created_at),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


async def get_token_owner_by_hash(conn: Connection, token_hash: str) -> TokenOwner | None:
    """The person a token belongs to, and when the token was last recorded as used."""
    row = await fetchone(
        conn, "SELECT actor_id, last_used_at FROM api_tokens WHERE token_hash = ?", (token_hash,)
    )
    return TokenOwner(int(row[0]), row[1]) if row else None


async def get_actor_id_by_token_hash(conn: Connection, token_hash: str) -> int | None:
    """The person a token belongs to."""
    owner = await get_token_owner_by_hash(conn, token_hash)
    return owner.actor_id if owner else None


async def append_token_use(db: Database, token_hash: str, used_at: str) -> None:
    """Record that a token was used, with the next group commit (no unit of its own)."""
    await db.append("UPDATE api_tokens SET last_used_at = ? WHERE token_hash = ?", (used_at, token_hash))


async def list_tokens(conn: Connection, actor_id: int) -> list[TokenInfo]:
    """A person's tokens (numbers and prefixes only), oldest first."""
    rows = await fetchall(
        conn,
        "SELECT id, prefix, created_at, last_used_at FROM api_tokens WHERE actor_id = ?"
        " ORDER BY created_at, id",
        (actor_id,),
    )
    return [TokenInfo(int(row[0]), row[1], row[2], row[3]) for row in rows]


async def delete_token(conn: Connection, token_hash: str) -> bool:
    """Revoke a token; True if it existed."""
    cursor = await conn.execute("DELETE FROM api_tokens WHERE token_hash = ?", (token_hash,))
    return cursor.rowcount > 0


async def delete_token_by_id(conn: Connection, token_id: int) -> bool:
    """Revoke a token by its number; True if it existed."""
    cursor = await conn.execute("DELETE FROM api_tokens WHERE id = ?", (token_id,))
    return cursor.rowcount > 0
