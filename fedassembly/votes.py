"""Votes from the fediverse (placeholder until the proposals work lands)."""

from __future__ import annotations

from typing import Any

import aiosqlite

from fedassembly.inbox_handlers import Delivery


async def on_vote(delivery: Delivery, conn: aiosqlite.Connection, note: dict[str, Any]) -> str:
    """A vote Note on one of our proposals."""
    return "votes are not handled yet"
