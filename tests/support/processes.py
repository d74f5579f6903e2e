"""``fedassembly serve`` as a real process, for tests that kill and restart a node."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

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


def write_config(folder: Path, port: int, **tables: dict[str, Any]) -> Path:
    """A node's TOML on loopback ``port``, its database in ``folder/data``; ``tables`` add or override."""
    merged: dict[str, dict[str, Any]] = {
        "server": {"host": "127.0.0.1", "port": port},
        "storage": {"path": str(folder / "data" / "node.sqlite3")},
        "federation": {"allow_private_addresses": True},
    }
    for section, values in tables.items():
        merged.setdefault(section, {}).update(values)
    # JSON's strings, numbers, booleans and lists of them are TOML too.
    text = "".join(
        f"[{section}]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items())
        for section, values in merged.items()
    )
    config = folder / "node.toml"
    config.write_text(text)
    return config


def run_cli(
    config: Path, *args: str, stdin: str = "", timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``fedassembly ARGS --config CONFIG`` to its end; the finished process (not checked)."""
    return subprocess.run(
        [sys.executable, "-m", "fedassembly", *args, "--config", str(config)],
        input=stdin, capture_output=True, text=True, timeout=timeout, check=False,
    )


def stop_serving(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM, as an init system stops a node; its exit status."""
    process.terminate()
    try:
        return process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
