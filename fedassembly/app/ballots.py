"""Votes from the fediverse (DESIGN 4): one Note per chosen option, as Mastodon sends them.

Runs inside the inbox's write transaction, without network: the sender's actor was fetched
before. Duplicates by activity id never reach here (the inbox dedupes them in the same unit);
a re-sent Note under a new activity id is caught by the Note's id (unique per proposal).
Accepted votes become leaves of the ballot log; refused ones are kept with their reason. The
voter gets at most one reply per proposal and reason.
"""

from __future__ import annotations

import html
from typing import Any

from fedassembly.app.group_settings import group_setting
from fedassembly.app.node import Node
from fedassembly.app.proposals import append_ballot, group_of, is_accepting
from fedassembly.app.publish import direct_note
from fedassembly.app.received import Received
from storage import ballots as ballot_repo
from storage import members as member_repo
from storage import proposals as proposal_repo
from storage import remote as remote_repo
from storage.actors import LocalActor
from storage.ballots import RefusedBallot
from storage.db import Connection
from storage.proposals import Proposal
from storage.remote import RemoteActor


async def on_vote(received: Received, conn: Connection, note: dict[str, Any]) -> str:
    """A vote Note on one of our proposals: counted, refused with a reason, or without effect."""
    node, voter = received.node, received.activity["actor"]
    if note.get("attributedTo") != voter:
        return "vote attributed to someone other than its sender: no effect"
    proposal = await _proposal(node, conn, note["inReplyTo"])
    if proposal is None:
        return "vote on no proposal of ours: no effect"
    note_id = note.get("id") if isinstance(note.get("id"), str) else None
    if note_id is not None and await ballot_repo.get_ballot_by_activity(conn, proposal.id, note_id):
        return f"vote {note_id} already counted"
    group = await group_of(conn, proposal)
    sender = received.sender or await remote_repo.get_remote_actor(conn, voter)
    name = note["name"]
    reason = await _refusal(node, conn, proposal, voter, name)
    if reason is not None:
        await ballot_repo.put_refused_ballot(
            conn, RefusedBallot(proposal.id, voter, reason, note_id, note, node.now_iso())
        )
        text = _refusal_text(node, group, proposal, reason, name)
        await _reply(node, conn, group, proposal, sender, reason, text)
        return f"vote of {voter} on proposal {proposal.id} refused: {reason}"
    ballot = await _merged(conn, proposal, voter, name)
    if ballot is None:
        return f"vote of {voter} on proposal {proposal.id} changes nothing"
    row = await append_ballot(node, conn, proposal, voter, ballot, "activitypub", note_id)
    if group_setting(group, "vote_receipts"):
        url = html.escape(node.urls.receipt(proposal.id, row.leaf_hash))
        text = (f"your vote for “{html.escape(name)}” on “{html.escape(proposal.title)}” is counted."
                f' Receipt: <a href="{url}">{url}</a>')
        await _reply(node, conn, group, proposal, sender, "accepted", text)
    return f"vote of {voter} on proposal {proposal.id} counted as leaf {row.seq}"


async def _proposal(node: Node, conn: Connection, url: str) -> Proposal | None:
    proposal_id = node.urls.proposal_id(url)
    return await proposal_repo.get_proposal_by_id(conn, proposal_id) if proposal_id is not None else None


async def _refusal(node: Node, conn: Connection, proposal: Proposal, voter: str, name: str) -> str | None:
    # Membership is decided by our roster, never by the claimant (SECURITY 54).
    if await member_repo.get_member(conn, proposal.group_id, voter) is None:
        return "not_member"
    if not is_accepting(proposal, node.clock()):
        return "closed"
    if proposal.method == "score":
        return "wrong_method"
    if name not in proposal.options:  # exact, case-sensitive (SECURITY 49)
        return "unknown_option"
    return None


async def _merged(
    conn: Connection, proposal: Proposal, voter: str, name: str
) -> dict[str, Any] | None:
    """The voter's new ballot after this Note, or None when it changes nothing."""
    latest = await ballot_repo.get_latest_ballot_by_voter(conn, proposal.id, voter)
    if proposal.method == "approval":
        # Each Note adds its option (Mastodon sends one Note per chosen option).
        chosen = set(latest.ballot.get("choices", [])) if latest else set()
        if name in chosen:
            return None
        return {"choices": sorted(chosen | {name})}
    # Single choice and yes/no replace; ranked counts a Mastodon vote as a first preference.
    ballot = {"ranking": [name]} if proposal.method == "ranked" else {"choice": name}
    return None if latest is not None and latest.ballot == ballot else ballot


def _refusal_text(node: Node, group: LocalActor, proposal: Proposal, reason: str, name: str) -> str:
    title, option = html.escape(proposal.title), html.escape(name)
    if reason == "not_member":
        assembly = html.escape(group.title or group.name)
        return f"you are not a member of {assembly}; your vote on “{title}” is not counted."
    if reason == "closed":
        return f"“{title}” is closed; your vote is not counted."
    if reason == "unknown_option":
        options = ", ".join(f"“{html.escape(o)}”" for o in proposal.options)
        return f"“{option}” is not an option of “{title}” (options: {options}); your vote is not counted."
    url = html.escape(node.urls.proposal(proposal.id))
    return f'“{title}” is decided by scores, which a poll cannot send: vote at <a href="{url}">{url}</a>.'


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
