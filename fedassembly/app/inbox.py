"""What verified activities do: handlers registered by type, each idempotent.

A handler runs inside the write transaction that also records the activity id (dedupe), so the
effect and the record commit together. Anything that needs the network (the sender's actor
document) is fetched before, by ``prepare``: a write transaction never waits on a remote server.
Raising HandlerError rolls the unit back, the activity included, and answers its status.
Handlers queue deliveries but need not wake the worker: the inbox route does once committed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fedassembly.app.activities import to_ap_accept
from fedassembly.app.clock import now_iso
from fedassembly.app.node import Node
from federation.inbox import VerifiedActivity, host_of
from storage import actors as actor_repo
from storage import follows as follow_repo
from storage import outbox as outbox_repo
from storage import remote as remote_repo
from storage.actors import LocalActor
from storage.db import Connection
from storage.follows import Follower
from storage.remote import RemoteActor

log = logging.getLogger("fedassembly.inbox")


class HandlerError(Exception):
    """A verified activity refused with an HTTP status (the activity is not recorded)."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a handler sees: the node, the verified activity and the sender's actor (if fetched)."""

    node: Node
    verified: VerifiedActivity
    sender: RemoteActor | None

    @property
    def activity(self) -> dict[str, Any]:
        return self.verified.activity


Handler = Callable[[Delivery, Connection], Awaitable[str]]
_HANDLERS: dict[str, Handler] = {}
# Types whose handler needs the sender's actor document (inbox, shared inbox).
_NEEDS_SENDER: set[str] = set()
EffectCheck = Callable[[Node, dict[str, Any]], bool]
# Fast exact checks, per type, of whether an activity can have an effect at all.
_MAY_AFFECT: dict[str, EffectCheck] = {}


def on(
    type_: str, *, needs_sender: bool = False, may_affect: EffectCheck | None = None
) -> Callable[[Handler], Handler]:
    """Register the handler of an activity type; registering a type twice is a bug.

    ``may_affect`` says from the activity alone whether the handler could change anything;
    when it says no, the inbox only records the activity (the hot path of a busy inbox).
    """

    def register(handler: Handler) -> Handler:
        if type_ in _HANDLERS:
            raise RuntimeError(f"a handler for {type_} is already registered")
        _HANDLERS[type_] = handler
        if needs_sender:
            _NEEDS_SENDER.add(type_)
        if may_affect is not None:
            _MAY_AFFECT[type_] = may_affect
        return handler

    return register


def may_have_effect(node: Node, activity: dict[str, Any]) -> bool:
    """False when no handler could change anything for this activity: it is only recorded."""
    type_ = activity["type"]
    if type_ not in _HANDLERS:
        return False
    check = _MAY_AFFECT.get(type_)
    return check is None or check(node, activity)


def object_id(value: Any) -> str | None:
    """The id of an activity's ``object``: the string itself or an embedded object's ``id``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return value["id"]
    return None


async def local_actor_by_url(node: Node, conn: Connection, url: str | None) -> LocalActor | None:
    """The local actor whose id is ``url``."""
    if not url or not url.startswith(node.urls.base + "/"):
        return None
    path = url[len(node.urls.base) :]
    for prefix, kinds in (("/groups/", ("assembly", "council")), ("/people/", ("person",))):
        if path.startswith(prefix):
            actor = await actor_repo.get_actor_by_name(conn, path[len(prefix) :])
            return actor if actor is not None and actor.kind in kinds else None
    return None


async def prepare(node: Node, verified: VerifiedActivity) -> Delivery:
    """Fetch what the handler will need from the network, before any transaction."""
    sender = None
    if verified.activity["type"] in _NEEDS_SENDER:
        sender = await node.remote.actor(verified.actor)
    return Delivery(node, verified, sender)


async def handle(delivery: Delivery, conn: Connection) -> str:
    """Run the handler of the activity's type; returns what it did, for the log line."""
    handler = _HANDLERS.get(delivery.activity["type"])
    if handler is None:
        return f"{delivery.activity['type']} has no effect here"
    return await handler(delivery, conn)


@on("Follow", needs_sender=True)
async def on_follow(delivery: Delivery, conn: Connection) -> str:
    """A Follow of a local actor: store the follower and send an Accept embedding the Follow."""
    node, follow = delivery.node, delivery.activity
    target = await local_actor_by_url(node, conn, object_id(follow.get("object")))
    if target is None:
        raise HandlerError(404, f"no local actor {object_id(follow.get('object'))!r} to follow")
    sender = delivery.sender
    assert sender is not None
    await follow_repo.put_follower(
        conn, Follower(target.id, sender.id, follow["id"], sender.inbox, sender.shared_inbox), now_iso()
    )
    accept = to_ap_accept(node.urls, node.urls.actor(target.kind, target.name), follow)
    await outbox_repo.put_activity(conn, accept, target.id, public=False, published_at=now_iso())
    # The Accept goes to the follower's own inbox: it concerns that account only.
    await outbox_repo.put_deliveries(
        conn, accept["id"], target.id, [(sender.inbox, host_of(sender.inbox))], time.time()
    )
    return f"{sender.id} follows {target.name}"


@on("Undo")
async def on_undo(delivery: Delivery, conn: Connection) -> str:
    """Undo(Follow): the follower is removed (only the follower can undo its own Follow)."""
    node, undo = delivery.node, delivery.activity
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


@on("Accept")
async def on_accept(delivery: Delivery, conn: Connection) -> str:
    """Accept of one of our Follows, by the actor it was sent to, completes the follow."""
    follow_id = object_id(delivery.activity.get("object"))
    following = await follow_repo.get_following_by_follow_id(conn, follow_id) if follow_id else None
    if following is None:
        return "Accept of an unknown Follow: no effect"
    if following.target != delivery.activity["actor"]:
        return "Accept by an actor who was not asked: refused"
    await follow_repo.accept_following(conn, following.follow_id)
    return f"follow of {following.target} accepted"


@on("Delete")
async def on_delete(delivery: Delivery, conn: Connection) -> str:
    """Delete of the sender's own actor: its follows and keys are removed."""
    activity = delivery.activity
    if object_id(activity.get("object")) != activity["actor"]:
        return "Delete of an object we do not keep: no effect"
    await follow_repo.delete_follows_of(conn, activity["actor"])
    await remote_repo.delete_remote_actor(conn, activity["actor"])
    for hook in _ACTOR_DELETED_HOOKS:
        await hook(delivery.node, conn, activity["actor"])
    return f"actor {activity['actor']} deleted: follows and keys removed"


ActorDeletedHook = Callable[[Node, Connection, str], Awaitable[None]]
_ACTOR_DELETED_HOOKS: list[ActorDeletedHook] = []


def on_actor_deleted(hook: ActorDeletedHook) -> ActorDeletedHook:
    """Register more cleanup for a remote actor's Delete (rosters, delegations)."""
    _ACTOR_DELETED_HOOKS.append(hook)
    return hook
