"""Fixtures of the attack tests: a scene (node, assembly, remote members) and loopback servers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from support.loopback import ap_response, make_fetcher, serve, tripwire
from support.nodes import RunningNode
from support.remote import RemoteServer
from support.scene import Scene, open_scene

__all__ = ["ap_response", "make_fetcher", "scene", "serve", "tripwire"]


@pytest.fixture
async def scene(
    nodes: Callable[..., Awaitable[RunningNode]], remote: RemoteServer
) -> AsyncIterator[Scene]:
    """Assembly barrio on a fresh node; alice and bob (remote) are members, eve is not; the
    domain blocked.example is blocked. After the test the node must still serve, its file sound."""
    running = await nodes("a", blocked_domains=frozenset({"blocked.example"}))
    remote.actor("eve")
    opened = await open_scene(running, remote, ("alice", "bob"))
    yield opened
    await opened.still_sound()
