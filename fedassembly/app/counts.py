"""Stored rows as the governance core's values, in one place, and the counts built on them.

Every count, live or final, reads rows through these functions, so the live counts a member
sees and the decision the closer signs cannot disagree on what a row means. One error policy
for rows the core refuses (a delegation that no longer makes sense): skipped with a log line,
never a failed count, since one bad row must not stop an assembly from deciding.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from fractions import Fraction
from typing import Any

from fedassembly.governance.ballots import Ballot, ballot_from_json
from fedassembly.governance.delegation import Delegation, applies_to, resolve_delegation, scope_of
from fedassembly.governance.errors import GovernanceError
from fedassembly.governance.model import Method, ProposalSpec, method_of, threshold_of
from fedassembly.governance.tally import LiveCounts, live_counts
from storage import ballots as ballot_repo
from storage import delegations as delegation_repo
from storage import members as member_repo
from storage.db import Connection
from storage.delegations import StoredDelegation
from storage.proposals import Proposal

log = logging.getLogger("fedassembly.app.counts")


def spec_of(proposal: Proposal) -> ProposalSpec:
    """The frozen rules of a stored proposal, for the governance core."""
    method = method_of(proposal.method)
    return ProposalSpec(
        options=proposal.options, method=method, threshold=threshold_of(method, proposal.threshold),
        quorum=Fraction(proposal.quorum), area=proposal.area, status_quo=proposal.status_quo,
    )


def delegation_of(row: StoredDelegation) -> Delegation | None:
    """A stored delegation as the core's value; None (and a log line) when the core refuses it."""
    try:
        return Delegation(
            row.delegator, row.delegate, scope_of(row.scope),
            area=row.scope_key if row.scope == "area" else None,
            proposal=row.scope_key if row.scope == "proposal" else None,
        )
    except GovernanceError as error:
        log.warning("delegation of %s in group %d ignored: %s", row.delegator, row.group_id, error)
        return None


async def delegations_of(conn: Connection, group_id: int) -> list[Delegation]:
    """The group's delegations in force now, as governance values."""
    found = (delegation_of(row) for row in await delegation_repo.list_delegations(conn, group_id))
    return [delegation for delegation in found if delegation is not None]


def applying_to(delegations: Iterable[Delegation], proposal: Proposal) -> list[Delegation]:
    """The delegations that bear on ``proposal`` (global, its area, itself)."""
    return [d for d in delegations if applies_to(d, str(proposal.id), proposal.area)]


def snapshot_item(delegation: Delegation) -> dict[str, Any]:
    """A delegation as the ballots page lists it: ``{delegator, scope, delegate, area|proposal?}``."""
    item: dict[str, Any] = {
        "delegator": delegation.delegator, "scope": delegation.scope, "delegate": delegation.delegate,
    }
    if delegation.scope == "area":
        item["area"] = delegation.area
    elif delegation.scope == "proposal":
        item["proposal"] = delegation.proposal
    return item


def _delegation_from_snapshot(item: dict[str, Any]) -> Delegation:
    """A delegation of the ballots page (``snapshot_item``) as the core's value again."""
    return Delegation(
        item["delegator"], item["delegate"], scope_of(item["scope"]),
        area=item.get("area"), proposal=item.get("proposal"),
    )


def ballots_of(method: Method, latest: dict[str, Any]) -> dict[str, Ballot]:
    """Stored ballot JSON by voter as the core's ballots."""
    return {voter: ballot_from_json(method, data) for voter, data in latest.items()}


def counted_ballots(
    method: Method, leaves: Iterable[dict[str, Any]], roster: Iterable[str]
) -> dict[str, Ballot]:
    """The latest ballot (by seq) of each roster member who cast one."""
    members = set(roster)
    latest: dict[str, Any] = {}
    for leaf in sorted(leaves, key=lambda leaf: leaf["seq"]):
        if leaf["voter"] in members:
            latest[leaf["voter"]] = leaf["ballot"]
    return ballots_of(method, latest)


async def current_counts(conn: Connection, proposal: Proposal) -> LiveCounts:
    """Per-option weight and voters count now: latest ballots, delegations resolved now.

    A decided proposal's counts are its decision's, from the roster, delegations and leaves
    kept at the close: what members change afterwards does not move a closed tally.
    """
    spec = spec_of(proposal)
    if proposal.snapshot is not None:
        page = json.loads(proposal.snapshot)
        ballots = counted_ballots(spec.method, page["leaves"], page["roster"])
        delegations = [_delegation_from_snapshot(item) for item in page["delegations"]]
        return live_counts(spec, page["roster"], delegations, ballots, str(proposal.id))
    members = await member_repo.list_member_ids(conn, proposal.group_id)
    ballots = ballots_of(spec.method, await ballot_repo.list_latest_ballots(conn, proposal.id))
    delegations = await delegations_of(conn, proposal.group_id)
    return live_counts(spec, members, delegations, ballots, str(proposal.id))


async def my_chain(conn: Connection, proposal: Proposal, member: str) -> list[str]:
    """The member, then each delegate their weight passes through, to whoever casts it."""
    members = await member_repo.list_member_ids(conn, proposal.group_id)
    voters = await ballot_repo.list_latest_ballots(conn, proposal.id)
    result = resolve_delegation(
        frozenset(members), await delegations_of(conn, proposal.group_id), voters.keys(),
        str(proposal.id), proposal.area,
    )
    return list(result.chain(member))
