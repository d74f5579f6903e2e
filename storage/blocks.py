"""Blocked remote actors and domains, with a version number that moves with every change."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Connection, fetchall, fetchone


@dataclass(frozen=True, slots=True)
class Block:
    target: str  # an actor IRI or a lower-case domain
    kind: str  # actor | domain
    created_at: str


async def _bump(conn: Connection) -> None:
    await conn.execute("UPDATE blocks_version SET version = version + 1 WHERE id = 1")


async def put_block(conn: Connection, block: Block) -> bool:
    """Block an actor or a domain; False when it already was."""
    cursor = await conn.execute(
        "INSERT OR IGNORE INTO blocks (target, kind, created_at) VALUES (?, ?, ?)",
        (block.target, block.kind, block.created_at),
    )
    if cursor.rowcount > 0:
        await _bump(conn)
    return cursor.rowcount > 0


async def delete_block(conn: Connection, target: str) -> bool:
    """Lift a block; False when there was none."""
    cursor = await conn.execute("DELETE FROM blocks WHERE target = ?", (target,))
    if cursor.rowcount > 0:
        await _bump(conn)
    return cursor.rowcount > 0


async def list_blocks(conn: Connection) -> list[Block]:
    """Every block, oldest first."""
    rows = await fetchall(conn, "SELECT target, kind, created_at FROM blocks ORDER BY created_at, target")
    return [Block(*row) for row in rows]


async def get_blocks_version(conn: Connection) -> int:
    """A number that changes whenever a block is added or lifted."""
    row = await fetchone(conn, "SELECT version FROM blocks_version WHERE id = 1")
    return int(row[0]) if row else 0
