"""Inbox routes: verify (federation/), then dedupe and handle in one durable unit."""

from __future__ import annotations

import json
import logging
import time

from aiohttp import web

from fedassembly.app.inbox import HandlerError, handle, may_have_effect, prepare
from fedassembly.app.remote_actors import RemoteActorError
from fedassembly.web.common import node_of
from federation.inbox import InboxError, InboxVerifier
from storage import actors as actor_repo
from storage import inbox as inbox_repo
from storage.db import Connection

log = logging.getLogger("fedassembly.inbox")

VERIFIER = web.AppKey("inbox_verifier", InboxVerifier)
# Local actors are never deleted and never change name or kind, so an inbox owner once found
# stays valid: a busy inbox skips the read (a thread hand-off) on every POST.
OWNER_KINDS = web.AppKey("inbox_owner_kinds", dict[str, str])


async def _owner_kind(request: web.Request, name: str) -> str | None:
    known = request.app[OWNER_KINDS]
    kind = known.get(name)
    if kind is None:
        actor = await actor_repo.get_actor_by_name(node_of(request).db.reader, name)
        if actor is None:
            return None
        kind = known[name] = actor.kind
    return kind


async def inbox(request: web.Request) -> web.Response:
    """POST to /inbox or an actor's inbox: 202 once the activity and its effect are durable."""
    node = node_of(request)
    name = request.match_info.get("name")
    if name is not None:
        section = request.match_info["section"]
        kinds = ("person",) if section == "people" else ("assembly", "council")
        if await _owner_kind(request, name) not in kinds:
            return _refuse(request, 404, f"no inbox for {section}/{name}")
    try:
        verified = await request.app[VERIFIER].verify(request)
    except InboxError as error:
        return _refuse(request, error.status, error.reason)
    activity = verified.activity
    if not may_have_effect(node, activity):
        # Nothing can change: record it (dedupe) with the next group commit, no unit of its own.
        await inbox_repo.append_inbox_activity(
            node.db, activity["id"], verified.actor, activity["type"], verified.body.decode(), time.time()
        )
        log.info(
            "inbox %s %s from %s (%s): no effect here",
            activity["type"],
            activity["id"],
            verified.actor,
            verified.scheme,
        )
        return web.Response(status=202, text="accepted")
    try:
        delivery = await prepare(node, verified)
    except RemoteActorError as error:
        return _refuse(request, 401, f"sender unavailable: {error}")

    async def record_and_handle(conn: Connection) -> tuple[bool, str]:
        fresh = await inbox_repo.put_inbox_activity(
            conn, activity["id"], verified.actor, activity["type"], verified.body.decode(), time.time()
        )
        return fresh, await handle(delivery, conn) if fresh else "duplicate: already handled"

    try:
        fresh, outcome = await node.db.run(record_and_handle)
    except HandlerError as error:
        return _refuse(request, error.status, error.reason)
    if fresh:
        # Wake the delivery worker only now that what the handler queued is committed.
        node.delivery_queued()
        if activity["type"] == "Delete":
            node.remote.forget(verified.actor)
    log.info(
        "inbox %s %s from %s (%s): %s",
        activity["type"],
        activity["id"],
        verified.actor,
        verified.scheme,
        outcome,
    )
    return web.Response(status=202, text="accepted")


def _refuse(request: web.Request, status: int, reason: str) -> web.Response:
    log.info("inbox %s refused %d: %s", request.path, status, reason)
    if status == 202:
        return web.Response(status=202, text="accepted")
    return web.Response(
        status=status, body=json.dumps({"error": reason}).encode(), content_type="application/json"
    )
