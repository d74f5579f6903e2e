"""Liquid delegation: the API with every error status, and the direct-mention commands from a
signed remote actor, each answered by a direct reply; the delegate is told."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from support.remote import RemoteActor, RemoteServer, post_signed

from fedassembly.app import accounts, roster
from storage import delegations as delegation_repo


async def test_api_delegation(nodes, remote: RemoteServer) -> None:
    a = await nodes("a")
    await a.group("barrio")
    _, alice = await a.person("alice")
    _, bruno = await a.person("bruno")
    _, zoe = await a.person("zoe")
    group = await accounts.get_actor(a.node, "barrio")
    for name in ("alice", "bruno"):
        await roster.add_member(a.node, group, name)
    erin = remote.actor("erin")
    await roster.add_member(a.node, group, erin.id)
    path = "/api/v1/groups/barrio/delegation"

    assert (await a.api("PUT", path, None, {"delegate": "bruno"}))[0] == 401
    assert (await a.api("PUT", path, zoe, {"delegate": "bruno"}))[0] == 403
    assert (await a.api("PUT", path, alice, {"delegate": "alice"}))[0] == 400
    assert (await a.api("PUT", path, alice, {"delegate": "zoe"}))[0] == 400
    assert (await a.api("PUT", path, alice, {}))[0] == 400
    assert (await a.api("PUT", path, alice, {"delegate": "bruno", "area": "x", "proposal": 1}))[0] == 400
    assert (await a.api("PUT", path, alice, {"delegate": "bruno", "proposal": 999}))[0] == 404
    assert (await a.api("PUT", "/api/v1/groups/nowhere/delegation", alice, {"delegate": "bruno"}))[0] == 404

    status, body = await a.api("PUT", path, alice, {"delegate": "bruno"})
    assert status == 200 and body == {"scope": "global", "delegate": "bruno",
                                      "delegate_actor": f"{a.base}/people/bruno"}
    handle = f"@erin@127.0.0.1:{remote.port}"
    status, body = await a.api("PUT", path, alice, {"delegate": handle, "area": "housing"})
    assert status == 200 and body["area"] == "housing" and body["delegate_actor"] == erin.id
    status, body = await a.api("PUT", path, alice, {"delegate": None, "area": "safety"})
    assert status == 200 and body["delegate"] is None

    status, report = await a.api("GET", path, alice)
    assert status == 200
    assert [(d["scope"], d.get("area"), d["delegate"]) for d in report["delegations"]] == [
        ("global", None, "bruno"), ("area", "housing", handle), ("area", "safety", None)]
    status, report = await a.api("GET", path, bruno)
    assert report["delegators"] == [{"scope": "global", "delegator": "alice",
                                     "delegator_actor": f"{a.base}/people/alice"}]
    assert (await a.api("GET", path, zoe))[0] == 403

    # erin, remote, is told; bruno, local, sees it through the API.
    [told] = await remote.wait_for(lambda x: x.get("object", {}).get("to") == [erin.id]
                                   and "now delegates to you" in x["object"]["content"])
    assert told["object"]["content"].startswith(handle) and "housing" in told["object"]["content"]

    assert (await a.api("DELETE", f"{path}?area=housing", alice))[0] == 204
    assert (await a.api("DELETE", path, alice))[0] == 204
    assert (await a.api("DELETE", path, zoe))[0] == 403
    rows = await delegation_repo.list_delegations(a.node.db.reader, group.id)
    assert [(r.scope, r.scope_key, r.delegate) for r in rows] == [("area", "safety", None)]

    # Removing a member drops the delegations they made.
    assert (await a.api("PUT", path, bruno, {"delegate": "alice"}))[0] == 200
    await roster.remove_member(a.node, group, "bruno")
    assert [r.delegator for r in await delegation_repo.list_delegations(a.node.db.reader, group.id)] == [
        f"{a.base}/people/alice"]


def _mention(href: str, user: str) -> str:
    # What Mastodon writes: the link shows only @user; the full handle is in the Mention tag.
    return f'<span class="h-card"><a href="{href}" class="u-url mention">@<span>{user}</span></a></span>'


def _command(remote: RemoteServer, sender: RemoteActor, group_url: str, text_html: str,
             mentions: list[tuple[str, str]], public: bool = False) -> dict:
    note_id = remote.new_id(sender, "statuses")
    to = [group_url, *(href for href, _ in mentions)]
    note = {
        "id": note_id, "type": "Note", "attributedTo": sender.id,
        "to": ["https://www.w3.org/ns/activitystreams#Public"] if public else to, "cc": to if public else [],
        "content": f"<p>{_mention(group_url, 'barrio')} {text_html}</p>",
        "tag": [{"type": "Mention", "href": group_url, "name": "@barrio@x"},
                *({"type": "Mention", "href": href, "name": name} for href, name in mentions)],
    }
    return {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{note_id}/activity",
            "type": "Create", "actor": sender.id, "to": note["to"], "object": note}


async def test_direct_mention_commands(nodes, remote: RemoteServer) -> None:
    a = await nodes("a")
    group_url = await a.group("barrio")
    group = await accounts.get_actor(a.node, "barrio")
    dave, erin, mallory = remote.actor("dave"), remote.actor("erin"), remote.actor("mallory")
    for actor in (dave, erin):
        await roster.add_member(a.node, group, actor.id)
    erin_handle = f"@erin@127.0.0.1:{remote.port}"
    inbox = f"{group_url}/inbox"

    async def send(sender: RemoteActor, text: str, mentions: Sequence[tuple[str, str]] = (), **kw) -> dict:
        create = _command(remote, sender, group_url, text, list(mentions), **kw)
        status, body = await post_signed(inbox, create, sender)
        assert status == 202, body
        return create

    def reply_to(create: dict):
        return lambda x: x.get("type") == "Create" and x["object"].get("inReplyTo") == create["object"]["id"]

    sent = await send(dave, f"delegate {_mention(erin.id, 'erin')} housing", [(erin.id, erin_handle)])
    [reply] = await remote.wait_for(reply_to(sent))
    note = reply["object"]
    assert note["to"] == [dave.id] and note["tag"][0]["href"] == dave.id
    assert note["content"].startswith(f"@dave@127.0.0.1:{remote.port}")
    assert "Recorded" in note["content"] and erin_handle in note["content"] and "housing" in note["content"]
    rows = await delegation_repo.list_delegations(a.node.db.reader, group.id)
    assert [(r.delegator, r.scope, r.scope_key, r.delegate) for r in rows] == [
        (dave.id, "area", "housing", erin.id)]
    await remote.wait_for(lambda x: x.get("object", {}).get("to") == [erin.id]
                          and "now delegates to you" in x["object"]["content"])

    # A handle typed as plain text works too; status lists both directions.
    sent = await send(erin, f"delegate @dave@127.0.0.1:{remote.port}")
    [reply] = await remote.wait_for(reply_to(sent))
    assert "on everything" in reply["object"]["content"]
    sent = await send(erin, "status")
    [reply] = await remote.wait_for(reply_to(sent))
    assert "delegates to you" in reply["object"]["content"] and "housing" in reply["object"]["content"]

    sent = await send(dave, "revoke housing")
    [reply] = await remote.wait_for(reply_to(sent))
    assert "Revoked" in reply["object"]["content"]
    rows = await delegation_repo.list_delegations(a.node.db.reader, group.id)
    assert [r.delegator for r in rows] == [erin.id]

    sent = await send(dave, "delegate @dave@127.0.0.1:1")
    [reply] = await remote.wait_for(reply_to(sent))
    assert "Nothing changed" in reply["object"]["content"] and "not a member" in reply["object"]["content"]
    sent = await send(dave, "help")
    [reply] = await remote.wait_for(reply_to(sent))
    assert "revoke [area]" in reply["object"]["content"]
    sent = await send(mallory, f"delegate {_mention(erin.id, 'erin')}", [(erin.id, erin_handle)])
    [reply] = await remote.wait_for(reply_to(sent))
    assert "not a member" in reply["object"]["content"]

    # A public comment mentioning the assembly is no command: no reply, nothing stored.
    sent = await send(dave, "what a nice idea", public=True)
    await asyncio.sleep(0.5)
    assert not [x for x in remote.received if reply_to(sent)(x)]
    assert len(await delegation_repo.list_delegations(a.node.db.reader, group.id)) == 1
