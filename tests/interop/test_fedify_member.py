"""fedify 2.3.6 as a remote member: it gets the welcome message, delegates by a direct mention
written as Mastodon does, and gets the reply stating the recorded delegation."""

from __future__ import annotations

from fedassembly.app import accounts, roster
from storage import delegations as delegation_repo


async def test_fedify_member_welcome_and_delegate(nodes, fedify_peer) -> None:
    a = await nodes("a")
    group_url = await a.group("barrio")
    await a.person("carol")
    group = await accounts.get_actor(a.node, "barrio")
    await roster.add_member(a.node, group, "carol")
    await roster.add_member(a.node, group, fedify_peer.actor)

    [welcome] = await fedify_peer.wait_for(
        lambda e: e["type"] == "Create" and "member of" in (e.get("content") or ""), timeout=10)
    assert welcome["actor"] == group_url

    carol_url = f"{a.base}/people/carol"
    carol_handle = f"@carol@127.0.0.1:{a.settings.port}"
    sent = await fedify_peer.send("mention", to=group_url, text=f"delegate {carol_handle} housing",
                                  mention=[group_url, carol_url])
    note_id = sent["json"]["object"]["id"]
    [reply] = await fedify_peer.wait_for(
        lambda e: e["type"] == "Create" and "Recorded" in (e.get("content") or ""), timeout=10)
    assert "carol" in reply["content"] and "housing" in reply["content"]
    assert reply["inReplyTo"] == note_id
    assert reply["to"] == [fedify_peer.actor] and reply["content"].startswith("@bob@")
    rows = await delegation_repo.list_delegations(a.node.db.reader, group.id)
    assert [(r.delegator, r.scope, r.scope_key, r.delegate) for r in rows] == [
        (fedify_peer.actor, "area", "housing", carol_url)]
