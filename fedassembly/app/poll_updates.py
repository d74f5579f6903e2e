"""Coalesced Update(Question): counts pushed a little after ballots change, not per ballot.

A ballot marks its proposal's ``update_due_at`` (keeping an earlier mark), so every ballot in
one ``federation.poll_update_seconds`` window leaves one Update. The worker polls the marks:
they live in the database, so a restart sends what was due, and CLI or API writers need no
wake-up call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fedassembly.app.node import Node
from fedassembly.app.proposals import queue_question_update
from storage import proposals as proposal_repo

log = logging.getLogger("fedassembly.app.poll_updates")

MAX_POLL_SECONDS = 1.0


async def send_due_updates(node: Node) -> int:
    """Queue the Update(Question) of every proposal whose mark is due; how many."""
    due = await proposal_repo.list_proposals_update_due(node.db.reader, node.clock())
    for proposal in due:
        async with node.db.transaction() as conn:
            current = await proposal_repo.get_proposal_by_id(conn, proposal.id)
            if current is None or current.update_due_at is None:
                continue  # sent meanwhile (a withdrawal or the close sends its own)
            await queue_question_update(node, conn, current)
    if due:
        node.delivery_queued()
    return len(due)


async def run_poll_updates(node: Node, stop: asyncio.Event) -> None:
    """Send due coalesced poll updates until ``stop`` is set."""
    interval = min(MAX_POLL_SECONDS, max(0.1, node.settings.poll_update_seconds / 2))
    while not stop.is_set():
        try:
            await send_due_updates(node)
        except Exception:
            log.exception("poll updates failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
