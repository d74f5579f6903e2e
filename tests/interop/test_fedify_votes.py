"""A real fedify 2.3.6 peer follows an assembly, sees a proposal as a poll, votes on it like
Mastodon does, and receives its receipt and the coalesced count update."""

from __future__ import annotations

from fedassembly.app import accounts
from fedassembly.app import proposals as uc
from fedassembly.app.clock import now_iso
from storage import ballots as ballot_repo
from storage import members as member_repo
from storage.members import Member

from .conftest import FedifyPeer


async def test_fedify_peer_follows_sees_the_poll_votes_and_gets_receipt_and_update(
    nodes, fedify_peer: FedifyPeer
) -> None:
    running = await nodes("a")
    group_url = await running.group("barrio")
    await running.person("fac")
    node = running.node
    group = await accounts.get_actor(node, "barrio")
    fac = await accounts.get_actor(node, "fac")
    async with node.db.transaction() as conn:
        await member_repo.put_member(conn, Member(group.id, node.urls.actor("person", "fac"), fac.id, True,
                                                  now_iso()))
        await member_repo.put_member(conn, Member(group.id, fedify_peer.actor, None, False, now_iso()))

    await fedify_peer.send("follow", to=group_url)
    await fedify_peer.wait_for(lambda e: e["type"] == "Accept")

    proposal = await uc.create_proposal(node, group, fac, {
        "title": "Repaint the centre?", "content": "Pick a colour.", "method": "single",
        "options": ["green", "blue"], "closes_at": "2099-01-01T00:00:00Z"})
    url = node.urls.proposal(proposal.id)
    [create] = await fedify_peer.wait_for(
        lambda e: e["type"] == "Create" and e.get("objType") == "Question", timeout=10)
    question = create["object"]
    assert question["id"] == url and question["attributedTo"] == group_url
    assert question["oneOf"] == [{"name": "green", "type": "Note", "totalItems": 0},
                                 {"name": "blue", "type": "Note", "totalItems": 0}]
    assert question["anyOf"] == [] and question["votersCount"] == 0 and question["closed"] is None
    assert question["endTime"] == "2099-01-01T00:00:00Z"

    await fedify_peer.send("vote", to=group_url, question=url, choice="green")
    [reply] = await fedify_peer.wait_for(
        lambda e: e["type"] == "Create" and e.get("objType") == "Note" and e.get("inReplyTo") == url,
        timeout=10)
    [leaf] = await ballot_repo.list_ballots(node.db.reader, proposal.id)
    assert (leaf.voter, leaf.ballot, leaf.source) == (fedify_peer.actor, {"choice": "green"}, "activitypub")
    assert f"{url}/receipts/{leaf.leaf_hash}" in reply["content"]
    assert reply["content"].startswith(f"@bob@127.0.0.1:{fedify_peer.port} ")
    assert reply["to"] == [fedify_peer.actor]
    assert [(t["type"], t["href"]) for t in reply["tags"]] == [("Mention", fedify_peer.actor)]

    [update] = await fedify_peer.wait_for(lambda e: e["type"] == "Update", timeout=10)
    assert update["actor"] == group_url and update["objType"] == "Question"
    counted = update["object"]
    assert counted["id"] == url and counted["updated"] is None and counted["closed"] is None
    assert counted["oneOf"] == [{"name": "green", "type": "Note", "totalItems": 1},
                                {"name": "blue", "type": "Note", "totalItems": 0}]
    assert counted["votersCount"] == 1
