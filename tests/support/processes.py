"""``fedassembly serve`` as a real process, for tests that kill and restart a node."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import aiohttp


async def start_serving(config: Path, base: str, log: Path | None = None) -> subprocess.Popen[bytes]:
    """Start ``fedassembly serve --config`` and return once it answers /healthz (its output to ``log``)."""
    output = log.open("ab") if log is not None else subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, "-m", "fedassembly", "serve", "--config", str(config)],
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 15
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return process
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    process.kill()
    tail = log.read_text()[-2000:] if log is not None else ""
    raise AssertionError(f"the node did not start\n{tail}")
