"""Fixtures shared by the suite: real nodes and a real remote server on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from support.nodes import RunningNode, start_node
from support.remote import RemoteServer


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[RunningNode]]]:
    """A factory of running nodes, each with its own SQLite file; all stopped afterwards."""
    started: list[RunningNode] = []

    async def start(name: str = "a", **overrides: Any) -> RunningNode:
        running = await start_node(tmp_path / name, **overrides)
        started.append(running)
        return running

    yield start
    for running in started:
        await running.runner.cleanup()


@pytest.fixture
async def remote() -> AsyncIterator[RemoteServer]:
    """A remote fediverse server with actors whose keys we control."""
    server = await RemoteServer().start()
    yield server
    await server.stop()
