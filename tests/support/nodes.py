"""Real fedassembly nodes on loopback ports, in the test's event loop."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from fedassembly.app import accounts
from fedassembly.app.node import Node
from fedassembly.main import build_app
from fedassembly.settings import Settings
from fedassembly.web.common import NODE


def free_port() -> int:
    """A port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_settings(folder: Path, **overrides: Any) -> Settings:
    """Settings for a loopback test node: private addresses allowed, fast retries."""
    port = free_port()
    base = Settings(
        host="127.0.0.1",
        port=port,
        storage_path=folder / "fedassembly.sqlite3",
        allow_private_addresses=True,
        first_retry_seconds=0.2,
        poll_update_seconds=0.2,
    )
    return replace(base, **overrides)


@dataclass
class RunningNode:
    settings: Settings
    runner: web.AppRunner

    @property
    def node(self) -> Node:
        return self.runner.app[NODE]

    @property
    def base(self) -> str:
        return self.settings.base

    async def group(self, name: str, kind: str = "assembly") -> str:
        """Create a group; its actor URL."""
        await accounts.create_group(self.node, name, kind, name.title())
        return f"{self.base}/groups/{name}"

    async def person(self, name: str, password: str = "correct horse") -> tuple[str, str]:
        """Create a person with an API token; (actor URL, token)."""
        await accounts.create_person(self.node, name, password)
        return f"{self.base}/people/{name}", await accounts.create_token(self.node, name)

    async def api(
        self, method: str, path: str, token: str | None = None, json: Any = None, **kw: Any
    ) -> tuple[int, Any]:
        """Call the JSON API; (status, parsed body or None)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, self.base + path, json=json, headers=headers, **kw) as response,
        ):
            text = await response.text()
            try:
                body = await response.json(content_type=None) if text else None
            except ValueError:
                body = text
            return response.status, body

    async def get_ap(self, url: str) -> tuple[int, Any, str]:
        """GET an ActivityPub document; (status, JSON, content type)."""
        async with (
            aiohttp.ClientSession() as session,
            session.get(url, headers={"Accept": "application/activity+json"}) as response,
        ):
            text = await response.text()
            try:
                body: Any = await response.json(content_type=None)
            except ValueError:
                body = text
            return response.status, body, response.content_type


async def start_node(folder: Path, clock: Callable[[], float] = time.time, **overrides: Any) -> RunningNode:
    """Start a node in this event loop on a free loopback port; ``clock`` is the node's."""
    folder.mkdir(parents=True, exist_ok=True)
    settings = test_settings(folder, **overrides)
    runner = web.AppRunner(build_app(settings, clock=clock), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    return RunningNode(settings, runner)
