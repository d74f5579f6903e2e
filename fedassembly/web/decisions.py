"""A proposal's decision and its ballots page (DESIGN 3, 4, 5); receipts are served with proposals.

Who reads `/proposals/ID/ballots` follows the assembly's `ballots` setting: `public` anyone,
`members` the roster's local members (bearer token), `hidden` only counts until the close and
then members. Remote members cannot prove who they are on a plain GET yet, so they get what
non-members get.
"""

from __future__ import annotations

import html
import json
from typing import Any

from aiohttp import web

from fedassembly.app.errors import ForbiddenError, NotFoundError
from fedassembly.app.proposals import current_counts, get_proposal, group_of, group_setting
from fedassembly.governance import ballot_log
from fedassembly.web.api import optional_person
from fedassembly.web.common import json_response, node_of, page_or_document
from storage import ballots as ballot_repo
from storage import members as member_repo
from storage.actors import LocalActor
from storage.proposals import Proposal


def add_routes(app: web.Application) -> None:
    """Register this module's routes."""
    app.router.add_get("/proposals/{id:[0-9]+}/decision", decision_page)
    app.router.add_get("/proposals/{id:[0-9]+}/ballots", ballots_page)


async def _proposal(request: web.Request) -> Proposal:
    return await get_proposal(node_of(request).db.reader, int(request.match_info["id"]))


async def decision_page(request: web.Request) -> web.Response:
    """The signed `fa:Decision` as ActivityPub JSON or HTML; 404 until decided."""
    proposal = await _proposal(request)
    if proposal.decision is None:
        raise NotFoundError(f"proposal {proposal.id} has no decision")
    doc = json.loads(proposal.decision)
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


async def _is_member(request: web.Request, group: LocalActor) -> bool:
    person = await optional_person(request)
    if person is None:
        return False
    return await member_repo.get_local_member(node_of(request).db.reader, group.id, person.id) is not None


async def ballots_page(request: web.Request) -> web.Response:
    """Every leaf, the counted ballots, the delegation snapshot and the tree head, per the setting."""
    node = node_of(request)
    conn = node.db.reader
    proposal = await _proposal(request)
    group = await group_of(conn, proposal)
    setting = group_setting(group, "ballots")
    counts_only = setting == "hidden" and proposal.snapshot is None
    if setting != "public" and not counts_only and not await _is_member(request, group):
        raise ForbiddenError("the ballots of this assembly are for its members")
    if proposal.snapshot is not None:
        return json_response(json.loads(proposal.snapshot))
    leaves = await ballot_repo.list_ballots(conn, proposal.id)
    tree = ballot_log.MerkleTree([bytes.fromhex(leaf.leaf_hash) for leaf in leaves])
    counts = await current_counts(conn, proposal)
    page: dict[str, Any] = {
        "proposal": node.urls.proposal(proposal.id),
        "state": proposal.state,
        "treeHead": {"size": tree.size, "rootHash": tree.root().hex()},
        "tally": [{"name": r.name, "direct": r.direct, "delegated": r.delegated, "total": r.total}
                  for r in counts.tally],
        "votersCount": counts.voters_count,
    }
    if not counts_only:
        page["leaves"] = [
            {"seq": leaf.seq, "voter": leaf.voter, "ballot": leaf.ballot, "received_at": leaf.received_at,
             "leaf_hash": leaf.leaf_hash} for leaf in leaves
        ]
    return json_response(page)
