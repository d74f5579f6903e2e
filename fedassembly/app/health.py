"""The node's health for ``/healthz``: can it read its database, and how is the delivery queue."""

from __future__ import annotations

import logging
from typing import Any

from fedassembly.app.clock import iso
from fedassembly.app.node import Node
from storage import deliveries as delivery_repo

log = logging.getLogger("fedassembly.app.health")


async def health(node: Node) -> dict[str, Any]:
    """``{ok, database, deliveries: {depth, oldest_due, dead}}``; ``ok`` is False when the database fails."""
    try:
        counts = await delivery_repo.count_deliveries(node.db.reader)
        due = await delivery_repo.next_due_at(node.db.reader)
    except Exception as error:  # whatever breaks, the answer is a 503 that says so, never a 500
        log.warning("health check: the database failed: %s", error)
        return {"ok": False, "database": f"error: {error}", "deliveries": None}
    return {
        "ok": True,
        "database": "ok",
        "deliveries": {
            "depth": counts.pending,
            "oldest_due": iso(due) if due is not None else None,
            "dead": counts.dead,
        },
    }
