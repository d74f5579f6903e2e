"""Coalesced Update(Question) sender (placeholder until the proposals work lands)."""

from __future__ import annotations

import asyncio

from fedassembly.node import Node


async def run_poll_updates(node: Node, stop: asyncio.Event) -> None:
    """Send due coalesced poll updates until ``stop`` is set."""
    await stop.wait()
