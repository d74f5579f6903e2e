"""Read models of actors for the web layer: actor documents, their paged collections, discovery.

Collections are ``OrderedCollection``s with their pages at ``?page=N`` (N from 1), as Mastodon
reads them. Who may see a roster follows the group's ``roster`` setting.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fedassembly.app.activities import to_ap_actor
from fedassembly.app.errors import NotFoundError
from fedassembly.app.group_settings import group_setting
from fedassembly.app.node import Node
from fedassembly.app.vocab import CONTEXT, PUBLIC
from storage import actors as actor_repo
from storage import follows as follow_repo
from storage import members as member_repo
from storage import outbox as outbox_repo
from storage.actors import LocalActor
from storage.db import Connection

PAGE_SIZE = 50
SECTION_KINDS = {"groups": ("assembly", "council"), "people": ("person",), "": ("instance",)}

PageOf = Callable[[Connection, int, int, int], Awaitable[list[Any]]]


async def local_actor(node: Node, section: str, name: str) -> LocalActor:
    """The actor at ``/groups/NAME``, ``/people/NAME`` (or ``/actor`` with an empty section)."""
    actor = await actor_repo.get_actor_by_name(node.db.reader, name)
    if actor is None or actor.kind not in SECTION_KINDS.get(section, ()):
        raise NotFoundError("no such actor")
    return actor


async def actor_document(node: Node, actor: LocalActor) -> dict[str, Any]:
    """The full actor document, keys included (an Ed25519 key only for groups and /actor)."""
    rsa = await node.keys.get(actor, "rsa")
    multibase = None if actor.kind == "person" else await node.keys.ed25519_multibase(actor)
    return to_ap_actor(node.urls, actor, rsa_public_pem=rsa.public_pem, ed25519_multibase=multibase)


async def follower_count(node: Node, actor: LocalActor) -> int:
    return await follow_repo.count_followers(node.db.reader, actor.id)


def ordered_collection(collection_id: str, total: int, page: int | None, items: list[Any]) -> dict[str, Any]:
    """A paged OrderedCollection: the collection with its first page, or page ``page``."""
    if page is None:
        doc: dict[str, Any] = {
            "@context": CONTEXT,
            "id": collection_id,
            "type": "OrderedCollection",
            "totalItems": total,
        }
        if total:
            doc["first"] = f"{collection_id}?page=1"
            doc["last"] = f"{collection_id}?page={max(1, -(-total // PAGE_SIZE))}"
        return doc
    doc = {
        "@context": CONTEXT,
        "id": f"{collection_id}?page={page}",
        "type": "OrderedCollectionPage",
        "partOf": collection_id,
        "totalItems": total,
        "orderedItems": items,
    }
    if page * PAGE_SIZE < total:
        doc["next"] = f"{collection_id}?page={page + 1}"
    if page > 1:
        doc["prev"] = f"{collection_id}?page={page - 1}"
    return doc


async def _public_activity_page(conn: Connection, actor_id: int, offset: int, limit: int) -> list[Any]:
    rows = await outbox_repo.list_public_activities(conn, actor_id, offset, limit)
    return [{k: v for k, v in row.body.items() if k != "@context"} for row in rows]


_PAGED: dict[str, tuple[Callable[[Connection, int], Awaitable[int]], PageOf]] = {
    "outbox": (outbox_repo.count_public_activities, _public_activity_page),
    "followers": (follow_repo.count_followers, follow_repo.list_follower_page),
}


async def paged_collection(node: Node, actor: LocalActor, name: str, page: int | None) -> dict[str, Any]:
    """The actor's ``outbox`` or ``followers``: its size, and one page of items when asked."""
    count, page_of = _PAGED[name]
    conn = node.db.reader
    total = await count(conn, actor.id)
    items = [] if page is None else await page_of(conn, actor.id, (page - 1) * PAGE_SIZE, PAGE_SIZE)
    return ordered_collection(f"{node.urls.actor(actor.kind, actor.name)}/{name}", total, page, items)


async def following_collection(node: Node, actor: LocalActor) -> dict[str, Any]:
    """How many accounts the actor follows (the list itself is not published)."""
    total = await follow_repo.count_following(node.db.reader, actor.id)
    collection_id = f"{node.urls.actor(actor.kind, actor.name)}/following"
    return {"@context": CONTEXT, "id": collection_id, "type": "OrderedCollection", "totalItems": total}


async def members_collection(node: Node, group: LocalActor, page: int | None) -> dict[str, Any]:
    """A group's members: their IRIs when the roster is public, else only their number."""
    collection_id = f"{node.urls.actor(group.kind, group.name)}/members"
    total = await member_repo.count_members(node.db.reader, group.id)
    public = group_setting(group, "roster") == "public"
    if not public or page is None:
        doc = ordered_collection(collection_id, total, None, [])
        if not public:
            doc.pop("first", None)
            doc.pop("last", None)
        return doc
    items = await member_repo.list_member_page(node.db.reader, group.id, (page - 1) * PAGE_SIZE, PAGE_SIZE)
    return ordered_collection(collection_id, total, page, items)


async def stored_object(node: Node, url: str) -> dict[str, Any]:
    """An object we created (e.g. an announcement Note), with our context."""
    obj = await outbox_repo.get_object(node.db.reader, url)
    if obj is None:
        raise NotFoundError("no such object")
    return {"@context": CONTEXT, **obj}


async def public_activity(node: Node, url: str) -> dict[str, Any]:
    """A public activity we published (non-public ones are not served)."""
    row = await outbox_repo.get_activity(node.db.reader, url)
    if row is None or not _is_public(row.body):
        raise NotFoundError("no such activity")
    return row.body


def _is_public(doc: dict[str, Any]) -> bool:
    audience = doc.get("to", []) + doc.get("cc", []) if isinstance(doc.get("to", []), list) else []
    return PUBLIC in audience


async def webfinger_actor(node: Node, name: str) -> LocalActor | None:
    """The local actor a WebFinger query names."""
    return await actor_repo.get_actor_by_name(node.db.reader, name)


async def usage(node: Node) -> tuple[dict[str, int], int]:
    """Local actors by kind, and how many public activities they published (for NodeInfo)."""
    conn = node.db.reader
    return await actor_repo.count_actors_by_kind(conn), await outbox_repo.count_all_public_activities(conn)
