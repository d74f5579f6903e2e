"""Deliveries are rows: a receiver down (503) while the node is killed with SIGKILL and started
again still ends up with the announcement exactly once (after its dedupe by activity id)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from support.nodes import free_port
from support.processes import start_serving
from support.remote import RemoteServer, post_signed


def write_config(folder: Path, port: int) -> Path:
    config = folder / "node.toml"
    config.write_text(
        f'[server]\nhost = "127.0.0.1"\nport = {port}\n'
        f'[storage]\npath = "{folder / "node.sqlite3"}"\n'
        "[federation]\nallow_private_addresses = true\n"
        "[delivery]\nfirst_retry_seconds = 0.3\n"
    )
    return config


def cli(config: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "fedassembly", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


async def wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


async def test_delivery_survives_503_and_sigkill(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = write_config(tmp_path, port)
    log = tmp_path / "node.log"
    group_url = cli(config, "assembly", "create", "barrio")
    up = await RemoteServer().start()
    down = await RemoteServer(host="127.0.0.2").start()
    down.inbox_status = 503
    followers = [up.actor("ana"), up.actor("ben"), down.actor("cai")]
    node = await start_serving(config, base, log)
    try:
        for server, actor in ((up, followers[0]), (up, followers[1]), (down, followers[2])):
            follow = {"id": server.new_id(actor), "type": "Follow", "actor": actor.id, "object": group_url}
            status, text = await post_signed(f"{group_url}/inbox", follow, actor)
            assert status == 202, text
        await wait_for(lambda: len(up.received_of("Accept")) == 2)

        note_id = cli(config, "announce", "barrio", "Assembly on Thursday")  # queued by another process

        def delivered(server: RemoteServer) -> list[dict]:
            return [a for a in server.accepted if a.get("type") == "Create" and a["object"]["id"] == note_id]

        def attempted(server: RemoteServer) -> list[dict]:
            return [a for a in server.received if a.get("type") == "Create" and a["object"]["id"] == note_id]

        await wait_for(lambda: len(delivered(up)) == 1 and len(attempted(down)) >= 1, timeout=10)
        os.kill(node.pid, signal.SIGKILL)
        node.wait(timeout=10)
        down.inbox_status = 202  # the receiver recovers while the node is dead
        node = await start_serving(config, base, log)
        await wait_for(lambda: len(delivered(down)) >= 1, timeout=20)
        await asyncio.sleep(1.0)  # nothing more may arrive
        # One shared inbox per host: each host received the activity with a 2xx exactly once.
        assert len(delivered(up)) == 1
        assert len(delivered(down)) == 1
        assert len({a["id"] for a in attempted(down)}) == 1
    finally:
        node.send_signal(signal.SIGTERM)
        try:
            node.wait(timeout=10)
        except subprocess.TimeoutExpired:
            node.kill()
        await up.stop()
        await down.stop()
    rows = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]);"
            "print(c.execute('select count(*) from deliveries').fetchone()[0],"
            " c.execute('pragma integrity_check').fetchone()[0])",
            str(tmp_path / "node.sqlite3"),
        ],
        capture_output=True,
        text=True,
    ).stdout.split()
    assert rows == ["0", "ok"]
