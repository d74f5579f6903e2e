"""A node killed with SIGKILL before a proposal's close decides it once on its next start."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
from support.nodes import free_port
from support.processes import start_serving

from fedassembly.app.clock import iso
from storage import actors as actor_repo
from storage import members as member_repo
from storage import outbox as outbox_repo
from storage import proposals as proposal_repo
from storage.db import Database
from storage.members import Member


def cli(config: Path, *args: str, stdin: str = "") -> str:
    """Run a ``fedassembly`` command on the node's database; its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "fedassembly", *args, "--config", str(config)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


async def add_facilitator(database: Path, base: str, group_name: str, person_name: str) -> None:
    """Put a local person on a roster as facilitator, on the node's database file."""
    db = await Database.open(database)
    try:
        group = await actor_repo.get_actor_by_name(db.reader, group_name)
        person = await actor_repo.get_actor_by_name(db.reader, person_name)
        assert group is not None and person is not None
        member = Member(group.id, f"{base}/people/{person_name}", person.id, True, iso(time.time()))
        async with db.transaction() as conn:
            await member_repo.put_member(conn, member)
    finally:
        await db.close()


async def test_killed_node_decides_an_overdue_proposal_once_on_start(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    database = tmp_path / "data" / "fedassembly.sqlite3"
    config = tmp_path / "fedassembly.toml"
    config.write_text(
        f'[server]\nhost = "127.0.0.1"\nport = {port}\n[storage]\npath = "{database}"\n'
        "[federation]\nallow_private_addresses = true\n",
        encoding="utf-8",
    )
    cli(config, "assembly", "create", "barrio")
    cli(config, "person", "create", "ana", stdin="correct horse\n")
    token = cli(config, "token", "create", "ana")
    await add_facilitator(database, base, "barrio", "ana")

    first = await start_serving(config, base)
    closes_at = int(time.time()) + 3
    try:
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:
            body = {"title": "Night market?", "content": "", "method": "yesno", "closes_at": iso(closes_at)}
            async with session.post(f"{base}/api/v1/groups/barrio/proposals", json=body) as response:
                assert response.status == 201, await response.text()
                proposal_id = (await response.json())["id"]
            async with session.post(
                f"{base}/api/v1/proposals/{proposal_id}/ballots", json={"choice": "yes"}
            ) as response:
                assert response.status == 201, await response.text()
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    assert time.time() < closes_at, "the node was killed after the close, not before"

    await asyncio.sleep(closes_at - time.time() + 0.5)
    second = await start_serving(config, base)
    try:
        decision = None
        async with aiohttp.ClientSession() as session:
            deadline = time.monotonic() + 5
            while decision is None and time.monotonic() < deadline:
                async with session.get(
                    f"{base}/proposals/{proposal_id}/decision",
                    headers={"Accept": "application/activity+json"},
                ) as response:
                    if response.status == 200:
                        decision = await response.json(content_type=None)
                await asyncio.sleep(0.05)
        assert decision is not None, "no decision within 5 s of the restart"
        assert decision["fa:outcome"] == {"status": "decided", "winners": ["yes"], "passed": True}
        await asyncio.sleep(1.5)  # a second closing round must not publish again
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=15)

    db = await Database.open(database)
    try:
        group = await actor_repo.get_actor_by_name(db.reader, "barrio")
        assert group is not None
        proposal = await proposal_repo.get_proposal_by_id(db.reader, proposal_id)
        assert proposal is not None and proposal.state == "decided"
        # One Create for the Question, one announcing the outcome: published once.
        assert await outbox_repo.count_activities_of_type(db.reader, group.id, "Create") == 2
    finally:
        await db.close()
