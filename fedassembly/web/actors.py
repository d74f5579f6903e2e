"""Actor documents, their collections, stored objects and activities, and our context (/ns)."""

from __future__ import annotations

import html
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from fedassembly.app.activities import to_ap_actor
from fedassembly.app.vocab import CONTEXT, context_document
from fedassembly.web.common import activity_response, html_page, json_response, node_of, page_or_document
from storage import actors as actor_repo
from storage import follows as follow_repo
from storage import outbox as outbox_repo
from storage.actors import LocalActor
from storage.db import Connection

PAGE_SIZE = 50
_KINDS = {"groups": ("assembly", "council"), "people": ("person",)}


async def _actor_or_404(request: web.Request) -> LocalActor:
    node = node_of(request)
    section = request.match_info.get("section", "")
    name = request.match_info.get("name", "actor")
    actor = await actor_repo.get_actor_by_name(node.db.reader, name)
    kinds = _KINDS.get(section, ("instance",))
    if actor is None or actor.kind not in kinds:
        raise web.HTTPNotFound(text="no such actor")
    return actor


async def actor_document(node: Any, actor: LocalActor) -> dict[str, Any]:
    """The full actor document, keys included (an Ed25519 key only for groups and /actor)."""
    rsa = await node.keys.get(actor, "rsa")
    multibase = None if actor.kind == "person" else await node.keys.ed25519_multibase(actor)
    return to_ap_actor(node.urls, actor, rsa_public_pem=rsa.public_pem, ed25519_multibase=multibase)


async def actor_page(request: web.Request) -> web.Response:
    """A group, person or the instance actor: JSON for ActivityPub clients, else HTML."""
    node = node_of(request)
    actor = await _actor_or_404(request)
    doc = await actor_document(node, actor)
    handle = f"@{actor.name}@{node.urls.host}"
    followers = await follow_repo.count_followers(node.db.reader, actor.id)
    body = (
        f"<h1>{html.escape(actor.title or actor.name)}</h1><p>{html.escape(handle)}</p>"
        f"<p>{html.escape(actor.summary)}</p><p>{followers} followers</p>"
        f"<p>Follow {html.escape(handle)} from any fediverse account.</p>"
    )
    return page_or_document(request, doc, actor.title or actor.name, body)


def _page_number(request: web.Request) -> int | None:
    raw = request.query.get("page")
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise web.HTTPBadRequest(text="page must be a positive integer")
    return int(raw)


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


async def _paged_collection(
    request: web.Request,
    name: str,
    count: Callable[[Connection, int], Awaitable[int]],
    page_of: Callable[[Connection, int, int, int], Awaitable[list[Any]]],
) -> web.Response:
    """An actor's collection ``name``: its size, and one page of items when ``?page=N`` asks."""
    node = node_of(request)
    actor = await _actor_or_404(request)
    page = _page_number(request)
    total = await count(node.db.reader, actor.id)
    items = [] if page is None else await page_of(node.db.reader, actor.id, (page - 1) * PAGE_SIZE, PAGE_SIZE)
    collection_id = f"{node.urls.actor(actor.kind, actor.name)}/{name}"
    return activity_response(ordered_collection(collection_id, total, page, items))


async def _public_activity_page(conn: Connection, actor_id: int, offset: int, limit: int) -> list[Any]:
    rows = await outbox_repo.list_public_activities(conn, actor_id, offset, limit)
    return [{k: v for k, v in row.body.items() if k != "@context"} for row in rows]


async def outbox(request: web.Request) -> web.Response:
    """The actor's public activities, newest first, paged."""
    return await _paged_collection(
        request, "outbox", outbox_repo.count_public_activities, _public_activity_page
    )


async def followers(request: web.Request) -> web.Response:
    """The actor's followers, paged."""
    return await _paged_collection(
        request, "followers", follow_repo.count_followers, follow_repo.list_follower_page
    )


async def following(request: web.Request) -> web.Response:
    """How many accounts the actor follows (the list itself is not published)."""
    node = node_of(request)
    actor = await _actor_or_404(request)
    collection_id = f"{node.urls.actor(actor.kind, actor.name)}/following"
    total = await follow_repo.count_following(node.db.reader, actor.id)
    return activity_response(
        {"@context": CONTEXT, "id": collection_id, "type": "OrderedCollection", "totalItems": total}
    )


async def stored_object(request: web.Request) -> web.Response:
    """An object we created (e.g. an announcement Note), at its id."""
    node = node_of(request)
    obj = await outbox_repo.get_object(node.db.reader, f"{node.urls.base}{request.path}")
    if obj is None:
        raise web.HTTPNotFound(text="no such object")
    doc = {"@context": CONTEXT, **obj}
    return page_or_document(request, doc, obj.get("type", "object"), obj.get("content", ""))


async def stored_activity(request: web.Request) -> web.Response:
    """A public activity we published, at its id (non-public ones are not served)."""
    node = node_of(request)
    row = await outbox_repo.get_activity(node.db.reader, f"{node.urls.base}{request.path}")
    if row is None or not _is_public(row.body):
        raise web.HTTPNotFound(text="no such activity")
    return activity_response(row.body)


def _is_public(doc: dict[str, Any]) -> bool:
    audience = doc.get("to", []) + doc.get("cc", []) if isinstance(doc.get("to", []), list) else []
    return "https://www.w3.org/ns/activitystreams#Public" in audience


async def namespace(request: web.Request) -> web.Response:
    """A copy of our JSON-LD context."""
    return web.Response(
        body=json.dumps(context_document()).encode(),
        headers={"Content-Type": "application/ld+json", "Access-Control-Allow-Origin": "*"},
    )


async def home(request: web.Request) -> web.Response:
    """The node's front page."""
    node = node_of(request)
    return html_page("fedassembly", f"<h1>fedassembly</h1><p>{html.escape(node.urls.base)}</p>")


async def health(request: web.Request) -> web.Response:
    """Liveness for admins and tests."""
    return json_response({"ok": True})
