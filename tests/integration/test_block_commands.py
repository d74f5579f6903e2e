"""``fedassembly block`` and ``unblock`` from another process take effect on a running node within
a second, without a restart: a blocked domain or actor gets 403 and nothing of it is recorded."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from support.nodes import RunningNode, free_port
from support.processes import run_cli, write_config
from support.remote import RemoteActor, RemoteServer, post_signed

from fedassembly.app import accounts, blocks
from fedassembly.app.errors import InvalidError
from storage import follows as follow_repo
from storage import inbox as inbox_repo

StartNode = Callable[..., Awaitable[RunningNode]]  # the conftest's nodes factory


class Setup:
    def __init__(self, running: RunningNode, remote: RemoteServer, config: Path) -> None:
        self.running, self.remote, self.config = running, remote, config
        self.group_url = f"{running.base}/groups/barrio"

    async def follow(self, actor: RemoteActor) -> tuple[int, str]:
        """A signed Follow of the assembly; (status, activity id)."""
        activity_id = self.remote.new_id(actor)
        follow = {"id": activity_id, "type": "Follow", "actor": actor.id, "object": self.group_url}
        status, _ = await post_signed(f"{self.group_url}/inbox", follow, actor)
        return status, activity_id

    async def recorded(self, activity_id: str) -> bool:
        return await inbox_repo.count_inbox_activities(self.running.node.db.reader, activity_id) > 0

    async def followers(self) -> list[str]:
        group = await accounts.get_actor(self.running.node, "barrio")
        return [f.follower for f in await follow_repo.list_followers(self.running.node.db.reader, group.id)]

    async def cli(self, *args: str) -> str:
        # In a thread: the node lives in this loop and must go on serving meanwhile.
        done = await asyncio.to_thread(run_cli, self.config, *args)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    async def first_status(self, actor: RemoteActor, wanted: int, within: float = 3.0) -> float:
        """Follow until the answer is ``wanted``; the seconds it took."""
        started = time.monotonic()
        while time.monotonic() - started < within:
            status, _ = await self.follow(actor)
            if status == wanted:
                return time.monotonic() - started
            assert status in (202, 403), status
            await asyncio.sleep(0.1)
        raise AssertionError(f"still not {wanted} after {within}s")


@pytest.fixture
async def setup(nodes: StartNode, tmp_path: Path):
    running = await nodes("a")
    await running.group("barrio")
    remote = await RemoteServer(host="127.0.0.2").start()
    config = write_config(tmp_path, free_port(), server={"base_url": running.base},
                          storage={"path": str(running.settings.storage_path)})
    yield Setup(running, remote, config)
    await remote.stop()


async def test_a_blocked_domain_is_refused_within_a_second_and_unblocked_again(setup: Setup) -> None:
    probe, ivy = setup.remote.actor("probe"), setup.remote.actor("ivy")  # probe: until the node sees it
    assert await setup.cli("block", "127.0.0.2") == "blocked 127.0.0.2"
    assert await setup.first_status(probe, 403) < 2.0
    status, activity_id = await setup.follow(ivy)
    assert status == 403
    assert not await setup.recorded(activity_id) and ivy.id not in await setup.followers()

    assert await setup.cli("unblock", "127.0.0.2") == "unblocked 127.0.0.2"
    assert await setup.first_status(probe, 202) < 2.0
    status, activity_id = await setup.follow(ivy)
    assert status == 202 and await setup.recorded(activity_id)
    assert ivy.id in await setup.followers()


async def test_a_blocked_actor_is_refused_and_its_neighbours_are_not(setup: Setup) -> None:
    troll, neighbour = setup.remote.actor("troll"), setup.remote.actor("neighbour")
    assert await setup.cli("block", troll.id) == f"blocked {troll.id}"
    assert await setup.cli("block", troll.id) == f"{troll.id} was already blocked"
    assert await setup.first_status(troll, 403) < 2.0
    status, activity_id = await setup.follow(troll)
    assert status == 403 and not await setup.recorded(activity_id)
    status, activity_id = await setup.follow(neighbour)
    assert status == 202 and await setup.recorded(activity_id)
    assert neighbour.id in await setup.followers()
    mallory = setup.remote.actor("mallory")  # named as people see it: resolved by WebFinger
    handle = f"@mallory@{setup.remote.host}:{setup.remote.port}"
    assert await blocks.block(setup.running.node, handle) == (mallory.id, True)
    assert await setup.first_status(mallory, 403) < 2.0


async def test_what_cannot_be_blocked_is_refused(setup: Setup) -> None:
    node = setup.running.node
    for text, message in (("not a domain!", "neither an actor IRI"), (setup.group_url, "is this node"),
                          ("127.0.0.1", "is this node")):
        with pytest.raises(InvalidError, match=message):
            await blocks.block(node, text)
    done = await asyncio.to_thread(run_cli, setup.config, "unblock", "never-blocked.example")
    assert (done.returncode, done.stderr) == (1, "fedassembly: never-blocked.example is not blocked\n")
