"""``fedassembly serve`` as a real process, for tests that kill and restart a node."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

START_TIMEOUT_SECONDS = 15.0


@dataclass
class Served:
    """A running ``fedassembly serve`` and how long it took from its start to answering /healthz."""

    process: subprocess.Popen[bytes]
    startup_seconds: float


async def serve(config: Path, base: str, log: Path | None = None) -> Served:
    """Start ``fedassembly serve --config`` and return once it answers 200 on /healthz (output to ``log``)."""
    command = [sys.executable, "-m", "fedassembly", "serve", "--config", str(config)]
    started = time.monotonic()
    if log is None:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    else:
        with log.open("ab") as output:  # the child keeps its own descriptor
            process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    timeout = aiohttp.ClientTimeout(total=2)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while time.monotonic() < started + START_TIMEOUT_SECONDS and process.poll() is None:
            try:
                async with session.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return Served(process, time.monotonic() - started)
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.02)
    process.kill()
    process.wait()
    tail = log.read_text(errors="replace")[-3000:] if log is not None else ""
    raise AssertionError(f"the node did not start (exit code {process.returncode})\n{tail}")


async def start_serving(config: Path, base: str, log: Path | None = None) -> subprocess.Popen[bytes]:
    """Start ``fedassembly serve --config`` and return once it answers /healthz (its output to ``log``)."""
    return (await serve(config, base, log)).process


def children_of(pid: int) -> list[int]:
    """The processes ``pid`` started and that still run (Linux ``/proc``)."""
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found.extend(int(child) for child in (task / "children").read_text().split())
    except OSError:  # the process is gone
        pass
    return found


def kill_hard(process: subprocess.Popen[bytes]) -> list[int]:
    """SIGKILL the node, as a power cut would; the children it left (its sender process)."""
    children = children_of(process.pid)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    return children


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the node and wait for its orderly stop (SIGKILL after 15 s)."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def is_running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped counts as ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


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
