"""A proposal's decision and its ballots page; who reads the ballots is decided in app/."""

from __future__ import annotations

import html

from aiohttp import web

from fedassembly.app import proposal_views as views
from fedassembly.web.api import optional_person
from fedassembly.web.common import json_response, node_of, page_or_document
from fedassembly.web.proposals import proposal_id


def add_routes(app: web.Application) -> None:
    """Register this module's routes."""
    app.router.add_get("/proposals/{id:[0-9]+}/decision", decision_page)
    app.router.add_get("/proposals/{id:[0-9]+}/ballots", ballots_page)


async def decision_page(request: web.Request) -> web.Response:
    """The signed `fa:Decision` as ActivityPub JSON or HTML; 404 until decided."""
    proposal, doc = await views.decision_document(node_of(request), proposal_id(request))
    outcome = doc["fa:outcome"]
    rows = "".join(
        f"<tr><td>{html.escape(row['name'])}</td><td>{row['direct']}</td><td>{row['delegated']}</td>"
        f"<td>{row['total']}</td></tr>" for row in doc["fa:tally"]
    )
    body = (
        f"<h1>Decision: {html.escape(proposal.title)}</h1>"
        f"<p>Outcome: {html.escape(outcome['status'])}; winners: "
        f"{html.escape(', '.join(outcome['winners'])) or 'none'}.</p>"
        "<table><tr><th>option</th><th>direct</th><th>delegated</th><th>total</th></tr>"
        f"{rows}</table><p>Turnout {doc['fa:turnout']} of {doc['fa:rosterSize']}; ballot log root "
        f"<code>{doc['fa:ballotLog']['rootHash']}</code>.</p>"
    )
    return page_or_document(request, doc, f"Decision: {proposal.title}", body)


async def ballots_page(request: web.Request) -> web.Response:
    """Every leaf, the counted ballots, the delegation snapshot and the tree head, as visible."""
    page = await views.ballots_page(node_of(request), proposal_id(request), await optional_person(request))
    return json_response(page)
