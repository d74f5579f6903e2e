"""Inbox routes: verify (federation/), then record and apply in one durable unit (app/)."""

from __future__ import annotations

import json
import logging

from aiohttp import web

from fedassembly.app.errors import HandlerError
from fedassembly.app.inbox import InboxHandlers, receive
from fedassembly.app.received import InboxOwners
from fedassembly.app.remote_actors import RemoteActorError
from fedassembly.web.common import node_of
from federation.inbox import InboxError, InboxVerifier
from federation.signing_schemes import SchemeMemory

log = logging.getLogger("fedassembly.inbox")

VERIFIER = web.AppKey("inbox_verifier", InboxVerifier)
HANDLERS = web.AppKey("inbox_handlers", InboxHandlers)
OWNERS = web.AppKey("inbox_owners", InboxOwners)
SCHEMES = web.AppKey("signature_schemes", SchemeMemory)


async def inbox(request: web.Request) -> web.Response:
    """POST to /inbox or an actor's inbox: 202 once the activity and its effect are durable."""
    node = node_of(request)
    name = request.match_info.get("name")
    if name is not None:
        section = request.match_info["section"]
        if not await request.app[OWNERS].has_inbox(node, section, name):
            return _refuse(request, 404, f"no inbox for {section}/{name}")
    try:
        verified = await request.app[VERIFIER].verify(request)
    except InboxError as error:
        if error.retry_after is not None:
            return _too_many(error.reason, error.retry_after)
        return _refuse(request, error.status, error.reason)
    # A host whose RFC 9421 signature verified is signed RFC 9421 first (cheap: in memory).
    request.app[SCHEMES].heard(verified.key_id, verified.scheme)
    try:
        outcome = await receive(node, request.app[HANDLERS], verified)
    except RemoteActorError as error:
        return _refuse(request, 401, f"sender unavailable: {error}")
    except HandlerError as error:
        return _refuse(request, error.status, str(error))
    activity = verified.activity
    log.info(
        "inbox %s %s from %s (%s): %s",
        activity["type"], activity["id"], verified.actor, verified.scheme, outcome,
    )
    return web.Response(status=202, text="accepted")


def _too_many(reason: str, retry_after: int) -> web.Response:
    # No line per request: a flood would flood the log. The limit logs once per host per window.
    return web.Response(
        status=429, headers={"Retry-After": str(retry_after)},
        body=json.dumps({"error": reason}).encode(), content_type="application/json",
    )


def _refuse(request: web.Request, status: int, reason: str) -> web.Response:
    log.info("inbox %s refused %d: %s", request.path, status, reason)
    if status == 202:
        return web.Response(status=202, text="accepted")
    return web.Response(
        status=status, body=json.dumps({"error": reason}).encode(), content_type="application/json"
    )
