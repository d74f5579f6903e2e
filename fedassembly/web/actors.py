"""Actor documents, their collections, stored objects and activities, and our context (/ns)."""

from __future__ import annotations

import html
import json

from aiohttp import web

from fedassembly.app import health as node_health
from fedassembly.app import queries
from fedassembly.app.errors import InvalidError, NotFoundError
from fedassembly.app.records import LocalActor
from fedassembly.app.vocab import context_document
from fedassembly.web.common import activity_response, html_page, json_response, node_of, page_or_document


async def _actor_or_404(request: web.Request) -> LocalActor:
    section = request.match_info.get("section", "")
    name = request.match_info.get("name", "actor")
    try:
        return await queries.local_actor(node_of(request), section, name)
    except NotFoundError as error:
        raise web.HTTPNotFound(text=str(error)) from error


async def actor_page(request: web.Request) -> web.Response:
    """A group, person or the instance actor: JSON for ActivityPub clients, else HTML."""
    node = node_of(request)
    actor = await _actor_or_404(request)
    doc = await queries.actor_document(node, actor)
    handle = node.urls.local_handle(actor.name)
    followers = await queries.follower_count(node, actor)
    body = (
        f"<h1>{html.escape(actor.title or actor.name)}</h1><p>{html.escape(handle)}</p>"
        f"<p>{html.escape(actor.summary)}</p><p>{followers} followers</p>"
        f"<p>Follow {html.escape(handle)} from any fediverse account.</p>"
    )
    return page_or_document(request, doc, actor.title or actor.name, body)


def page_number(request: web.Request) -> int | None:
    """``?page=N`` (a positive integer), None when absent; 400 otherwise."""
    raw = request.query.get("page")
    if raw is None:
        return None
    # The length first: int() of more than 4300 digits raises.
    if len(raw) > 10 or not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= 2**31:
        raise InvalidError("page must be a positive integer")
    return int(raw)


async def _paged(request: web.Request, name: str) -> web.Response:
    actor = await _actor_or_404(request)
    doc = await queries.paged_collection(node_of(request), actor, name, page_number(request))
    return activity_response(doc)


async def outbox(request: web.Request) -> web.Response:
    """The actor's public activities, newest first, paged."""
    return await _paged(request, "outbox")


async def followers(request: web.Request) -> web.Response:
    """The actor's followers, paged."""
    return await _paged(request, "followers")


async def following(request: web.Request) -> web.Response:
    """How many accounts the actor follows (the list itself is not published)."""
    actor = await _actor_or_404(request)
    return activity_response(await queries.following_collection(node_of(request), actor))


async def stored_object(request: web.Request) -> web.Response:
    """An object we created (e.g. an announcement Note), at its id."""
    node = node_of(request)
    try:
        doc = await queries.stored_object(node, f"{node.urls.base}{request.path}")
    except NotFoundError as error:
        raise web.HTTPNotFound(text=str(error)) from error
    return page_or_document(request, doc, doc.get("type", "object"), doc.get("content", ""))


async def stored_activity(request: web.Request) -> web.Response:
    """A public activity we published, at its id (non-public ones are not served)."""
    node = node_of(request)
    try:
        doc = await queries.public_activity(node, f"{node.urls.base}{request.path}")
    except NotFoundError as error:
        raise web.HTTPNotFound(text=str(error)) from error
    return activity_response(doc)


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
    """The database and the delivery queue, for admins and monitors: 503 when not ok."""
    report = await node_health.health(node_of(request))
    return json_response(report, 200 if report["ok"] else 503)
