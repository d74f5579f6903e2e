"""Rosters, assembly settings and delegations over the JSON API, and the members collection."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from fedassembly.app import accounts, delegations, queries, roster
from fedassembly.app.errors import InvalidError, NotFoundError
from fedassembly.app.records import LocalActor
from fedassembly.app.urls import handle_of
from fedassembly.web.actors import page_number
from fedassembly.web.api import authenticated, json_body, optional_person, string_field
from fedassembly.web.common import activity_response, json_response, node_of

GROUP_KINDS = ("assembly", "council")


def add_routes(app: web.Application) -> None:
    """Register this module's routes."""
    r = app.router
    r.add_get("/groups/{name}/members", members_collection)
    r.add_get("/api/v1/groups/{name}/members", list_members)
    r.add_post("/api/v1/groups/{name}/members", post_member)
    r.add_delete("/api/v1/groups/{name}/members/{who:.+}", delete_member)
    r.add_patch("/api/v1/groups/{name}", patch_group)
    r.add_get("/api/v1/groups/{name}/delegation", get_delegation)
    r.add_put("/api/v1/groups/{name}/delegation", put_delegation)
    r.add_delete("/api/v1/groups/{name}/delegation", delete_delegation)


async def _group(request: web.Request, *kinds: str) -> LocalActor:
    return await accounts.get_actor(node_of(request), request.match_info["name"], *(kinds or GROUP_KINDS))


def _person_iri(request: web.Request, person: LocalActor) -> str:
    return node_of(request).urls.actor("person", person.name)


async def members_collection(request: web.Request) -> web.Response:
    """The members collection: member IRIs when the roster is public, else only their number."""
    try:
        group = await _group(request)
    except NotFoundError as error:
        raise web.HTTPNotFound(text=str(error)) from error
    doc = await queries.members_collection(node_of(request), group, page_number(request))
    return activity_response(doc)


async def list_members(request: web.Request) -> web.Response:
    """``[{who, actor, facilitator}]``: anyone for a public roster, else members only."""
    group = await _group(request)
    return json_response(await roster.roster_view(node_of(request), group, await optional_person(request)))


async def post_member(request: web.Request) -> web.Response:
    """A facilitator adds ``{who, facilitator?}``; 409 if already a member."""
    node = node_of(request)
    person = await authenticated(request)
    group = await _group(request)
    await roster.require_facilitator(node, group, person)
    data = await json_body(request)
    who = string_field(data, "who")
    assert who is not None
    facilitator = data.get("facilitator", False)
    if not isinstance(facilitator, bool):
        raise InvalidError("'facilitator' must be true or false")
    candidate = await roster.add_member(node, group, who, facilitator)
    name = candidate.local.name if candidate.local else (
        handle_of(candidate.remote) if candidate.remote else candidate.actor)
    return json_response({"who": name, "actor": candidate.actor, "facilitator": facilitator}, 201)


async def delete_member(request: web.Request) -> web.Response:
    """A facilitator takes ``WHO`` off the roster."""
    node = node_of(request)
    person = await authenticated(request)
    group = await _group(request)
    await roster.require_facilitator(node, group, person)
    await roster.remove_member(node, group, request.match_info["who"])
    return web.Response(status=204)


def _on_off(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if value in ("on", "off"):
        return bool(value == "on")
    raise InvalidError("'vote_receipts' must be true, false, \"on\" or \"off\"")


async def patch_group(request: web.Request) -> web.Response:
    """A facilitator changes the assembly's settings: ballots, roster, vote_receipts."""
    node = node_of(request)
    person = await authenticated(request)
    group = await _group(request, "assembly")
    await roster.require_facilitator(node, group, person)
    data = await json_body(request)
    unknown = set(data) - {"ballots", "roster", "vote_receipts"}
    if unknown:
        raise InvalidError(f"unknown settings: {', '.join(sorted(unknown))}")
    if not data:
        raise InvalidError("name at least one of ballots, roster, vote_receipts")
    settings = await roster.update_settings(
        node, group, ballots=string_field(data, "ballots", required=False),
        roster=string_field(data, "roster", required=False), vote_receipts=_on_off(data.get("vote_receipts")),
    )
    return json_response({"name": group.name, **settings})


async def put_delegation(request: web.Request) -> web.Response:
    """A member delegates: ``{delegate, area?}`` or ``{delegate, proposal}``; delegate null = nobody."""
    node = node_of(request)
    person = await authenticated(request)
    group = await _group(request, "assembly")
    data = await json_body(request)
    if "delegate" not in data:
        raise InvalidError("'delegate' is required (a member, or null for no delegation in this scope)")
    delegate = data["delegate"]
    if delegate is not None and (not isinstance(delegate, str) or not delegate.strip()):
        raise InvalidError("'delegate' must be a member (name, @user@host or IRI) or null")
    scope = delegations.scope_of(data.get("area"), data.get("proposal"))
    delegator = _person_iri(request, person)
    return json_response(await delegations.delegate(node, group, delegator, delegate, scope))


async def delete_delegation(request: web.Request) -> web.Response:
    """A member revokes the delegation of ``?area=``, ``?proposal=`` or (neither) the global one."""
    node = node_of(request)
    person = await authenticated(request)
    group = await _group(request, "assembly")
    scope = delegations.scope_of(request.query.get("area"), request.query.get("proposal"))
    await delegations.revoke(node, group, _person_iri(request, person), scope)
    return web.Response(status=204)


async def get_delegation(request: web.Request) -> web.Response:
    """A member's delegations and the delegations to them."""
    node = node_of(request)
    person = await authenticated(request)
    group = await _group(request, "assembly")
    report = await delegations.delegation_report(node, node.db.reader, group, _person_iri(request, person))
    return json_response(report)
