"""Create(Note) at an assembly: a vote on one of our proposals, a command to the assembly, or
nothing (DESIGN 4: a Note is a vote iff inReplyTo is our proposal, it has a name and no content).
"""

from __future__ import annotations

from typing import Any

import aiosqlite

from fedassembly import dm_commands, votes
from fedassembly.inbox_handlers import Delivery, on


def is_vote_note(note: dict[str, Any], base: str) -> bool:
    """A vote: inReplyTo one of our proposals, a non-empty name, no content."""
    reply_to = note.get("inReplyTo")
    name = note.get("name")
    return (
        isinstance(reply_to, str)
        and reply_to.startswith(f"{base}/proposals/")
        and isinstance(name, str)
        and bool(name)
        and not note.get("content")
    )


@on("Create", needs_sender=True)
async def on_create(delivery: Delivery, conn: aiosqlite.Connection) -> str:
    """Dispatch a Create: votes and direct-mention commands; anything else has no effect."""
    note = delivery.activity.get("object")
    if not isinstance(note, dict) or note.get("type") != "Note":
        return "Create of something other than an inlined Note: no effect"
    if is_vote_note(note, delivery.node.urls.base):
        return await votes.on_vote(delivery, conn, note)
    outcome = await dm_commands.on_command(delivery, conn, note)
    return outcome or "a Note with no effect here"
