"""``fedassembly backup`` while a real ``fedassembly serve`` takes signed votes: each copy opens,
passes ``PRAGMA integrity_check``, and holds a consistent prefix of the votes: every vote
acknowledged before the backup began, then no gap, nothing out of order, nothing never sent."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import time
import uuid
from pathlib import Path

import aiohttp
from support.nodes import free_port
from support.processes import run_cli, start_serving, stop_serving, write_config
from support.remote import RemoteServer, post_signed

from fedassembly.app.clock import iso
from storage import actors as actor_repo
from storage import members as member_repo
from storage.db import Database
from storage.members import Member

BACKUPS = 3
AS = "https://www.w3.org/ns/activitystreams"


async def put_member(database: Path, actor: str) -> None:
    """A remote member on the roster of barrio, written to the node's file before it starts."""
    db = await Database.open(database, create=False)
    try:
        group = await actor_repo.get_actor_by_name(db.reader, "barrio")
        assert group is not None
        async with db.transaction() as conn:
            await member_repo.put_member(conn, Member(group.id, actor, None, False, iso(time.time())))
    finally:
        await db.close()


async def backup(config: Path, target: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fedassembly", "backup", str(target), "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert out.decode() == f"{target}\n"


def votes_in(copy: Path, proposal_id: int) -> list[tuple[int, str | None]]:
    conn = sqlite3.connect(copy)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return conn.execute(
            "SELECT seq, activity_id FROM ballots WHERE proposal_id = ? ORDER BY seq", (proposal_id,)
        ).fetchall()
    finally:
        conn.close()


async def test_backups_taken_while_votes_arrive_hold_a_consistent_prefix(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = write_config(tmp_path, port)
    for command in (("assembly", "create", "barrio"), ("person", "create", "fac"),
                    ("member", "add", "barrio", "fac", "--facilitator")):
        done = run_cli(config, *command, stdin="correct horse battery\n")
        assert done.returncode == 0, done.stderr
    token = run_cli(config, "token", "create", "fac").stdout.strip()
    remote = await RemoteServer().start()
    rita = remote.actor("rita")
    await put_member(tmp_path / "data" / "node.sqlite3", rita.id)
    node = await start_serving(config, base, tmp_path / "node.log")
    try:
        proposal = {"title": "Paint", "content": "Which?", "options": ["green", "blue"], "method": "single",
                    "closes_at": "2099-01-01T00:00:00Z"}
        async with (
            aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session,
            session.post(f"{base}/api/v1/groups/barrio/proposals", json=proposal) as answer,
        ):
            assert answer.status == 201, await answer.text()
            proposal_id = (await answer.json())["id"]
        sent: list[str] = []  # vote Note ids, in the order they were acknowledged
        inbox = f"{base}/groups/barrio/inbox"

        backups_done = asyncio.Event()

        async def vote_stream() -> None:
            i = 0
            while not backups_done.is_set():
                i += 1
                note = f"{rita.id}#votes/{uuid.uuid4().hex}"
                vote = {"id": note, "type": "Note", "name": ("green", "blue")[i % 2], "attributedTo": rita.id,
                        "inReplyTo": f"{base}/proposals/{proposal_id}", "to": f"{base}/groups/barrio"}
                activity = {"@context": AS, "id": f"{note}/activity", "type": "Create", "actor": rita.id,
                            "to": f"{base}/groups/barrio", "object": vote}
                status, text = await post_signed(inbox, activity, rita)
                assert status == 202, text
                sent.append(note)

        voting = asyncio.create_task(vote_stream())
        copies: list[tuple[Path, int, int]] = []  # (file, acknowledged before it began, after it ended)
        while len(sent) < 5:
            await asyncio.sleep(0.01)
        for n in range(BACKUPS):
            target = tmp_path / "backups" / f"copy{n}.sqlite3"
            before = len(sent)
            await backup(config, target)
            copies.append((target, before, len(sent)))
        backups_done.set()
        await voting
    finally:
        assert stop_serving(node) == 0
        await remote.stop()
    for target, before, after in copies:
        assert after > before, "no vote arrived while this backup ran"
        leaves = votes_in(target, proposal_id)
        assert [seq for seq, _ in leaves] == list(range(len(leaves)))  # no gap
        assert before <= len(leaves) <= after + 1  # +1: acknowledged while the backup ran
        assert [activity for _, activity in leaves] == sent[: len(leaves)]  # a prefix, in order
    assert [activity for _, activity in votes_in(tmp_path / "data" / "node.sqlite3", proposal_id)] == sent
    assert "Traceback" not in (tmp_path / "node.log").read_text()
