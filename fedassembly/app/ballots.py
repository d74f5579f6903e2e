"""Ballots: one rule path for every way a member votes, the ballot log, and receipts.

``accept_ballot`` is the one path: the voter must be on the roster, the proposal open and before
its closing time (the server's clock at receipt decides), and the ballot valid for the proposal's
method and options; then it is appended as the next leaf of the proposal's ballot log. An API
ballot (``cast_ballot``) and a fediverse vote (``on_vote``) differ only in how they say what the
ballot is: the API sends it whole, a Mastodon poll vote names one option, which
``governance.ballots.poll_vote`` turns into the voter's new ballot. Both are refused with the
same reason codes (``BallotRefused.reason``): not_member, closed, unknown_option, wrong_method,
invalid.

Fediverse votes run inside the inbox's unit, without network (the sender's actor was fetched
before). Duplicates by activity id never reach here; a Note re-sent under a new activity id is
caught by the Note's id (unique per proposal and voter, so that nobody can spend another voter's
Note id; the inbox already refused ids off the sender's origin). Refused votes are kept with
their reason, and the voter gets at most one direct reply per proposal and reason.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any, Literal

from fedassembly.app.counts import spec_of
from fedassembly.app.errors import CommandError, ForbiddenError, NotFoundError
from fedassembly.app.group_settings import group_setting
from fedassembly.app.node import Node
from fedassembly.app.proposals import get_proposal, group_of
from fedassembly.app.publish import direct_note
from fedassembly.app.quoting import excerpt
from fedassembly.app.received import Received
from fedassembly.governance import ballot_log
from fedassembly.governance.ballots import (
    Ballot,
    ballot_from_json,
    ballot_to_json,
    poll_vote,
    validate_ballot,
)
from fedassembly.governance.errors import InvalidBallotError
from fedassembly.governance.lifecycle import accepts_ballots, state_of
from fedassembly.governance.model import method_of
from storage import ballots as ballot_repo
from storage import members as member_repo
from storage import proposals as proposal_repo
from storage import remote as remote_repo
from storage.actors import LocalActor
from storage.ballots import BallotRow, RefusedBallot
from storage.db import Connection
from storage.proposals import Proposal
from storage.remote import RemoteActor

Reason = Literal["not_member", "closed", "unknown_option", "wrong_method", "invalid"]
_STATUS: dict[Reason, int] = {
    "not_member": 403, "closed": 409, "unknown_option": 400, "wrong_method": 400, "invalid": 400,
}
Source = Literal["api", "activitypub"]
# Given the voter's current ballot (None before their first), their new one (None: no change).
# Raises InvalidBallotError for a ballot the proposal cannot take.
Choose = Callable[[Ballot | None], Ballot | None]


class BallotRefused(CommandError):
    """A ballot refused by the rules; ``reason`` is the code the API, the stored refusal and a
    reply's ``fa:reason`` all carry."""

    def __init__(self, reason: Reason, message: str):
        super().__init__(message)
        self.reason: Reason = reason
        self.status = _STATUS[reason]


async def accept_ballot(
    node: Node, conn: Connection, proposal: Proposal, voter: str, choose: Choose, source: Source,
    activity_id: str | None = None,
) -> BallotRow | None:
    """The one rule path: member, open, valid, appended. The leaf, or None when nothing changed.

    ``proposal`` must have been read in this unit.
    """
    # Membership is decided by our roster, never by what the voter claims.
    if await member_repo.get_member(conn, proposal.group_id, voter) is None:
        raise BallotRefused("not_member", "the voter is not a member of this assembly")
    if not accepts_ballots(state_of(proposal.state), proposal.closes_at, node.clock()):
        state = "withdrawn" if proposal.state == "withdrawn" else "closed"
        raise BallotRefused("closed", f"proposal {proposal.id} is {state}")
    method = method_of(proposal.method)
    latest = await ballot_repo.get_latest_ballot_by_voter(conn, proposal.id, voter)
    try:
        ballot = choose(ballot_from_json(method, latest.ballot) if latest is not None else None)
    except InvalidBallotError as error:
        raise BallotRefused(error.code, error.reason) from error
    if ballot is None:
        return None
    return await append_ballot(node, conn, proposal, voter, ballot_to_json(ballot), source, activity_id)


async def append_ballot(
    node: Node, conn: Connection, proposal: Proposal, voter: str, ballot: dict[str, Any],
    source: Source, activity_id: str | None = None,
) -> BallotRow:
    """Append an accepted ballot as the next leaf and ask for a coalesced count update.

    ``proposal`` must have been read in this unit: an update already due is kept as is.
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


# -- the JSON API ----------------------------------------------------------------------------

async def cast_ballot(
    node: Node, proposal_id: int, person: LocalActor, data: dict[str, Any]
) -> tuple[BallotRow, dict[str, Any]]:
    """A local member's ballot, replacing their earlier one; the leaf and its receipt."""
    voter = node.urls.actor("person", person.name)

    async def cast(conn: Connection) -> BallotRow:
        proposal = await get_proposal(conn, proposal_id)
        spec = spec_of(proposal)

        def whole(previous: Ballot | None) -> Ballot:
            ballot = ballot_from_json(spec.method, data)
            validate_ballot(spec, ballot)
            return ballot

        row = await accept_ballot(node, conn, proposal, voter, whole, "api")
        assert row is not None  # a whole ballot always makes a leaf, even when it repeats itself
        return row

    row = await node.db.run(cast)
    # Against the tree as committed (this leaf included), read outside the writer's queue.
    return row, await receipt_of(node.db.reader, row)


async def receipt_of(conn: Connection, ballot: BallotRow) -> dict[str, Any]:
    """A leaf's receipt against the proposal's current tree."""
    tree = ballot_log.MerkleTree(await ballot_repo.list_leaf_hashes(conn, ballot.proposal_id))
    return ballot_log.receipt(tree, ballot.seq)


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


# -- votes from the fediverse ----------------------------------------------------------------

async def on_vote(received: Received, conn: Connection, note: dict[str, Any]) -> str:
    """A vote Note on one of our proposals: counted, refused with a reason, or without effect."""
    node, voter = received.node, received.activity["actor"]
    if note.get("attributedTo") != voter:
        return "vote attributed to someone other than its sender: no effect"
    proposal_id = node.urls.proposal_id(note["inReplyTo"])
    proposal = await proposal_repo.get_proposal_by_id(conn, proposal_id) if proposal_id is not None else None
    if proposal is None:
        return "vote on no proposal of ours: no effect"
    note_id = note.get("id") if isinstance(note.get("id"), str) else None
    if note_id is not None and await ballot_repo.get_ballot_by_activity(conn, proposal.id, voter, note_id):
        return f"vote {note_id} already counted"
    group = await group_of(conn, proposal)
    sender = received.sender or await remote_repo.get_remote_actor(conn, voter)
    name: str = note["name"]
    method = method_of(proposal.method)

    def one_option(previous: Ballot | None) -> Ballot | None:
        return poll_vote(method, proposal.options, previous, name)

    try:
        row = await accept_ballot(node, conn, proposal, voter, one_option, "activitypub", note_id)
    except BallotRefused as refused:
        await ballot_repo.put_refused_ballot(
            conn, RefusedBallot(proposal.id, voter, refused.reason, note_id, note, node.now_iso()),
            max_bytes=node.settings.stored_refusal_bytes,
        )
        text = _refusal_text(node, group, proposal, refused.reason, name)
        await _reply(node, conn, group, proposal, sender, refused.reason, text)
        return f"vote of {voter} on proposal {proposal.id} refused: {refused.reason}"
    if row is None:
        return f"vote of {voter} on proposal {proposal.id} changes nothing"
    if group_setting(group, "vote_receipts"):
        url = html.escape(node.urls.receipt(proposal.id, row.leaf_hash))
        option = html.escape(excerpt(name, node.settings.reply_excerpt_chars))
        text = (f"your vote for “{option}” on “{html.escape(proposal.title)}” is counted."
                f' Receipt: <a href="{url}">{url}</a>')
        await _reply(node, conn, group, proposal, sender, "accepted", text)
    return f"vote of {voter} on proposal {proposal.id} counted as leaf {row.seq}"


def _refusal_text(node: Node, group: LocalActor, proposal: Proposal, reason: Reason, name: str) -> str:
    title, option = html.escape(proposal.title), html.escape(excerpt(name, node.settings.reply_excerpt_chars))
    if reason == "not_member":
        assembly = html.escape(group.title or group.name)
        return f"you are not a member of {assembly}; your vote on “{title}” is not counted."
    if reason == "closed":
        return f"“{title}” is closed; your vote is not counted."
    if reason == "unknown_option":
        options = ", ".join(f"“{html.escape(o)}”" for o in proposal.options)
        return f"“{option}” is not an option of “{title}” (options: {options}); your vote is not counted."
    if reason == "wrong_method":
        url = html.escape(node.urls.proposal(proposal.id))
        return f'“{title}” is decided by scores, which a poll cannot send: vote at <a href="{url}">{url}</a>.'
    return f"your vote on “{title}” could not be read; it is not counted."


async def _reply(
    node: Node, conn: Connection, group: LocalActor, proposal: Proposal,
    voter: RemoteActor | None, reason: str, text_html: str,
) -> None:
    """One direct reply to the voter per (proposal, voter, reason), queued in this unit."""
    if voter is None:
        return
    note_id = node.urls.new_object_id()
    if not await ballot_repo.put_vote_reply(conn, proposal.id, voter.id, reason, note_id):
        return
    extra = {"id": note_id, **({} if reason == "accepted" else {"fa:reason": reason})}
    await direct_note(
        node, conn, group, voter, text_html, in_reply_to=node.urls.proposal(proposal.id), extra=extra
    )
