"""Follows, both ways: local people follow remote actors; remote actors follow our actors.

The outgoing side (``follow``, ``unfollow``), the incoming side (``on_follow``, ``on_undo``,
``on_accept``, run inside the inbox's unit) and a group's public posts to its followers
(``announce``) live together because they are one relationship.
"""

from __future__ import annotations

from typing import Any

from fedassembly.app.activities import (
    text_to_html,
    to_ap_accept,
    to_ap_create,
    to_ap_follow,
    to_ap_public_note,
    to_ap_undo_follow,
)
from fedassembly.app.audience import inbox_targets
from fedassembly.app.errors import HandlerError, InvalidError, NotFoundError
from fedassembly.app.node import Node
from fedassembly.app.publish import own_inbox, publish
from fedassembly.app.received import Received, local_actor_by_url, object_id
from fedassembly.app.remote_actors import RemoteActorError
from storage import follows as follow_repo
from storage.actors import LocalActor
from storage.db import Connection
from storage.follows import Follower, Following
from storage.remote import RemoteActor

MAX_ANNOUNCEMENT_CHARS = 5000


async def _resolve(node: Node, target: str) -> RemoteActor:
    try:
        return await node.remote.resolve(target)
    except RemoteActorError as error:
        raise NotFoundError(str(error)) from error


async def follow(node: Node, person: LocalActor, target: str) -> str:
    """Ask to follow a remote actor; pending until its Accept. Returns the Follow's id."""
    remote = await _resolve(node, target)
    follow_id = node.urls.new_activity_id()
    doc = to_ap_follow(follow_id, node.urls.actor(person.kind, person.name), remote.id)
    async with node.db.transaction() as conn:
        # Stored before sending: a peer may POST its Accept before it answers our Follow.
        following = Following(person.id, remote.id, follow_id, "pending")
        await follow_repo.put_following(conn, following, node.now_iso())
        await publish(node, conn, person, doc, own_inbox(remote), public=False)
    node.delivery_queued()
    return follow_id


async def unfollow(node: Node, person: LocalActor, target: str) -> None:
    """Stop following a remote actor: Undo(Follow) is sent, the follow forgotten."""
    remote = await _resolve(node, target)
    existing = await follow_repo.get_following(node.db.reader, person.id, remote.id)
    if existing is None:
        raise NotFoundError(f"{person.name} does not follow {target}")
    actor_id = node.urls.actor(person.kind, person.name)
    undo = to_ap_undo_follow(node.urls, existing.follow_id, actor_id, remote.id)
    async with node.db.transaction() as conn:
        await follow_repo.delete_following(conn, person.id, remote.id)
        await publish(node, conn, person, undo, own_inbox(remote), public=False)
    node.delivery_queued()


async def announce(node: Node, group: LocalActor, text: str) -> dict[str, Any]:
    """A group posts a public Note to all its followers; returns the Note."""
    if not text.strip():
        raise InvalidError("the announcement is empty")
    if len(text) > MAX_ANNOUNCEMENT_CHARS:
        raise InvalidError(f"the announcement is longer than {MAX_ANNOUNCEMENT_CHARS} characters")
    group_id = node.urls.actor(group.kind, group.name)
    note = to_ap_public_note(
        node.urls.new_object_id(), group_id, node.urls.followers(group.kind, group.name), text_to_html(text),
        node.now_iso(),
    )
    create = to_ap_create(node.urls, note)
    async with node.db.transaction() as conn:
        followers = await follow_repo.list_followers(conn, group.id)
        await publish(node, conn, group, create, inbox_targets(followers), public=True, obj=note)
    node.delivery_queued()
    return note


# -- the inbox's side ------------------------------------------------------------------------

async def on_follow(received: Received, conn: Connection) -> str:
    """A Follow of a local actor: store the follower and send an Accept embedding the Follow."""
    node, doc = received.node, received.activity
    target = await local_actor_by_url(node, conn, object_id(doc.get("object")))
    if target is None:
        raise HandlerError(404, f"no local actor {object_id(doc.get('object'))!r} to follow")
    sender = received.sender
    assert sender is not None  # the table asks for the sender of a Follow
    await follow_repo.put_follower(
        conn, Follower(target.id, sender.id, doc["id"], sender.inbox, sender.shared_inbox), node.now_iso()
    )
    accept = to_ap_accept(node.urls, node.urls.actor(target.kind, target.name), doc)
    # The Accept goes to the follower's own inbox: it concerns that account only.
    await publish(node, conn, target, accept, own_inbox(sender), public=False)
    return f"{sender.id} follows {target.name}"


async def on_undo(received: Received, conn: Connection) -> str:
    """Undo(Follow): the follower is removed (only the follower can undo its own Follow)."""
    node, undo = received.node, received.activity
    inner = undo.get("object")
    if not isinstance(inner, dict) or inner.get("type") != "Follow":
        return "Undo of something other than an inlined Follow: no effect"
    if inner.get("actor") not in (None, undo["actor"]):
        return "Undo of someone else's Follow: refused"
    target = await local_actor_by_url(node, conn, object_id(inner.get("object")))
    if target is None:
        return "Undo(Follow) of an unknown actor: no effect"
    removed = await follow_repo.delete_follower(conn, target.id, undo["actor"])
    return f"{undo['actor']} unfollowed {target.name}" if removed else "Undo(Follow) of no follow"


async def on_accept(received: Received, conn: Connection) -> str:
    """Accept of one of our Follows, by the actor it was sent to, completes the follow."""
    follow_id = object_id(received.activity.get("object"))
    following = await follow_repo.get_following_by_follow_id(conn, follow_id) if follow_id else None
    if following is None:
        return "Accept of an unknown Follow: no effect"
    if following.target != received.activity["actor"]:
        return "Accept by an actor who was not asked: refused"
    await follow_repo.accept_following(conn, following.follow_id)
    return f"follow of {following.target} accepted"


async def forget_deleted_actor(conn: Connection, actor: str) -> None:
    """A remote account deleted itself: its follows, both ways, are gone."""
    await follow_repo.delete_follows_of(conn, actor)
