"""API bearer tokens: only their SHA-256 is stored."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Connection, fetchall, fetchone


@dataclass(frozen=True, slots=True)
class TokenInfo:
    prefix: str
    created_at: str
    last_used_at: str | None


async def put_token(
    conn: Connection, token_hash: str, prefix: str, actor_id: int, created_at: str
) -> None:
    """Store a new token's hash for a local person."""
    await conn.execute(
        "INSERT INTO api_tokens (token_hash, prefix, actor_id, created_at) VALUES (?, ?, ?, ?)",
        (token_hash, prefix, actor_id, created_at),
    )


async def get_actor_id_by_token_hash(conn: Connection, token_hash: str) -> int | None:
    """The person a token belongs to."""
    row = await fetchone(conn, "SELECT actor_id FROM api_tokens WHERE token_hash = ?", (token_hash,))
    return int(row[0]) if row else None


async def list_tokens(conn: Connection, actor_id: int) -> list[TokenInfo]:
    """A person's tokens (prefixes only)."""
    rows = await fetchall(
        conn,
        "SELECT prefix, created_at, last_used_at FROM api_tokens WHERE actor_id = ? ORDER BY created_at",
        (actor_id,),
    )
    return [TokenInfo(*row) for row in rows]


async def delete_token(conn: Connection, token_hash: str) -> bool:
    """Revoke a token; True if it existed."""
    cursor = await conn.execute("DELETE FROM api_tokens WHERE token_hash = ?", (token_hash,))
    return cursor.rowcount > 0
