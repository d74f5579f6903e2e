"""A real fedify 2.3.6 peer follows an assembly, receives its Accept and an announcement, and our
inbox accepts what fedify signs — its RFC 9421 first knock as well as draft-cavage."""

from __future__ import annotations

import logging

import pytest

from fedassembly.app import accounts, follows
from storage import follows as follow_repo
from storage import inbox as inbox_repo

from .conftest import FedifyPeer


async def test_fedify_follows_gets_accept_and_announcement(nodes, fedify_peer: FedifyPeer, caplog) -> None:
    caplog.set_level(logging.INFO, logger="fedassembly.inbox")
    running = await nodes("a")
    group_url = await running.group("barrio")
    group = await accounts.get_actor(running.node, "barrio")

    sent = await fedify_peer.send("follow", to=group_url)
    [accept] = await fedify_peer.wait_for(lambda e: e["type"] == "Accept", timeout=10)
    assert accept["actor"] == group_url
    followers = await follow_repo.list_followers(running.node.db.reader, group.id)
    assert [f.follower for f in followers] == [fedify_peer.actor]
    assert followers[0].follow_id == sent["sent"]
    # fedify 2.x knocks with RFC 9421 first; we verified that, not a draft-cavage retry.
    assert any("(rfc9421)" in r.getMessage() and "Follow" in r.getMessage() for r in caplog.records)

    note = await follows.announce(running.node, group, "The assembly meets on Thursday.")
    [create] = await fedify_peer.wait_for(
        lambda e: e["type"] == "Create" and e.get("objType") == "Note", timeout=10
    )
    assert create["actor"] == group_url
    assert create["object"]["id"] == note["id"]
    assert "Thursday" in create["object"]["content"]


@pytest.mark.parametrize("first_knock", ["draft-cavage-http-signatures-12", "rfc9421"])
async def test_our_inbox_accepts_fedify_signatures(
    nodes, fedify_peer_factory, first_knock: str, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="fedassembly.inbox")
    peer = await fedify_peer_factory(FIRST_KNOCK=first_knock)
    running = await nodes("a")
    group_url = await running.group("barrio")
    sent = await peer.send("note", to=group_url)
    activity_id = sent["sent"]
    assert await inbox_repo.count_inbox_activities(running.node.db.reader, activity_id) == 1
    expected = "(rfc9421)" if first_knock == "rfc9421" else "(draft-cavage)"
    assert any(expected in r.getMessage() and activity_id in r.getMessage() for r in caplog.records)
