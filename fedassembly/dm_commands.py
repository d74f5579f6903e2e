"""Direct-mention commands to an assembly (placeholder until the delegation work lands)."""

from __future__ import annotations

from typing import Any

import aiosqlite

from fedassembly.inbox_handlers import Delivery


async def on_command(delivery: Delivery, conn: aiosqlite.Connection, note: dict[str, Any]) -> str | None:
    """A direct mention of an assembly: delegate, revoke, status, help; None if not a command."""
    return None
