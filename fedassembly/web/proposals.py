"""Proposals over HTTP: the DESIGN 8 API, the Question at ``/proposals/ID`` and receipts."""

from __future__ import annotations

import html
from fractions import Fraction
from typing import Any

from aiohttp import web

from fedassembly.app import accounts
from fedassembly.app import proposals as uc
from fedassembly.app.clock import iso
from fedassembly.app.errors import InvalidError, NotFoundError
from fedassembly.app.group_settings import group_setting
from fedassembly.app.node import Node
from fedassembly.web.api import authenticated, json_body, optional_person, require_facilitator
from fedassembly.web.common import json_response, node_of, page_or_document
from storage import ballots as ballot_repo
from storage import members as member_repo
from storage import proposals as proposal_repo
from storage.actors import LocalActor
from storage.proposals import Proposal


def add_routes(app: web.Application) -> None:
    """Register this module's routes."""
    r = app.router
    r.add_post("/api/v1/groups/{name}/proposals", post_proposal)
    r.add_get("/api/v1/groups/{name}/proposals", list_proposals)
    r.add_get(r"/api/v1/proposals/{id:\d+}", get_proposal)
    r.add_delete(r"/api/v1/proposals/{id:\d+}", delete_proposal)
    r.add_post(r"/api/v1/proposals/{id:\d+}/ballots", post_ballot)
    r.add_get(r"/api/v1/proposals/{id:\d+}/receipt", get_receipt)
    r.add_get(r"/proposals/{id:\d+}", question_page)
    r.add_get(r"/proposals/{id:\d+}/receipts/{leaf:[0-9a-fA-F]{64}}", receipt_page)


def _proposal_id(request: web.Request) -> int:
    try:
        return int(request.match_info["id"])
    except ValueError as error:  # beyond SQLite's integers
        raise NotFoundError("no such proposal") from error


async def _view(node: Node, proposal: Proposal, person: LocalActor | None) -> dict[str, Any]:
    """A proposal as the API shows it."""
    conn = node.db.reader
    group = await uc.group_of(conn, proposal)
    view: dict[str, Any] = {
        "id": proposal.id,
        "url": node.urls.proposal(proposal.id),
        "group": group.name,
        "kind": proposal.kind,
        "title": proposal.title,
        "content": proposal.content,
        "options": list(proposal.options),
        "method": proposal.method,
        "rule": {"threshold": proposal.threshold, "quorum": float(Fraction(proposal.quorum))},
        "area": proposal.area,
        "status_quo": proposal.status_quo,
        "closes_at": iso(proposal.closes_at),
        "state": proposal.state,
        "closed": not proposal.is_open,
        "closed_at": proposal.closed_at,
        "withdrawn": proposal.state == "withdrawn",
        "decision": proposal.decision,
        "my_chain": None,
    }
    counts = await uc.current_counts(conn, proposal)
    view["voters_count"] = counts.voters_count
    # A hidden assembly shows only counts until the close (DESIGN 5); the tally's direct and
    # delegated split would say who carried whose weight.
    if not (proposal.is_open and group_setting(group, "ballots") == "hidden"):
        view["tally"] = [
            {"name": r.name, "direct": r.direct, "delegated": r.delegated, "total": r.total}
            for r in counts.tally
        ]
    if person is not None and await member_repo.get_local_member(conn, group.id, person.id) is not None:
        view["my_chain"] = await uc.my_chain(conn, proposal, node.urls.actor("person", person.name))
    return view


async def post_proposal(request: web.Request) -> web.Response:
    """A facilitator opens a proposal → 201 {id, url}."""
    node = node_of(request)
    person = await authenticated(request)
    group = await accounts.get_actor(node, request.match_info["name"], "assembly")
    await require_facilitator(node, group, person)
    proposal = await uc.create_proposal(node, group, person, await json_body(request))
    return json_response({"id": proposal.id, "url": node.urls.proposal(proposal.id)}, 201)


async def list_proposals(request: web.Request) -> web.Response:
    """A group's proposals, ``?state=open|closed`` to filter."""
    node = node_of(request)
    person = await optional_person(request)
    group = await accounts.get_actor(node, request.match_info["name"], "assembly")
    state = request.query.get("state")
    if state not in (None, "open", "closed"):
        raise InvalidError("state is open or closed")
    proposals = await proposal_repo.list_proposals_by_group(node.db.reader, group.id, state)
    return json_response([await _view(node, p, person) for p in proposals])


async def get_proposal(request: web.Request) -> web.Response:
    """One proposal with its current tally (unless hidden) and the caller's delegation chain."""
    node = node_of(request)
    person = await optional_person(request)
    proposal = await uc.get_proposal(node.db.reader, _proposal_id(request))
    return json_response(await _view(node, proposal, person))


async def delete_proposal(request: web.Request) -> web.Response:
    """A facilitator withdraws an open proposal → 204 (409 once closed or withdrawn)."""
    node = node_of(request)
    person = await authenticated(request)
    proposal = await uc.get_proposal(node.db.reader, _proposal_id(request))
    await require_facilitator(node, await uc.group_of(node.db.reader, proposal), person)
    await uc.withdraw_proposal(node, proposal.id)
    return web.Response(status=204)


async def post_ballot(request: web.Request) -> web.Response:
    """A member's ballot → 201 {id, receipt}; it replaces their earlier one."""
    node = node_of(request)
    person = await authenticated(request)
    data = await json_body(request)
    row, receipt = await uc.cast_ballot(node, _proposal_id(request), person, data)
    return json_response({"id": node.urls.receipt(row.proposal_id, row.leaf_hash), "receipt": receipt}, 201)


async def get_receipt(request: web.Request) -> web.Response:
    """The receipt of the caller's latest ballot, against the current tree."""
    node = node_of(request)
    person = await authenticated(request)
    return json_response(await uc.latest_receipt(node, _proposal_id(request), person))


async def question_page(request: web.Request) -> web.Response:
    """The Question (or score Note) with current counts, or an HTML page for browsers."""
    node = node_of(request)
    proposal = await uc.get_proposal(node.db.reader, _proposal_id(request))
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
    api = html.escape(f"{node.urls.base}/api/v1/proposals/{proposal.id}/ballots")
    return (
        f"<h1>{html.escape(proposal.title)}</h1>{doc['content']}<ul>{items}</ul>"
        f"<p>Method: {html.escape(proposal.method)}; {state} {html.escape(doc['endTime'])}.</p>"
        f"<p>Members vote from Mastodon by answering the poll, or with <code>POST {api}</code>.</p>"
    )


async def receipt_page(request: web.Request) -> web.Response:
    """A ballot's receipt (leaf index, hash, tree size, root, audit path) against the current tree."""
    node = node_of(request)
    proposal = await uc.get_proposal(node.db.reader, _proposal_id(request))
    row = await ballot_repo.get_ballot_by_leaf_hash(node.db.reader, proposal.id, request.match_info["leaf"])
    if row is None:
        raise NotFoundError("no such ballot")
    receipt = await uc.receipt_of(node.db.reader, row)
    return json_response({"proposal": node.urls.proposal(proposal.id), **receipt})
