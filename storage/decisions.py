"""The close and decide transitions of a proposal."""

from __future__ import annotations

import json
from typing import Any

from storage.db import Connection


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

