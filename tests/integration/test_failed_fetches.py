"""A key or actor URL that failed is not fetched again for federation.failed_fetch_seconds.

A real node and a loopback remote server that counts the requests it gets; the node's clock is
stepped, never slept for. Every refusal is a 401 with nothing recorded.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
from support.clock import SteppedClock
from support.nodes import RunningNode
from support.remote import RemoteActor, RemoteServer, post_signed

from fedassembly.app.remote_actors import RemoteActorError
from storage import inbox as inbox_repo

WINDOW = 600.0


def follow(remote: RemoteServer, actor: RemoteActor, target: str) -> dict[str, Any]:
    return {"@context": "https://www.w3.org/ns/activitystreams", "id": remote.new_id(actor),
            "type": "Follow", "actor": actor.id, "object": target}


@dataclass
class UnderKeyId(RemoteActor):
    """The same actor and key pair, signing under another key id."""

    other_key_id: str = ""

    @property
    def key_id(self) -> str:
        return self.other_key_id


async def send(running: RunningNode, remote: RemoteServer, actor: RemoteActor) -> int:
    """A signed Follow of the assembly; its status, once checked against what was recorded."""
    activity = follow(remote, actor, f"{running.base}/groups/barrio")
    status, _ = await post_signed(f"{running.base}/groups/barrio/inbox", activity, actor)
    recorded = await inbox_repo.count_inbox_activities(running.node.db.reader, activity["id"])
    assert recorded == (1 if status == 202 else 0)
    return status


@pytest.fixture
async def setup(nodes, remote):
    clock = SteppedClock()
    running = await nodes("a", clock=clock)
    await running.group("barrio")
    yield running, remote, clock
    assert await running.node.db.integrity_check() == "ok"


@pytest.mark.parametrize("status", [500, 404, 410])
async def test_a_key_url_that_failed_is_fetched_once_per_window(setup, status: int) -> None:
    running, remote, clock = setup
    ghost = remote.actor("ghost")
    remote.failing["ghost"] = status
    path = "/users/ghost"
    assert [await send(running, remote, ghost) for _ in range(5)] == [401] * 5
    assert remote.fetched[path] == 1
    clock.step(WINDOW - 1)
    assert await send(running, remote, ghost) == 401
    assert remote.fetched[path] == 1, "held for the whole window"
    clock.step(2)
    assert await send(running, remote, ghost) == 401
    assert remote.fetched[path] == 2, "asked again once the window is over, and held again"
    del remote.failing["ghost"]
    assert await send(running, remote, ghost) == 401
    assert remote.fetched[path] == 2
    clock.step(WINDOW + 1)
    assert await send(running, remote, ghost) == 202
    assert remote.fetched[path] == 3
    assert await send(running, remote, ghost) == 202
    assert remote.fetched[path] == 3, "a key that was fetched is cached, not fetched again"


async def test_a_key_id_its_document_does_not_list_is_held_without_blocking_the_real_key(setup) -> None:
    running, remote, _ = setup
    alice = remote.actor("alice")
    bogus = UnderKeyId(alice.id, alice.name, alice.private_pem, f"{alice.id}#not-a-key")
    assert [await send(running, remote, bogus) for _ in range(3)] == [401] * 3
    assert remote.fetched["/users/alice"] == 1
    # Anyone can name a fragment the document lacks; the key it does list still works at once.
    assert await send(running, remote, alice) == 202
    assert remote.fetched["/users/alice"] == 2
    assert await send(running, remote, bogus) == 401
    assert remote.fetched["/users/alice"] == 2


async def test_an_actor_url_that_failed_is_fetched_once_per_window(setup) -> None:
    running, remote, clock = setup
    remote.actor("gone")
    remote.failing["gone"] = 503
    url = f"{remote.base}/users/gone"
    directory = running.node.remote
    for _ in range(3):
        with pytest.raises(RemoteActorError):
            await directory.actor(url)
    assert remote.fetched["/users/gone"] == 1
    del remote.failing["gone"]
    clock.step(WINDOW + 1)
    assert (await directory.actor(url)).id == url
    assert remote.fetched["/users/gone"] == 2


async def test_a_stale_actor_whose_origin_fails_is_served_from_cache_and_asked_once(setup) -> None:
    running, remote, clock = setup
    remote.actor("bob")
    url = f"{remote.base}/users/bob"
    directory = running.node.remote
    assert (await directory.actor(url)).id == url
    remote.failing["bob"] = 500
    clock.step(2 * 86_400)  # older than a day: due for a refetch
    for _ in range(3):
        assert (await directory.actor(url)).id == url
    assert remote.fetched["/users/bob"] == 2


async def test_a_key_on_a_server_that_hangs_up_is_asked_once_per_window(setup) -> None:
    running, remote, clock = setup
    connections = 0

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        actor = remote.actor("carol")
        away = UnderKeyId(actor.id, actor.name, actor.private_pem, f"http://127.0.0.1:{port}/users/c#main-key")
        activity = follow(remote, away, f"{running.base}/groups/barrio")
        activity["actor"] = f"http://127.0.0.1:{port}/users/c"
        inbox = f"{running.base}/groups/barrio/inbox"
        seen = []
        for _ in range(4):
            status, _ = await post_signed(inbox, {**activity, "id": remote.new_id(away)}, away)
            assert status == 401
            seen.append(connections)
        # aiohttp tries a GET again when the server hangs up: one fetch may be two connections.
        assert seen[0] >= 1 and seen == seen[:1] * 4
        clock.step(WINDOW + 1)
        status, _ = await post_signed(inbox, {**activity, "id": remote.new_id(away)}, away)
        assert status == 401 and connections > seen[0]
    finally:
        server.close()
        await server.wait_closed()


async def test_a_rotated_key_is_refetched_and_a_failed_refetch_waits_for_the_window(setup) -> None:
    running, remote, clock = setup
    alice = remote.actor("alice")
    assert await send(running, remote, alice) == 202
    assert remote.fetched["/users/alice"] == 1

    def rotate(key_index: int) -> RemoteActor:
        rotated = RemoteActor(alice.id, alice.name, remote.actor(f"key{key_index}", key_index).private_pem)
        remote.actors["alice"] = rotated
        return rotated

    assert await send(running, remote, rotate(1)) == 202  # the cached key fails: fetched once more
    assert remote.fetched["/users/alice"] == 2
    clock.step(61)
    remote.failing["alice"] = 500
    rotated = rotate(2)
    assert await send(running, remote, rotated) == 401
    assert remote.fetched["/users/alice"] == 3
    clock.step(61)  # past the minute between refetches, not past the failure's window
    assert await send(running, remote, rotated) == 401
    assert remote.fetched["/users/alice"] == 3
    del remote.failing["alice"]
    clock.step(WINDOW)
    assert await send(running, remote, rotated) == 202
    assert remote.fetched["/users/alice"] == 4
