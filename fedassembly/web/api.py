"""The JSON API's plumbing (token, body, errors) and its first routes: me, follows, announcements."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from fedassembly.app import accounts, follows, roster
from fedassembly.app.errors import (
    CommandError,
    InvalidError,
    TooLargeError,
    UnauthorizedError,
)
from fedassembly.app.records import LocalActor
from fedassembly.web.access import REQUEST_ID
from fedassembly.web.common import error_response, json_response, node_of
from federation.strict_json import BadText, loads

log = logging.getLogger("fedassembly.web")

MAX_API_BODY = 256 * 1024
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def api_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Errors as ``{"error": ...}``: use-case errors with their status, the router's 404 and 405 under
    /api/, and anything unexpected as a 500 logged once with its traceback."""
    try:
        return await handler(request)
    except CommandError as error:
        response = error_response(error.status, str(error), error.reason)
        if error.status == 401:
            # RFC 6750: say which scheme is wanted, and that a token given was not accepted.
            given = request.headers.get("Authorization", "").lower().startswith("bearer ")
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"' if given else "Bearer"
        return response
    except web.HTTPException as error:
        if error.status < 400 or not request.path.startswith("/api/"):
            raise
        response = error_response(error.status, error.reason.lower())
        if "Allow" in error.headers:
            response.headers["Allow"] = error.headers["Allow"]
        return response
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return error_response(500, f"internal error (request {REQUEST_ID.get()})")


async def authenticated(request: web.Request) -> LocalActor:
    """The person whose bearer token authorizes the request."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthorizedError("a bearer token is required")
    return await accounts.person_by_token(node_of(request), token.strip())


async def optional_person(request: web.Request) -> LocalActor | None:
    """The token's person when a token is given, else None."""
    return await authenticated(request) if request.headers.get("Authorization") else None


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, or a 400/413 error (text checked once, here: see strict_json)."""
    if request.content_length is not None and request.content_length > MAX_API_BODY:
        raise TooLargeError("the body is too large")
    raw = await request.content.read(MAX_API_BODY + 1)
    if len(raw) > MAX_API_BODY:
        raise TooLargeError("the body is too large")
    try:
        data = loads(raw or b"{}")
    except BadText as error:
        raise InvalidError(f"the body is not JSON text we accept: {error}") from error
    except (ValueError, RecursionError) as error:
        raise InvalidError("the body is not JSON") from error
    if not isinstance(data, dict):
        raise InvalidError("the body must be a JSON object")
    return data


def string_field(data: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    """A string member of a JSON body."""
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidError(f"{name!r} must be a non-empty string")
    return value


async def me(request: web.Request) -> web.Response:
    """The token's person: name, actor and the groups they belong to."""
    node = node_of(request)
    person = await authenticated(request)
    groups = await roster.memberships(node, person)
    return json_response(
        {"name": person.name, "actor": node.urls.actor("person", person.name), "groups": groups}
    )


async def post_follow(request: web.Request) -> web.Response:
    """The token's person follows ``target`` (an ``@user@host`` handle or an actor IRI)."""
    person = await authenticated(request)
    target = string_field(await json_body(request), "target")
    assert target is not None
    follow_id = await follows.follow(node_of(request), person, target)
    return json_response({"id": follow_id, "state": "pending"}, 202)


async def delete_follow(request: web.Request) -> web.Response:
    """The token's person stops following ``?target=``."""
    person = await authenticated(request)
    target = request.query.get("target", "")
    if not target:
        raise InvalidError("the target query parameter is required")
    await follows.unfollow(node_of(request), person, target)
    return web.Response(status=204)


async def post_announcement(request: web.Request) -> web.Response:
    """A facilitator's group posts a public Note to its followers."""
    node = node_of(request)
    person = await authenticated(request)
    group = await accounts.get_actor(node, request.match_info["name"], "assembly", "council")
    await roster.require_facilitator(node, group, person)
    content = string_field(await json_body(request), "content")
    assert content is not None
    note = await follows.announce(node, group, content)
    return json_response({"id": note["id"], "url": note["id"]}, 201)
