"""A signature is for us: the host (draft-cavage ``host``, RFC 9421 ``@authority`` and
``@target-uri``) a request was signed for must be our base URL's, whatever ``Host`` arrived."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import aiohttp
from support.nodes import RunningNode
from support.remote import RemoteActor, RemoteServer
from support.scene import Scene, open_scene
from support.signing import cavage, rfc9421

from storage import follows as follow_repo

COVERING_HOST = ("@method", "@target-uri", "host", "content-digest")


async def raw_post(url: str, body: bytes, headers: dict[str, str]) -> int:
    async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as r:
        return r.status


async def test_a_delivery_signed_for_another_server_and_replayed_here_is_401(scene: Scene) -> None:
    alice = scene.actor("alice")
    await scene.known(alice)
    before = await scene.counts()
    path = "/groups/barrio/inbox"  # the same path on both servers, as shared inboxes often are
    body = json.dumps(scene.follow(alice)).encode()
    elsewhere = f"http://other.example{path}"
    signed_cavage = cavage(alice, elsewhere, body)
    assert signed_cavage["host"] == "other.example"
    signed_9421 = {**rfc9421(alice, elsewhere, body), "host": "other.example"}
    for headers in (signed_cavage, signed_9421):
        assert await raw_post(scene.inbox, body, headers) == 401
    assert await scene.counts() == before


async def test_a_proxy_that_rewrites_host_still_verifies_what_was_signed_for_our_name(
    nodes: Callable[..., Awaitable[RunningNode]], remote: RemoteServer
) -> None:
    running = await nodes("proxied", base_url="https://assembly.example")
    scene = await open_scene(running, remote, ("alice",))
    alice = scene.actor("alice")
    public_inbox = "https://assembly.example/groups/barrio/inbox"
    assert scene.inbox == public_inbox
    # The proxy forwards to the node on loopback: the Host header that arrives is the node's own.
    local_inbox = f"http://127.0.0.1:{running.settings.port}/groups/barrio/inbox"
    signers: list[Callable[[RemoteActor, str, bytes], dict[str, str]]] = [
        cavage,
        rfc9421,
        lambda actor, url, body: rfc9421(actor, url, body, COVERING_HOST),
    ]
    for sign in signers:
        follow = scene.follow(alice)
        body = json.dumps(follow).encode()
        headers = sign(alice, public_inbox, body)
        headers.pop("host", None)
        assert await raw_post(local_inbox, body, headers) == 202
        assert [r.refusal for r in await scene.records(follow["id"])] == [None]
    group = await running.node.db.fetchone("SELECT id FROM local_actors WHERE name = 'barrio'")
    assert group is not None
    followers = await follow_repo.list_followers(running.node.db.reader, group[0])
    assert [f.follower for f in followers] == [alice.id]
    assert await running.node.db.integrity_check() == "ok"
