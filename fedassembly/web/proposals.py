"""Proposals over HTTP: the JSON API, the Question at ``/proposals/ID`` and receipts."""

from __future__ import annotations

import html
from typing import Any

from aiohttp import web

from fedassembly.app import accounts, ballots, roster
from fedassembly.app import proposal_views as views
from fedassembly.app import proposals as uc
from fedassembly.app.errors import NotFoundError
from fedassembly.app.node import Node
from fedassembly.app.records import Proposal
from fedassembly.app.urls import parse_id
from fedassembly.web.api import authenticated, json_body, optional_person
from fedassembly.web.common import json_response, node_of, page_or_document


def add_routes(app: web.Application) -> None:
    """Register this module's routes."""
    r = app.router
    r.add_post("/api/v1/groups/{name}/proposals", post_proposal)
    r.add_get("/api/v1/groups/{name}/proposals", list_proposals)
    r.add_get(r"/api/v1/proposals/{id:[0-9]+}", get_proposal)
    r.add_delete(r"/api/v1/proposals/{id:[0-9]+}", delete_proposal)
    r.add_post(r"/api/v1/proposals/{id:[0-9]+}/ballots", post_ballot)
    r.add_get(r"/api/v1/proposals/{id:[0-9]+}/receipt", get_receipt)
    r.add_get(r"/proposals/{id:[0-9]+}", question_page)
    r.add_get(r"/proposals/{id:[0-9]+}/receipts/{leaf:[0-9a-fA-F]{64}}", receipt_page)


def proposal_id(request: web.Request) -> int:
    """The ``{id}`` of the path: ASCII digits within 64 bits, else 404."""
    found = parse_id(request.match_info["id"])
    if found is None:
        raise NotFoundError("no such proposal")
    return found


async def post_proposal(request: web.Request) -> web.Response:
    """A facilitator opens a proposal → 201 {id, url}."""
    node = node_of(request)
    person = await authenticated(request)
    group = await accounts.get_actor(node, request.match_info["name"], "assembly")
    await roster.require_facilitator(node, group, person)
    proposal = await uc.create_proposal(node, group, person, await json_body(request))
    return json_response({"id": proposal.id, "url": node.urls.proposal(proposal.id)}, 201)


async def list_proposals(request: web.Request) -> web.Response:
    """A group's proposals, ``?state=open|closed`` to filter."""
    node = node_of(request)
    person = await optional_person(request)
    group = await accounts.get_actor(node, request.match_info["name"], "assembly")
    return json_response(await views.group_proposals(node, group, request.query.get("state"), person))


async def get_proposal(request: web.Request) -> web.Response:
    """One proposal with its current tally (unless hidden) and the caller's delegation chain."""
    node = node_of(request)
    person = await optional_person(request)
    proposal = await uc.get_proposal(node.db.reader, proposal_id(request))
    return json_response(await views.proposal_view(node, proposal, person))


async def delete_proposal(request: web.Request) -> web.Response:
    """A facilitator withdraws an open proposal → 204 (409 once closed or withdrawn)."""
    node = node_of(request)
    person = await authenticated(request)
    proposal = await uc.get_proposal(node.db.reader, proposal_id(request))
    await roster.require_facilitator(node, await uc.group_of(node.db.reader, proposal), person)
    await uc.withdraw_proposal(node, proposal.id)
    return web.Response(status=204)


async def post_ballot(request: web.Request) -> web.Response:
    """A member's ballot → 201 {id, receipt}; it replaces their earlier one."""
    node = node_of(request)
    person = await authenticated(request)
    data = await json_body(request)
    row, receipt = await ballots.cast_ballot(node, proposal_id(request), person, data)
    return json_response({"id": node.urls.receipt(row.proposal_id, row.leaf_hash), "receipt": receipt}, 201)


async def get_receipt(request: web.Request) -> web.Response:
    """The receipt of the caller's latest ballot, against the current tree."""
    node = node_of(request)
    person = await authenticated(request)
    return json_response(await ballots.latest_receipt(node, proposal_id(request), person))


async def question_page(request: web.Request) -> web.Response:
    """The Question (or score Note) with current counts, or an HTML page for browsers."""
    node = node_of(request)
    proposal = await uc.get_proposal(node.db.reader, proposal_id(request))
    doc = await uc.question_of(node, node.db.reader, proposal)
    return page_or_document(request, doc, proposal.title, _page(node, proposal, doc))


def _page(node: Node, proposal: Proposal, doc: dict[str, Any]) -> str:
    options = doc.get("oneOf") or doc.get("anyOf") or []
    counts = {o["name"]: o["replies"]["totalItems"] for o in options}
    items = "".join(
        f"<li>{html.escape(name)}" + (f" — {counts[name]}" if name in counts else "") + "</li>"
        for name in proposal.options
    )
    state = "open until" if proposal.is_open else f"{proposal.state}; closing time was"
    api = html.escape(node.urls.api_ballots(proposal.id))
    return (
        f"<h1>{html.escape(proposal.title)}</h1>{doc['content']}<ul>{items}</ul>"
        f"<p>Method: {html.escape(proposal.method)}; {state} {html.escape(doc['endTime'])}.</p>"
        f"<p>Members vote from Mastodon by answering the poll, or with <code>POST {api}</code>.</p>"
    )


async def receipt_page(request: web.Request) -> web.Response:
    """A ballot's receipt (leaf index, hash, tree size, root, audit path) against the current tree."""
    node = node_of(request)
    return json_response(await views.receipt_by_leaf(node, proposal_id(request), request.match_info["leaf"]))
