"""The durable closing scheduler: proposals close at their time, decided and published once.

Theory of operation. The schedule is the database itself: every open proposal carries its
`closes_at`, so nothing is lost when the node stops and a start closes whatever fell due while
it was down. The loop sleeps until the earliest closing time, but never more than a second, so
proposals created by another process (the CLI) are seen. Each close is one transaction that
first moves the proposal open → closed with a guarded UPDATE: two racing closers, or a restart
in the middle, publish the decision exactly once, and a withdrawn proposal is never decided.
Inside the same transaction it reads the roster, the delegations and the ballot log, computes
the result, signs the decision, and queues the final Update(Question) — with the decision's
counts — and the announcement.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from typing import Any

from fedassembly.app.activities import to_ap_create, to_ap_public_note
from fedassembly.app.audience import inbox_targets
from fedassembly.app.counts import delegations_of
from fedassembly.app.decision import compute_decision, outcome_html, outcome_words
from fedassembly.app.node import Node
from fedassembly.app.proposals import queue_question_update
from fedassembly.app.publish import publish
from fedassembly.governance.lifecycle import is_due_to_close, state_of, transition
from fedassembly.governance.tally import LiveCounts, Result
from federation.proofs import sign_object
from storage import actors as actor_repo
from storage import ballots as ballot_repo
from storage import follows as follow_repo
from storage import members as member_repo
from storage import proposals as proposal_repo
from storage.actors import LocalActor
from storage.db import Connection
from storage.proposals import Proposal

log = logging.getLogger("fedassembly.app.closing")

MAX_SLEEP_SECONDS = 1.0


async def close_due(node: Node, now: float) -> int:
    """Close and decide every open proposal whose time has come; how many this call decided."""
    decided = 0
    for proposal_id in await proposal_repo.list_due_proposal_ids(node.db.reader, now):
        try:
            decided += await close_proposal(node, proposal_id, now)
        except Exception:
            # One broken proposal must not keep the others open; it is retried next round.
            log.exception("closing proposal %s failed", proposal_id)
    return decided


async def close_proposal(node: Node, proposal_id: int, now: float) -> bool:
    """Close one due proposal and publish its decision; False if it was not open and due."""
    proposal = await proposal_repo.get_proposal_by_id(node.db.reader, proposal_id)
    if proposal is None:
        return False
    group = await actor_repo.get_actor_by_id(node.db.reader, proposal.group_id)
    if group is None:
        return False
    # Loaded before the transaction: a key made on first use writes in a transaction of its own.
    key = await node.keys.private_key(group, "ed25519")
    group_url = node.urls.actor(group.kind, group.name)
    async with node.db.transaction() as conn:
        proposal = await proposal_repo.get_proposal_by_id(conn, proposal_id)
        if proposal is None or not is_due_to_close(state_of(proposal.state), proposal.closes_at, now):
            return False
        closed_at = node.now_iso()
        closed_state = transition(state_of(proposal.state), "close")
        if not await proposal_repo.set_proposal_state(
            conn, proposal_id, from_state=proposal.state, to_state=closed_state, at=closed_at
        ):
            return False
        roster = await member_repo.list_member_ids(conn, group.id)
        delegations = await delegations_of(conn, group.id)
        leaves = await ballot_repo.list_ballots(conn, proposal_id)
        decision_id = node.urls.decision(proposal_id)
        computed = compute_decision(
            proposal, decision_id=decision_id, proposal_url=node.urls.proposal(proposal_id),
            group_url=group_url, roster=roster, delegations=delegations, leaves=leaves,
        )
        document = sign_object(
            computed.document, key, verification_method=node.urls.ed25519_key_id(group.kind, group.name),
            created=closed_at,
        )
        decided_state = transition(closed_state, "decide")
        decided = dataclasses.replace(proposal, state=decided_state, closed_at=closed_at)
        await _queue_publications(node, conn, group, decided, computed.result, document)
        # Last: any later UPDATE of the row would rewrite the large ballots page stored with it.
        await proposal_repo.set_proposal_state(
            conn, proposal_id, from_state=closed_state, to_state=decided_state, at=closed_at,
            decision=document, snapshot=computed.ballots_page,
        )
    node.delivery_queued()
    words = outcome_words(decided.title, document["fa:outcome"])
    log.info(
        "proposal %s closed: %s (%s of %s voted)", proposal_id, words, document["fa:turnout"],
        document["fa:rosterSize"],
    )
    return True


async def _queue_publications(
    node: Node, conn: Connection, group: LocalActor, proposal: Proposal, result: Result,
    decision: dict[str, Any],
) -> None:
    """The final Update(Question) with `closed`, and the Note announcing the outcome.

    The Update reaches followers, members and voters; the Note, like any post of the assembly,
    its followers. A member who does not follow sees the outcome as the closed poll.
    """
    group_url = node.urls.actor(group.kind, group.name)
    await queue_question_update(node, conn, proposal, LiveCounts(result.tally, result.turnout))
    followers = await follow_repo.list_followers(conn, group.id)
    note = to_ap_public_note(
        node.urls.new_object_id(), group_url, node.urls.followers(group.kind, group.name),
        outcome_html(proposal.title, decision["fa:outcome"], decision["id"]),
        proposal.closed_at or node.now_iso(),
        in_reply_to=node.urls.proposal(proposal.id),
    )
    create = to_ap_create(node.urls, note)
    await publish(node, conn, group, create, inbox_targets(followers), public=True, obj=note)


async def run_closer(node: Node, stop: asyncio.Event) -> None:
    """Close proposals at their time (overdue ones at once on start) until ``stop`` is set."""
    while not stop.is_set():
        try:
            await close_due(node, node.clock())
            next_at = await proposal_repo.get_next_closing_time(node.db.reader)
        except Exception:
            log.exception("closing round failed")
            next_at = None
        wait = MAX_SLEEP_SECONDS
        if next_at is not None:
            wait = min(MAX_SLEEP_SECONDS, max(0.0, next_at - node.clock()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait)
