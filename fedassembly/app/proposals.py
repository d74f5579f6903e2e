"""Use cases of proposals: create, withdraw, and the Question with its coalesced updates.

Each change is written in one transaction with the deliveries it causes (transactional outbox).
Rules are frozen at creation: the stored method, options, threshold, quorum and area are what
the governance core validated, and nothing here changes them afterwards.
"""

from __future__ import annotations

import logging
from typing import Any

from fedassembly.app.activities import activity, to_ap_create
from fedassembly.app.audience import inbox_targets, update_targets
from fedassembly.app.clock import parse_iso
from fedassembly.app.counts import current_counts
from fedassembly.app.errors import ConflictError, InvalidError, NotFoundError
from fedassembly.app.node import Node
from fedassembly.app.publish import publish
from fedassembly.app.question import to_ap_question
from fedassembly.app.vocab import PUBLIC
from fedassembly.governance.errors import GovernanceError, IllegalTransitionError
from fedassembly.governance.lifecycle import state_of, transition
from fedassembly.governance.tally import LiveCounts
from fedassembly.governance.validation import validate_proposal
from storage import actors as actor_repo
from storage import follows as follow_repo
from storage import members as member_repo
from storage import proposals as proposal_repo
from storage import remote as remote_repo
from storage.actors import LocalActor
from storage.db import Connection
from storage.proposals import NewProposal, Proposal

log = logging.getLogger("fedassembly.app.proposals")

MAX_CONTENT_CHARS = 20_000


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


async def question_of(
    node: Node, conn: Connection, proposal: Proposal, counts: LiveCounts | None = None
) -> dict[str, Any]:
    """The proposal's Question (or score Note) with ``counts`` (default: the current ones)."""
    group = await group_of(conn, proposal)
    members = await member_repo.list_remote_member_ids(conn, group.id)
    counts = counts if counts is not None else await current_counts(conn, proposal)
    return to_ap_question(node.urls, node.urls.actor(group.kind, group.name), proposal, counts, members)


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
