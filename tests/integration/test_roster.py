"""Rosters and settings: the CLI (on the running node's SQLite file), the API, the welcome
message to a remote member, and a remote account's Delete taking it off every roster."""

from __future__ import annotations

import asyncio
from pathlib import Path

from support.remote import RemoteServer, post_signed

from fedassembly.app import accounts, roster
from fedassembly.cli import main
from storage import delegations as delegation_repo
from storage import members as member_repo
from storage.delegations import StoredDelegation


def _config(tmp_path: Path, running) -> Path:
    path = tmp_path / "cli.toml"
    path.write_text(
        f'[server]\nbase_url = "{running.base}"\n[storage]\npath = "{running.settings.storage_path}"\n'
        "[federation]\nallow_private_addresses = true\n"
    )
    return path


async def _cli(config: Path, *argv: str) -> int:
    return await asyncio.to_thread(main, [*argv, "--config", str(config)])


def _welcome_to(actor_id: str):
    def match(activity: dict) -> bool:
        note = activity.get("object") or {}
        return activity.get("type") == "Create" and note.get("to") == [actor_id] and "member of" in note.get(
            "content", "")
    return match


async def test_cli_member_add_remove_set_and_welcome(
    nodes, remote: RemoteServer, tmp_path: Path, capsys
) -> None:
    a = await nodes("a")
    await a.group("barrio")
    await a.person("alice")
    config = _config(tmp_path, a)
    carol = remote.actor("carol")
    handle = f"@carol@127.0.0.1:{remote.port}"

    assert await _cli(config, "member", "add", "barrio", "alice", "--facilitator") == 0
    assert await _cli(config, "member", "add", "barrio", "alice") == 1
    assert "already a member" in capsys.readouterr().err
    assert await _cli(config, "member", "add", "barrio", "nobody") == 1
    assert await _cli(config, "member", "add", "barrio", handle) == 0
    group = await accounts.get_actor(a.node, "barrio")
    members = {m.member: m.facilitator for m in await member_repo.list_members(a.node.db.reader, group.id)}
    assert members == {f"{a.base}/people/alice": True, carol.id: False}

    [create] = await remote.wait_for(_welcome_to(carol.id))
    note = create["object"]
    assert create["actor"] == f"{a.base}/groups/barrio"
    assert note["content"].startswith(handle)
    assert note["tag"] == [{"type": "Mention", "href": carol.id, "name": handle}]
    for word in ("delegate", "revoke", "status", "help", f"@barrio@127.0.0.1:{a.settings.port}"):
        assert word in note["content"]
    assert "https://www.w3.org/ns/activitystreams#Public" not in note["to"] + note["cc"]

    argv = ("assembly", "set", "barrio", "--roster", "public", "--vote-receipts", "off")
    assert await _cli(config, *argv) == 0
    group = await accounts.get_actor(a.node, "barrio")
    assert group.settings["roster"] == "public" and group.settings["vote_receipts"] is False
    assert await _cli(config, "assembly", "set", "nowhere", "--roster", "public") == 1

    assert await _cli(config, "member", "remove", "barrio", handle) == 0
    assert await _cli(config, "member", "remove", "barrio", handle) == 1
    assert await member_repo.list_member_ids(a.node.db.reader, group.id) == [f"{a.base}/people/alice"]


async def test_cli_import_aborts_on_bad_row_then_imports(
    nodes, remote: RemoteServer, tmp_path: Path, capsys
) -> None:
    a = await nodes("a")
    await a.group("barrio")
    await a.person("alice")
    config = _config(tmp_path, a)
    dave = remote.actor("dave")
    bad = tmp_path / "bad.csv"
    bad.write_text(f"name,actor\nalice,\nbruno,\nBad Name,\n,{dave.id}\n")
    assert await _cli(config, "member", "import", "barrio", str(bad)) == 1
    assert "line 4" in capsys.readouterr().err
    group = await accounts.get_actor(a.node, "barrio")
    assert await member_repo.count_members(a.node.db.reader, group.id) == 0

    good = tmp_path / "good.csv"
    good.write_text(f"name,actor\nalice,\nbruno,\ndave,{dave.id}\n")
    tokens = tmp_path / "tokens.csv"
    assert await _cli(config, "member", "import", "barrio", str(good), "--tokens", str(tokens)) == 0
    assert "random password" in capsys.readouterr().out
    lines = tokens.read_text().splitlines()
    assert lines[0] == "name,token" and len(lines) == 2 and lines[1].startswith("bruno,fa_")
    status, me = await a.api("GET", "/api/v1/me", lines[1].split(",")[1])
    assert status == 200 and me["groups"] == [{"name": "barrio", "facilitator": False}]
    assert set(await member_repo.list_member_ids(a.node.db.reader, group.id)) == {
        f"{a.base}/people/alice", f"{a.base}/people/bruno", dave.id}
    await remote.wait_for(_welcome_to(dave.id))


async def test_api_members_and_settings(nodes, remote: RemoteServer) -> None:
    a = await nodes("a")
    await a.group("barrio")
    _, alice = await a.person("alice")
    _, bruno = await a.person("bruno")
    _, outsider = await a.person("zoe")
    group = await accounts.get_actor(a.node, "barrio")
    await roster.add_member(a.node, group, "alice", facilitator=True)
    path = "/api/v1/groups/barrio/members"

    assert (await a.api("POST", path, None, {"who": "bruno"}))[0] == 401
    assert (await a.api("POST", path, outsider, {"who": "bruno"}))[0] == 403
    assert (await a.api("POST", path, alice, {"who": "nobody"}))[0] == 404
    assert (await a.api("POST", path, alice, {"who": ""}))[0] == 400
    assert (await a.api("POST", path, alice, {"who": "bruno", "facilitator": "yes"}))[0] == 400
    assert (await a.api("POST", "/api/v1/groups/nowhere/members", alice, {"who": "bruno"}))[0] == 404
    status, body = await a.api("POST", path, alice, {"who": "bruno"})
    assert status == 201 and body == {"who": "bruno", "actor": f"{a.base}/people/bruno", "facilitator": False}
    assert (await a.api("POST", path, alice, {"who": "bruno"}))[0] == 409
    erin = remote.actor("erin")
    status, body = await a.api("POST", path, alice, {"who": erin.id})
    assert status == 201 and body["who"] == f"@erin@127.0.0.1:{remote.port}"

    # The roster is visible to members only by default.
    assert (await a.api("GET", path))[0] == 403
    assert (await a.api("GET", path, outsider))[0] == 403
    status, listed = await a.api("GET", path, bruno)
    erin_handle = f"@erin@127.0.0.1:{remote.port}"
    # Ordered by when they were added (to the second), then by IRI.
    assert status == 200 and sorted(m["who"] for m in listed) == sorted(["alice", "bruno", erin_handle])
    assert {"who": "alice", "actor": f"{a.base}/people/alice", "facilitator": True} in listed
    status, collection, _ = await a.get_ap(f"{a.base}/groups/barrio/members")
    assert status == 200 and collection["totalItems"] == 3 and "first" not in collection

    settings = "/api/v1/groups/barrio"
    assert (await a.api("PATCH", settings, bruno, {"roster": "public"}))[0] == 403
    assert (await a.api("PATCH", settings, alice, {"roster": "everyone"}))[0] == 400
    assert (await a.api("PATCH", settings, alice, {"colour": "red"}))[0] == 400
    assert (await a.api("PATCH", settings, alice, {"vote_receipts": 3}))[0] == 400
    status, body = await a.api("PATCH", settings, alice, {"roster": "public", "ballots": "hidden",
                                                          "vote_receipts": "off"})
    assert status == 200 and body == {"name": "barrio", "ballots": "hidden", "roster": "public",
                                      "vote_receipts": False}
    assert (await a.api("GET", path))[0] == 200
    status, page, _ = await a.get_ap(f"{a.base}/groups/barrio/members?page=1")
    assert status == 200
    assert set(page["orderedItems"]) == {f"{a.base}/people/alice", f"{a.base}/people/bruno", erin.id}

    assert (await a.api("DELETE", f"{path}/bruno", bruno))[0] == 403
    assert (await a.api("DELETE", f"{path}/bruno", alice))[0] == 204
    assert (await a.api("DELETE", f"{path}/bruno", alice))[0] == 404
    assert (await a.api("DELETE", f"{path}/@erin@127.0.0.1:{remote.port}", alice))[0] == 204
    status, me = await a.api("GET", "/api/v1/me", bruno)
    assert status == 200 and me["groups"] == []


async def test_remote_delete_takes_member_off_every_roster(nodes, remote: RemoteServer) -> None:
    a = await nodes("a")
    await a.group("barrio")
    await a.group("centro")
    await a.person("alice")
    frank = remote.actor("frank")
    barrio = await accounts.get_actor(a.node, "barrio")
    centro = await accounts.get_actor(a.node, "centro")
    for group in (barrio, centro):
        await roster.add_member(a.node, group, frank.id)
    await roster.add_member(a.node, barrio, "alice")
    alice_iri = f"{a.base}/people/alice"
    async with a.node.db.transaction() as conn:
        for row in (StoredDelegation(barrio.id, alice_iri, "global", "", frank.id, "t"),
                    StoredDelegation(barrio.id, frank.id, "area", "x", alice_iri, "t")):
            await delegation_repo.put_delegation(conn, row)

    delete = {"@context": "https://www.w3.org/ns/activitystreams", "id": remote.new_id(frank),
              "type": "Delete", "actor": frank.id, "object": frank.id,
              "to": ["https://www.w3.org/ns/activitystreams#Public"]}
    status, text = await post_signed(f"{a.base}/inbox", delete, frank)
    assert status in (200, 202), text
    assert await member_repo.list_member_ids(a.node.db.reader, barrio.id) == [alice_iri]
    assert await member_repo.list_member_ids(a.node.db.reader, centro.id) == []
    assert await delegation_repo.list_delegations(a.node.db.reader, barrio.id) == []
