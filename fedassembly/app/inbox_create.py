"""Create(Note) at an assembly: a vote on one of our proposals, a command to the assembly, or
nothing (DESIGN 4: a Note is a vote iff inReplyTo is our proposal, it has a name and no content).
"""

from __future__ import annotations

from typing import Any

from fedassembly.app import ballots as votes
from fedassembly.app import dm_commands
from fedassembly.app.inbox import Delivery, on
from fedassembly.app.node import Node
from storage.db import Connection


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


def _addressed_locally(node_base: str, note: dict[str, Any]) -> bool:
    """Whether any recipient or tag names a local group (only those can be commands)."""
    prefix = f"{node_base}/groups/"
    for field in ("to", "cc", "bto", "bcc", "audience"):
        value = note.get(field)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and item.startswith(prefix):
                return True
    tags = note.get("tag")
    for tag in tags if isinstance(tags, list) else [tags]:
        if isinstance(tag, dict) and isinstance(tag.get("href"), str) and tag["href"].startswith(prefix):
            return True
    return False


def create_may_affect(node: Node, activity: dict[str, Any]) -> bool:
    """A Create can matter only as a vote on our proposal or a Note addressed to a local group."""
    note = activity.get("object")
    if not isinstance(note, dict) or note.get("type") != "Note":
        return False
    base = node.urls.base
    return is_vote_note(note, base) or _addressed_locally(base, note) or _addressed_locally(base, activity)


@on("Create", needs_sender=True, may_affect=create_may_affect)
async def on_create(delivery: Delivery, conn: Connection) -> str:
    """Dispatch a Create: votes and direct-mention commands; anything else has no effect."""
    note = delivery.activity.get("object")
    if not isinstance(note, dict) or note.get("type") != "Note":
        return "Create of something other than an inlined Note: no effect"
    if is_vote_note(note, delivery.node.urls.base):
        return await votes.on_vote(delivery, conn, note)
    outcome = await dm_commands.on_command(delivery, conn, note)
    return outcome or "a Note with no effect here"
