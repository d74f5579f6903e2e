"""The durable closing scheduler (placeholder until the decision work lands)."""

from __future__ import annotations

import asyncio

from fedassembly.node import Node


async def run_closer(node: Node, stop: asyncio.Event) -> None:
    """Close proposals at their time until ``stop`` is set."""
    await stop.wait()
