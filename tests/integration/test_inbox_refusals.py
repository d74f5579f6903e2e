"""Bad input at the inbox: each case its own status, no 500, nothing half-written.

Every test ends by checking the node still serves and the database is sound.
"""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest
from support.remote import RemoteServer, post_signed, signed_headers

from fedassembly.app import accounts
from storage import follows as follow_repo
from storage import inbox as inbox_repo


@pytest.fixture
async def setup(nodes, remote):
    node = await nodes("a", blocked_domains=frozenset({"blocked.example"}))
    group_url = await node.group("barrio")
    alice = remote.actor("alice")
    yield node, group_url, alice, remote
    status, _, _ = await node.get_ap(group_url)
    assert status == 200, "the node must still serve"
    assert await node.node.db.integrity_check() == "ok"


def follow(remote: RemoteServer, actor, target: str) -> dict:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": remote.new_id(actor),
        "type": "Follow",
        "actor": actor.id,
        "object": target,
    }


async def raw_post(url: str, body: bytes, headers: dict[str, str] | None = None) -> int:
    async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers or {}) as r:
        return r.status


async def inbox_count(node) -> int:
    row = await node.node.db.fetchone("SELECT COUNT(*) FROM inbox_activities")
    return int(row[0])


async def test_signed_follow_is_accepted(setup) -> None:
    node, group_url, alice, remote = setup
    activity = follow(remote, alice, group_url)
    status, _ = await post_signed(f"{group_url}/inbox", activity, alice)
    assert status == 202
    group = await accounts.get_actor(node.node, "barrio")
    assert [f.follower for f in await follow_repo.list_followers(node.node.db.reader, group.id)] == [alice.id]
    accepts = await remote.wait_for(lambda a: a.get("type") == "Accept")
    assert accepts[0]["object"]["id"] == activity["id"]
    assert accepts[0]["actor"] == group_url


async def test_not_json_is_400(setup) -> None:
    node, group_url, alice, _ = setup
    body = b"{not json"
    assert (
        await raw_post(f"{group_url}/inbox", body, signed_headers(alice, f"{group_url}/inbox", body)) == 400
    )
    assert await inbox_count(node) == 0


@pytest.mark.parametrize("missing", ["id", "type", "actor"])
async def test_missing_id_type_or_actor_is_400(setup, missing: str) -> None:
    node, group_url, alice, remote = setup
    activity = follow(remote, alice, group_url)
    del activity[missing]
    status, _ = await post_signed(f"{group_url}/inbox", activity, alice)
    assert status == 400
    assert await inbox_count(node) == 0


async def test_deeply_nested_json_is_400(setup) -> None:
    _node, group_url, alice, _ = setup
    body = b"[" * 100_000 + b"]" * 100_000
    assert (
        await raw_post(f"{group_url}/inbox", body, signed_headers(alice, f"{group_url}/inbox", body)) == 400
    )


async def test_no_signature_is_401(setup) -> None:
    node, group_url, alice, remote = setup
    body = json.dumps(follow(remote, alice, group_url)).encode()
    assert await raw_post(f"{group_url}/inbox", body, {"Content-Type": "application/activity+json"}) == 401
    assert await inbox_count(node) == 0


async def test_bad_signature_is_401(setup) -> None:
    node, group_url, alice, remote = setup
    body = json.dumps(follow(remote, alice, group_url)).encode()
    headers = signed_headers(alice, f"{group_url}/inbox", body)
    sig = headers["signature"]
    start = sig.index('signature="') + len('signature="')
    flipped = "A" if sig[start] != "A" else "B"
    headers["signature"] = sig[:start] + flipped + sig[start + 1 :]
    assert await raw_post(f"{group_url}/inbox", body, headers) == 401
    assert await inbox_count(node) == 0


async def test_wrong_digest_is_401(setup) -> None:
    node, group_url, alice, remote = setup
    body = json.dumps(follow(remote, alice, group_url)).encode()
    headers = signed_headers(alice, f"{group_url}/inbox", body)
    tampered = body.replace(b"Follow", b"Folloq")
    assert await raw_post(f"{group_url}/inbox", tampered, headers) == 401
    assert await inbox_count(node) == 0


async def test_date_two_hours_old_is_401(setup) -> None:
    node, group_url, alice, remote = setup
    status, _ = await post_signed(
        f"{group_url}/inbox", follow(remote, alice, group_url), alice, now=time.time() - 7200
    )
    assert status == 401
    assert await inbox_count(node) == 0


async def test_signer_is_not_the_actor_is_401(setup) -> None:
    node, group_url, alice, remote = setup
    mallory = remote.actor("mallory", key_index=1)
    activity = follow(remote, alice, group_url)  # claims to be alice
    status, _ = await post_signed(f"{group_url}/inbox", activity, mallory)
    assert status == 401
    group = await accounts.get_actor(node.node, "barrio")
    assert await follow_repo.count_followers(node.node.db.reader, group.id) == 0
    assert await inbox_count(node) == 0


async def test_key_on_unresolvable_host_is_401_within_timeout(setup) -> None:
    node, group_url, _alice, remote = setup
    ghost = remote.actor("ghost")
    ghost.id = "http://ghost.invalid/users/ghost"
    activity = follow(remote, ghost, group_url)
    activity["id"] = "http://ghost.invalid/activities/1"
    started = time.monotonic()
    status, _ = await post_signed(f"{group_url}/inbox", activity, ghost)
    assert status == 401
    assert time.monotonic() - started < 10.5
    assert await inbox_count(node) == 0


async def test_body_over_limit_is_413_before_read(nodes, remote) -> None:
    node = await nodes("small", max_body_bytes=4096)
    group_url = await node.group("barrio")
    # A chunked body with no Content-Length: refused once 4 KiB have streamed, not after 10 MB.
    sent = 0

    async def body():
        nonlocal sent
        for _ in range(10_000):
            sent += 1024
            yield b" " * 1024
            await asyncio.sleep(0)

    async with aiohttp.ClientSession() as session:
        try:
            async with session.post(f"{group_url}/inbox", data=body()) as r:
                status = r.status
        except aiohttp.ClientError:
            status = 413  # the server closed the connection after answering
    assert status == 413
    assert sent < 10_000 * 1024
    big = b"{" + b" " * 10_000 + b"}"
    assert await raw_post(f"{group_url}/inbox", big) == 413
    assert await node.node.db.integrity_check() == "ok"


async def test_same_activity_twice_has_one_effect(setup) -> None:
    node, group_url, alice, remote = setup
    activity = follow(remote, alice, group_url)
    results = await asyncio.gather(*(post_signed(f"{group_url}/inbox", activity, alice) for _ in range(5)))
    assert [status for status, _ in results] == [202] * 5
    assert await inbox_repo.count_inbox_activities(node.node.db.reader, activity["id"]) == 1
    await asyncio.sleep(0.5)
    accepts = [a for a in remote.received_of("Accept") if a["object"]["id"] == activity["id"]]
    assert len(accepts) == 1
    rows = await node.node.db.fetchall("SELECT COUNT(*) FROM outbox_activities WHERE type = 'Accept'")
    assert rows[0][0] == 1


async def test_follow_of_unknown_group_is_404(setup) -> None:
    node, _, alice, remote = setup
    activity = follow(remote, alice, f"{node.base}/groups/nobody")
    status, _ = await post_signed(f"{node.base}/inbox", activity, alice)
    assert status == 404
    assert await inbox_count(node) == 0
    status, _ = await post_signed(f"{node.base}/groups/nobody/inbox", activity, alice)
    assert status == 404
    # The inbox remembers owners it found, never absences: once created, the group is reached.
    await node.group("nobody")
    status, _ = await post_signed(f"{node.base}/groups/nobody/inbox", activity, alice)
    assert status == 202
    assert await inbox_count(node) == 1
    status, _ = await post_signed(f"{node.base}/people/nobody/inbox", follow(remote, alice, node.base), alice)
    assert status == 404  # a group's name is no person's inbox


async def test_blocked_domain_is_403(setup) -> None:
    node, group_url, alice, remote = setup
    activity = follow(remote, alice, group_url)
    activity["actor"] = "https://blocked.example/users/x"
    activity["id"] = "https://blocked.example/activities/1"
    body = json.dumps(activity).encode()
    headers = signed_headers(alice, f"{group_url}/inbox", body)
    headers["signature"] = headers["signature"].replace(
        alice.key_id, "https://blocked.example/users/x#main-key"
    )
    assert await raw_post(f"{group_url}/inbox", body, headers) == 403
    assert await inbox_count(node) == 0


async def test_jsonld_restructuring_is_400(setup) -> None:
    node, group_url, alice, remote = setup
    activity = follow(remote, alice, group_url)
    activity["object"] = {"@graph": [{"id": group_url}]}
    status, _ = await post_signed(f"{group_url}/inbox", activity, alice)
    assert status == 400
    assert await inbox_count(node) == 0


async def test_undo_follow_and_delete_actor(setup) -> None:
    node, group_url, alice, remote = setup
    first = follow(remote, alice, group_url)
    assert (await post_signed(f"{group_url}/inbox", first, alice))[0] == 202
    group = await accounts.get_actor(node.node, "barrio")
    undo = {
        "id": remote.new_id(alice),
        "type": "Undo",
        "actor": alice.id,
        "object": {k: v for k, v in first.items() if k != "@context"},
    }
    assert (await post_signed(f"{node.base}/inbox", undo, alice))[0] == 202
    assert await follow_repo.count_followers(node.node.db.reader, group.id) == 0
    again = follow(remote, alice, group_url)
    assert (await post_signed(f"{group_url}/inbox", again, alice))[0] == 202
    delete = {"id": remote.new_id(alice), "type": "Delete", "actor": alice.id, "object": alice.id}
    assert (await post_signed(f"{node.base}/inbox", delete, alice))[0] == 202
    assert await follow_repo.count_followers(node.node.db.reader, group.id) == 0
    assert await node.node.db.fetchone("SELECT 1 FROM remote_keys WHERE owner = ?", (alice.id,)) is None


async def test_unknown_type_is_recorded_with_no_effect(setup) -> None:
    node, group_url, alice, remote = setup
    like = {"id": remote.new_id(alice), "type": "Like", "actor": alice.id, "object": group_url}
    assert (await post_signed(f"{node.base}/inbox", like, alice))[0] == 202
    assert await inbox_repo.count_inbox_activities(node.node.db.reader, like["id"]) == 1
    group = await accounts.get_actor(node.node, "barrio")
    assert await follow_repo.count_followers(node.node.db.reader, group.id) == 0
