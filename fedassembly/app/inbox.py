"""What verified activities do: one table of handlers by type, each handler idempotent.

A handler runs inside the write unit that also records the activity id (dedupe), so the effect
and the record commit together. Anything that needs the network (the sender's actor document)
is fetched before, by ``prepare``: a write unit never waits on a remote server. Raising
HandlerError rolls the unit back, the record included, and answers its status. Handlers queue
deliveries; ``receive`` wakes the delivery worker once the unit has committed.

The table is built once, by the shell (``fedassembly.main.inbox_handlers``), where it can be read
at a glance; registering a type twice is a bug and raises.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fedassembly.app import ballots, dm_commands, follows, roster
from fedassembly.app.node import Node
from fedassembly.app.received import Received, object_id
from fedassembly.app.urls import Urls
from federation.inbox import VerifiedActivity
from storage import inbox as inbox_repo
from storage import remote as remote_repo
from storage.db import Connection

log = logging.getLogger("fedassembly.app.inbox")

Handler = Callable[[Received, Connection], Awaitable[str]]
# A fast exact check, from the activity alone, of whether its handler could change anything.
EffectCheck = Callable[[Urls, dict[str, Any]], bool]


@dataclass(frozen=True, slots=True)
class _Route:
    handler: Handler
    needs_sender: bool
    may_affect: EffectCheck | None


class InboxHandlers:
    """The handler of each activity type; types without one are recorded and have no effect."""

    def __init__(self) -> None:
        self._routes: dict[str, _Route] = {}

    def on(
        self, type_: str, handler: Handler, *, needs_sender: bool = False,
        may_affect: EffectCheck | None = None,
    ) -> None:
        """Route ``type_`` to ``handler``. ``needs_sender``: fetch the sender's actor first.
        ``may_affect``: when it says no, the inbox only records the activity (a busy inbox's
        hot path)."""
        if type_ in self._routes:
            raise ValueError(f"a handler for {type_} is already registered")
        self._routes[type_] = _Route(handler, needs_sender, may_affect)

    def may_have_effect(self, urls: Urls, activity: dict[str, Any]) -> bool:
        """False when no handler could change anything for this activity: it is only recorded."""
        route = self._routes.get(activity["type"])
        if route is None:
            return False
        return route.may_affect is None or route.may_affect(urls, activity)

    async def prepare(self, node: Node, verified: VerifiedActivity) -> Received:
        """Fetch what the handler will need from the network, before any unit (RemoteActorError)."""
        route = self._routes.get(verified.activity["type"])
        sender = await node.remote.actor(verified.actor) if route and route.needs_sender else None
        return Received(node, verified, sender)

    async def handle(self, received: Received, conn: Connection) -> str:
        """Run the handler of the activity's type; returns what it did, for the log line."""
        route = self._routes.get(received.activity["type"])
        if route is None:
            return f"{received.activity['type']} has no effect here"
        return await route.handler(received, conn)


async def receive(node: Node, handlers: InboxHandlers, verified: VerifiedActivity) -> str:
    """Record a verified activity and apply it, durably, in one unit; what it did, in words.

    Raises RemoteActorError when a sender the handler needs cannot be fetched, and HandlerError
    when the handler refuses (nothing is recorded then).
    """
    activity = verified.activity
    body = verified.body.decode()
    if verified.refusal is not None:
        # Authenticated but not allowed (ids off the signer's origin): kept with the reason, and
        # under this actor only, so the ids it borrowed stay unspent for their owner.
        await inbox_repo.append_inbox_activity(
            node.db, activity["id"], verified.actor, activity["type"], body, node.clock(),
            max_bytes=node.settings.stored_refusal_bytes, refusal=verified.refusal,
        )
        return f"refused: {verified.refusal}"
    if not handlers.may_have_effect(node.urls, activity):
        # Nothing can change: recorded (dedupe) with the next group commit, no unit of its own.
        await inbox_repo.append_inbox_activity(
            node.db, activity["id"], verified.actor, activity["type"], body, node.clock(),
            max_bytes=node.settings.stored_refusal_bytes,
        )
        return "no effect here"
    received = await handlers.prepare(node, verified)

    async def record_and_handle(conn: Connection) -> tuple[bool, str]:
        fresh = await inbox_repo.put_inbox_activity(
            conn, activity["id"], verified.actor, activity["type"], body, node.clock(),
            max_bytes=node.settings.stored_refusal_bytes,
        )
        return fresh, await handlers.handle(received, conn) if fresh else "duplicate: already handled"

    fresh, outcome = await node.db.run(record_and_handle)
    if fresh:
        node.delivery_queued()
        if activity["type"] == "Delete":
            node.remote.forget(verified.actor)
    return outcome


# -- Create: votes and commands --------------------------------------------------------------

def is_vote_note(note: dict[str, Any], urls: Urls) -> bool:
    """A vote: inReplyTo one of our proposals, a non-empty name, no content."""
    name = note.get("name")
    return (
        urls.proposal_id(note.get("inReplyTo")) is not None
        and isinstance(name, str)
        and bool(name)
        and not note.get("content")
    )


def _addresses_local_group(urls: Urls, doc: dict[str, Any]) -> bool:
    """Whether any recipient or tag names a local group (only those can be commands).

    On the inbox's hot path for every Create: plain loops and one prefix test per address.
    """
    prefix = urls.group_prefix
    for field in ("to", "cc", "bto", "bcc", "audience"):
        value = doc.get(field)
        for item in value if isinstance(value, list) else (value,):
            if isinstance(item, str) and item.startswith(prefix):
                return True
    tags = doc.get("tag")
    for tag in tags if isinstance(tags, list) else (tags,):
        if isinstance(tag, dict):
            href = tag.get("href")
            if isinstance(href, str) and href.startswith(prefix):
                return True
    return False


def create_may_affect(urls: Urls, activity: dict[str, Any]) -> bool:
    """A Create can matter only as a vote on our proposal or a Note addressed to a local group."""
    note = activity.get("object")
    if not isinstance(note, dict) or note.get("type") != "Note":
        return False
    if is_vote_note(note, urls):
        return True
    return _addresses_local_group(urls, note) or _addresses_local_group(urls, activity)


async def on_create(received: Received, conn: Connection) -> str:
    """A vote Note (inReplyTo our proposal, a name, no content) or a direct-mention command."""
    note = received.activity.get("object")
    if not isinstance(note, dict) or note.get("type") != "Note":
        return "Create of something other than an inlined Note: no effect"
    if is_vote_note(note, received.node.urls):
        return await ballots.on_vote(received, conn, note)
    outcome = await dm_commands.on_command(received, conn, note)
    return outcome or "a Note with no effect here"


async def on_delete(received: Received, conn: Connection) -> str:
    """Delete of the sender's own actor: its follows, keys, roster places and delegations go."""
    activity = received.activity
    actor = activity["actor"]
    if object_id(activity.get("object")) != actor:
        return "Delete of an object we do not keep: no effect"
    await follows.forget_deleted_actor(conn, actor)
    await roster.forget_deleted_actor(conn, actor)
    await remote_repo.delete_remote_actor(conn, actor)
    return f"actor {actor} deleted: follows, keys, roster places and delegations removed"
