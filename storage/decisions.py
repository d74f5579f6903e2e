"""What closing a proposal needs beyond the proposal and ballot repositories: due proposals,
the close and decide transitions, the remote members to notify."""

from __future__ import annotations

import json
from typing import Any

from storage.db import Connection, fetchall, fetchone


async def list_due_proposal_ids(conn: Connection, now: float) -> list[int]:
    """Open proposals whose closing time has come, earliest first."""
    rows = await fetchall(
        conn,
        "SELECT id FROM proposals WHERE state = 'open' AND closes_at <= ? ORDER BY closes_at, id",
        (now,),
    )
    return [int(row[0]) for row in rows]


async def get_next_closing_time(conn: Connection) -> float | None:
    """The earliest closing time among open proposals."""
    row = await fetchone(conn, "SELECT MIN(closes_at) FROM proposals WHERE state = 'open'")
    return float(row[0]) if row and row[0] is not None else None


async def put_proposal_closed(conn: Connection, proposal_id: int, closed_at: str) -> bool:
    """open → closed; False when another closer (or a withdrawal) got there first."""
    cursor = await conn.execute(
        "UPDATE proposals SET state = 'closed', closed_at = ?, update_due_at = NULL"
        " WHERE id = ? AND state = 'open'",
        (closed_at, proposal_id),
    )
    return cursor.rowcount == 1


async def put_proposal_decided(
    conn: Connection, proposal_id: int, decision: dict[str, Any], snapshot: dict[str, Any]
) -> bool:
    """closed → decided with the published decision and the ballots page data, written once."""
    cursor = await conn.execute(
        "UPDATE proposals SET state = 'decided', decision = ?, snapshot = ?"
        " WHERE id = ? AND state = 'closed' AND decision IS NULL",
        (json.dumps(decision), json.dumps(snapshot, separators=(",", ":")), proposal_id),
    )
    return cursor.rowcount == 1


async def count_activities_of_type(conn: Connection, actor_id: int, type_: str) -> int:
    """How many activities of one type an actor published."""
    row = await fetchone(
        conn, "SELECT COUNT(*) FROM outbox_activities WHERE actor_id = ? AND type = ?", (actor_id, type_)
    )
    return int(row[0]) if row else 0
