"""Read models of proposals for the web layer: the API's view, the decision, the ballots page.

Who may read whose ballots is decided in one place, ``ballots_visibility``, from the assembly's
``ballots`` setting: ``public`` shows who voted what to anyone; ``members`` to the roster's local
members (remote members cannot prove who they are on a plain GET yet); ``hidden`` shows only the
per-option counts until the decision, then behaves as ``members``.
"""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any, Literal

from fedassembly.app.ballots import receipt_of
from fedassembly.app.clock import iso
from fedassembly.app.counts import current_counts, my_chain
from fedassembly.app.errors import ForbiddenError, InvalidError, NotFoundError
from fedassembly.app.group_settings import group_setting
from fedassembly.app.node import Node
from fedassembly.app.proposals import get_proposal, group_of
from fedassembly.app.roster import is_local_member
from fedassembly.governance import ballot_log
from storage import ballots as ballot_repo
from storage import proposals as proposal_repo
from storage.actors import LocalActor
from storage.proposals import Proposal

# everything: who voted what; counts_only: per-option totals, not even the direct/delegated split
# (it would tell who carried whose weight); members_only: the reader may not see the ballots.
Visibility = Literal["everything", "counts_only", "members_only"]


def ballots_visibility(setting: str, decided: bool, member: bool) -> Visibility:
    """What a reader may see of a proposal's ballots under the assembly's ``ballots`` setting."""
    if setting == "public":
        return "everything"
    if setting == "hidden" and not decided:
        return "counts_only"
    return "everything" if member else "members_only"


def _tally_json(rows: Any) -> list[dict[str, Any]]:
    return [{"name": r.name, "direct": r.direct, "delegated": r.delegated, "total": r.total} for r in rows]


async def proposal_view(node: Node, proposal: Proposal, person: LocalActor | None) -> dict[str, Any]:
    """A proposal as the API shows it; ``decision`` is the decision's URL once decided."""
    conn = node.db.reader
    group = await group_of(conn, proposal)
    member = await is_local_member(node, group, person)
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
        "decision": node.urls.decision(proposal.id) if proposal.decision is not None else None,
        "my_chain": None,
    }
    counts = await current_counts(conn, proposal)
    view["voters_count"] = counts.voters_count
    decided = proposal.decision is not None
    if ballots_visibility(group_setting(group, "ballots"), decided, member) != "counts_only":
        view["tally"] = _tally_json(counts.tally)
    if person is not None and member:
        view["my_chain"] = await my_chain(conn, proposal, node.urls.actor("person", person.name))
    return view


async def group_proposals(
    node: Node, group: LocalActor, state: str | None, person: LocalActor | None
) -> list[dict[str, Any]]:
    """A group's proposals (``state`` open or closed, or all), as the API shows them."""
    if state not in (None, "open", "closed"):
        raise InvalidError("state is open or closed")
    proposals = await proposal_repo.list_proposals_by_group(node.db.reader, group.id, state)
    return [await proposal_view(node, p, person) for p in proposals]


async def decision_document(node: Node, proposal_id: int) -> tuple[Proposal, dict[str, Any]]:
    """The proposal and its signed ``fa:Decision``; NotFoundError until decided."""
    proposal = await get_proposal(node.db.reader, proposal_id)
    if proposal.decision is None:
        raise NotFoundError(f"proposal {proposal.id} has no decision")
    return proposal, json.loads(proposal.decision)


async def ballots_page(node: Node, proposal_id: int, person: LocalActor | None) -> dict[str, Any]:
    """Every leaf, the counted ballots, the delegation snapshot and the tree head, as visible."""
    conn = node.db.reader
    proposal = await get_proposal(conn, proposal_id)
    group = await group_of(conn, proposal)
    decided = proposal.snapshot is not None
    visibility = ballots_visibility(
        group_setting(group, "ballots"), decided, await is_local_member(node, group, person)
    )
    if visibility == "members_only":
        raise ForbiddenError("the ballots of this assembly are for its members")
    if proposal.snapshot is not None:
        page: dict[str, Any] = json.loads(proposal.snapshot)
        return page
    leaves = await ballot_repo.list_ballots(conn, proposal.id)
    tree = ballot_log.MerkleTree([bytes.fromhex(leaf.leaf_hash) for leaf in leaves])
    counts = await current_counts(conn, proposal)
    page = {
        "proposal": node.urls.proposal(proposal.id),
        "state": proposal.state,
        "treeHead": {"size": tree.size, "rootHash": tree.root().hex()},
        "tally": _tally_json(counts.tally) if visibility == "everything"
        else [{"name": r.name, "total": r.total} for r in counts.tally],
        "votersCount": counts.voters_count,
    }
    if visibility == "everything":
        page["leaves"] = [
            {"seq": leaf.seq, "voter": leaf.voter, "ballot": leaf.ballot, "received_at": leaf.received_at,
             "leaf_hash": leaf.leaf_hash} for leaf in leaves
        ]
    return page


async def receipt_by_leaf(node: Node, proposal_id: int, leaf_hash: str) -> dict[str, Any]:
    """A ballot's receipt, found by its leaf hash, against the proposal's current tree."""
    conn = node.db.reader
    proposal = await get_proposal(conn, proposal_id)
    row = await ballot_repo.get_ballot_by_leaf_hash(conn, proposal.id, leaf_hash)
    if row is None:
        raise NotFoundError("no such ballot")
    return {"proposal": node.urls.proposal(proposal.id), **await receipt_of(conn, row)}
