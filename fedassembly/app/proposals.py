"""Use cases of proposals and ballots: create, withdraw, vote, counts and coalesced updates.

Each change is written in one transaction with the deliveries it causes (transactional outbox).
Rules are frozen at creation: the stored method, options, threshold, quorum and area are what
the governance core validated, and nothing here changes them afterwards.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from typing import Any

from fedassembly.app.activities import activity, to_ap_create
from fedassembly.app.audience import inbox_targets, update_targets
from fedassembly.app.clock import parse_iso
from fedassembly.app.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError
from fedassembly.app.group_settings import group_setting as group_setting  # re-exported
from fedassembly.app.node import Node
from fedassembly.app.publish import publish
from fedassembly.app.question import to_ap_question
from fedassembly.app.vocab import PUBLIC
from fedassembly.governance import ballot_log
from fedassembly.governance.ballots import ballot_from_json, ballot_to_json
from fedassembly.governance.delegation import Delegation, resolve_delegation
from fedassembly.governance.errors import GovernanceError, IllegalTransitionError
from fedassembly.governance.lifecycle import state_of, transition
from fedassembly.governance.model import ProposalSpec
from fedassembly.governance.tally import LiveCounts, live_counts
from fedassembly.governance.validation import validate_ballot, validate_proposal
from storage import actors as actor_repo
from storage import ballots as ballot_repo
from storage import delegations as delegation_repo
from storage import follows as follow_repo
from storage import members as member_repo
from storage import proposals as proposal_repo
from storage import remote as remote_repo
from storage.actors import LocalActor
from storage.ballots import BallotRow
from storage.db import Connection
from storage.proposals import NewProposal, Proposal

log = logging.getLogger("fedassembly.app.proposals")

MAX_CONTENT_CHARS = 20_000
# Assembly settings (local_actors.settings) and their defaults (DESIGN 8, `assembly set`).


def spec_of(proposal: Proposal) -> ProposalSpec:
    """The frozen rules of a stored proposal, for the governance core."""
    return ProposalSpec(
        options=proposal.options, method=proposal.method,  # type: ignore[arg-type]
        threshold=proposal.threshold, quorum=Fraction(proposal.quorum),  # type: ignore[arg-type]
        area=proposal.area, status_quo=proposal.status_quo,
    )


def is_accepting(proposal: Proposal, now: float) -> bool:
    """Open and before its closing time: the server's clock at receipt decides (SECURITY 48)."""
    return proposal.is_open and now < proposal.closes_at


# -- reading ---------------------------------------------------------------------------------

async def get_proposal(conn: Connection, proposal_id: int) -> Proposal:
    """A proposal by id, else NotFoundError."""
    proposal = await proposal_repo.get_proposal_by_id(conn, proposal_id)
    if proposal is None:
        raise NotFoundError(f"no proposal {proposal_id}")
    return proposal


async def group_of(conn: Connection, proposal: Proposal) -> LocalActor:
    """The assembly a proposal belongs to."""
    group = await actor_repo.get_actor_by_id(conn, proposal.group_id)
    assert group is not None  # proposals are deleted with their group
    return group


async def delegations_of(conn: Connection, group_id: int) -> list[Delegation]:
    """The group's delegations in force now, as governance values."""
    delegations = []
    for row in await delegation_repo.list_delegations(conn, group_id):
        try:
            delegations.append(Delegation(
                row.delegator, row.delegate, row.scope,  # type: ignore[arg-type]
                area=row.scope_key if row.scope == "area" else None,
                proposal=row.scope_key if row.scope == "proposal" else None,
            ))
        except GovernanceError as error:  # a malformed row must not stop every count
            log.warning("delegation of %s in group %d ignored: %s", row.delegator, group_id, error)
    return delegations


async def current_counts(conn: Connection, proposal: Proposal) -> LiveCounts:
    """Per-option weight and voters count now: latest ballots, delegations resolved now."""
    spec = spec_of(proposal)
    members = await member_repo.list_member_ids(conn, proposal.group_id)
    latest = await ballot_repo.list_latest_ballots(conn, proposal.id)
    ballots = {voter: ballot_from_json(spec.method, data) for voter, data in latest.items()}
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


async def question_of(
    node: Node, conn: Connection, proposal: Proposal, counts: LiveCounts | None = None
) -> dict[str, Any]:
    """The proposal's Question (or score Note) with ``counts`` (default: the current ones)."""
    group = await group_of(conn, proposal)
    members = await member_repo.list_remote_member_ids(conn, group.id)
    counts = counts if counts is not None else await current_counts(conn, proposal)
    return to_ap_question(node.urls, node.urls.actor(group.kind, group.name), proposal, counts, members)


async def receipt_of(conn: Connection, ballot: BallotRow) -> dict[str, Any]:
    """A leaf's receipt against the proposal's current tree."""
    tree = ballot_log.MerkleTree(await ballot_repo.list_leaf_hashes(conn, ballot.proposal_id))
    return ballot_log.receipt(tree, ballot.seq)


# -- creating and withdrawing ----------------------------------------------------------------

def _new_proposal(
    group: LocalActor, person: LocalActor, data: dict[str, Any], now: float, now_iso: str
) -> NewProposal:
    title, content = data.get("title"), data.get("content", "")
    if not isinstance(content, str):
        raise InvalidError("'content' must be a string")
    if len(content) > MAX_CONTENT_CHARS:
        raise InvalidError(f"the content is longer than {MAX_CONTENT_CHARS} characters")
    rule = data.get("rule") or {}
    if not isinstance(rule, dict):
        raise InvalidError("'rule' must be an object {threshold, quorum}")
    method = data.get("method")
    if not isinstance(method, str):
        raise InvalidError("'method' must be one of single, approval, yesno, ranked, score")
    options = data.get("options")
    if options is not None and not (isinstance(options, list) and all(isinstance(o, str) for o in options)):
        raise InvalidError("'options' must be a list of texts")
    try:
        spec = validate_proposal(
            title if isinstance(title, str) else "", options, method, rule.get("threshold"),
            rule.get("quorum", 0), data.get("area"), data.get("status_quo", False),
        )
    except GovernanceError as error:
        raise InvalidError(error.reason) from error
    closes_at = data.get("closes_at")
    try:
        closes = parse_iso(closes_at) if isinstance(closes_at, str) else None
    except ValueError:
        closes = None
    if closes is None:
        raise InvalidError("'closes_at' must be an RFC 3339 time with a zone, e.g. 2030-05-01T18:00:00Z")
    if closes <= now:
        raise InvalidError("'closes_at' must be in the future")
    kind = data.get("kind") or "proposal"
    if kind not in ("proposal", "recall"):
        raise InvalidError("'kind' is 'recall' or omitted")
    return NewProposal(
        group_id=group.id, kind=kind, title=str(title), content=content, options=spec.options,
        method=spec.method, threshold=spec.threshold, quorum=str(spec.quorum), area=spec.area,
        status_quo=spec.status_quo, closes_at=closes, created_at=now_iso, created_by=person.id,
    )


async def create_proposal(
    node: Node, group: LocalActor, person: LocalActor, data: dict[str, Any]
) -> Proposal:
    """Validate and freeze a proposal, publish its Create(Question) to followers and members."""
    if group.kind != "assembly":
        raise NotFoundError(f"no assembly named {group.name!r}")
    new = _new_proposal(group, person, data, node.clock(), node.now_iso())
    async with node.db.transaction() as conn:
        proposal = await get_proposal(conn, await proposal_repo.put_proposal(conn, new))
        question = await question_of(node, conn, proposal)
        obj = {k: v for k, v in question.items() if k != "@context"}
        create = to_ap_create(node.urls, obj)
        followers = await follow_repo.list_followers(conn, group.id)
        targets = inbox_targets(followers, await remote_repo.list_roster_recipients(conn, group.id))
        await publish(node, conn, group, create, targets, public=True, obj=obj)
    node.delivery_queued()
    return proposal


async def withdraw_proposal(node: Node, proposal_id: int) -> None:
    """Withdraw an open proposal: closed without a decision, followers shown it closed."""
    async with node.db.transaction() as conn:
        proposal = await get_proposal(conn, proposal_id)
        try:
            withdrawn = transition(state_of(proposal.state), "withdraw")
        except IllegalTransitionError as error:
            raise ConflictError(f"proposal {proposal_id} is {proposal.state}, not open") from error
        if not await proposal_repo.set_proposal_state(
            conn, proposal.id, from_state=proposal.state, to_state=withdrawn, at=node.now_iso()
        ):
            raise ConflictError(f"proposal {proposal_id} is {proposal.state}, not open")
        await queue_question_update(node, conn, proposal)
    node.delivery_queued()


async def queue_question_update(
    node: Node, conn: Connection, proposal_row: Proposal, counts: LiveCounts | None = None
) -> None:
    """Queue Update(Question) with ``counts`` (default: the current ones; ``closed`` once ended)
    to followers, members and voters, in the caller's transaction; no ``updated`` is touched.

    Members and voters already hold the Question, so their servers' shared inboxes suffice.
    """
    proposal = await get_proposal(conn, proposal_row.id)
    group = await group_of(conn, proposal)
    question = await question_of(node, conn, proposal, counts)
    obj = {k: v for k, v in question.items() if k != "@context"}
    update = activity(
        node.urls.new_activity_id(), "Update", obj["attributedTo"], obj, to=[PUBLIC], cc=obj["cc"]
    )
    inboxes = await remote_repo.list_preferred_inboxes(conn, group.id, proposal.id)
    targets = update_targets(await follow_repo.list_followers(conn, group.id), inboxes)
    await publish(node, conn, group, update, targets, public=True)
    await proposal_repo.delete_update_due(conn, proposal.id)


# -- ballots ---------------------------------------------------------------------------------

async def append_ballot(
    node: Node, conn: Connection, proposal: Proposal, voter: str, ballot: dict[str, Any],
    source: str, activity_id: str | None = None,
) -> BallotRow:
    """Append an accepted ballot as the next leaf and ask for a coalesced count update.

    ``proposal`` must have been read in this transaction: an update already due is kept as is.
    """
    seq = await ballot_repo.get_next_seq(conn, proposal.id)
    received_at = node.now_iso()
    leaf = ballot_log.leaf_bytes(node.urls.proposal(proposal.id), voter, ballot, seq, received_at)
    row = BallotRow(proposal.id, seq, voter, ballot, received_at, source, activity_id,
                    ballot_log.leaf_hash(leaf).hex())
    await ballot_repo.put_ballot(conn, row)
    if proposal.update_due_at is None:
        due_at = node.clock() + node.settings.poll_update_seconds
        await proposal_repo.put_update_due(conn, proposal.id, due_at)
    return row


async def cast_ballot(
    node: Node, proposal_id: int, person: LocalActor, data: dict[str, Any]
) -> tuple[BallotRow, dict[str, Any]]:
    """A local member's ballot, replacing their earlier one; the leaf and its receipt."""
    voter = node.urls.actor("person", person.name)

    async def cast(conn: Connection) -> BallotRow:
        proposal = await get_proposal(conn, proposal_id)
        if await member_repo.get_local_member(conn, proposal.group_id, person.id) is None:
            raise ForbiddenError(f"{person.name} is not a member of this assembly")
        if not is_accepting(proposal, node.clock()):
            state = "withdrawn" if proposal.state == "withdrawn" else "closed"
            raise ConflictError(f"proposal {proposal_id} is {state}")
        spec = spec_of(proposal)
        try:
            ballot = ballot_from_json(spec.method, data)
            validate_ballot(spec, ballot)
        except GovernanceError as error:
            raise InvalidError(error.reason) from error
        return await append_ballot(node, conn, proposal, voter, ballot_to_json(ballot), "api")

    row = await node.db.run(cast)
    # Against the tree as committed (this leaf included), read outside the writer's queue.
    return row, await receipt_of(node.db.reader, row)


async def latest_receipt(node: Node, proposal_id: int, person: LocalActor) -> dict[str, Any]:
    """The receipt of a local member's latest ballot, against the current tree."""
    conn = node.db.reader
    proposal = await get_proposal(conn, proposal_id)
    if await member_repo.get_local_member(conn, proposal.group_id, person.id) is None:
        raise ForbiddenError(f"{person.name} is not a member of this assembly")
    voter = node.urls.actor("person", person.name)
    row = await ballot_repo.get_latest_ballot_by_voter(conn, proposal.id, voter)
    if row is None:
        raise NotFoundError(f"{person.name} has not voted on proposal {proposal_id}")
    return await receipt_of(conn, row)
