"""The crash loop: ``fedassembly serve`` killed with SIGKILL at random moments under load, and
restarted each time, loses nothing, doubles nothing and publishes the close once.

A loopback load generator (tests/support/crash_load.py) keeps remote members' signed votes, local
people's API ballots and delegation PUTs, and deliveries to followers on three loopback servers
under way, while the node is killed KILLS times (0.2-1.0 s after each start) and one proposal
closes in the middle of the loop. Afterwards (tests/support/crash_checks.py): every acknowledged
vote is present and counted exactly once, nothing is half-present, every queued delivery arrived
at least once and each receiver, deduplicating by activity id, applied the close's Update and
announcement once; the decision equals a recount of its ballots page; ``PRAGMA integrity_check``
is ``ok``. It prints the seed and the restart times (start to first 200 on /healthz).

    pytest -m crash -s tests/integration/test_crash_loop.py                        # 40 kills, as in CI
    FEDASSEMBLY_CRASH_KILLS=200 pytest -m crash -s tests/integration/test_crash_loop.py   # the long run
    FEDASSEMBLY_CRASH_SEED=1234 ...                   # replay a run's kill moments and load choices

It runs in the default suite (about a minute); ``-m "not crash"`` leaves it out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import sqlite3
import statistics
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from support import crash_checks as checks
from support.crash_load import LoadGenerator, Scenario
from support.nodes import free_port
from support.processes import Served, is_running, kill_hard, serve, stop
from support.remote import RemoteActor, RemoteServer, post_signed

from fedassembly.app import accounts, roster, roster_import
from fedassembly.app.clock import iso
from fedassembly.main import open_node
from fedassembly.settings import load_settings

pytestmark = pytest.mark.crash

KILLS = int(os.environ.get("FEDASSEMBLY_CRASH_KILLS", "40"))
SEED = int(os.environ.get("FEDASSEMBLY_CRASH_SEED") or random.SystemRandom().randrange(1_000_000))
UP_SECONDS = (0.2, 1.0)  # how long the node runs before each kill
RESTART_SECONDS = 0.5  # a fast restart: slower ones bring the close earlier in the loop, not after it
OPTIONS = ["garden", "parking", "market"]
PEOPLE = ["ana", "ben", "cai", "dua", "eli", "fen"]  # ana facilitates
VOTERS_PER_SERVER = 10
FOLLOWERS_PER_SERVER = 2


def write_config(folder: Path, port: int) -> Path:
    config = folder / "node.toml"
    config.write_text(
        f'[server]\nhost = "127.0.0.1"\nport = {port}\n'
        f'[storage]\npath = "{folder / "node.sqlite3"}"\n'
        "[federation]\nallow_private_addresses = true\npoll_update_seconds = 0.5\n"
        "[delivery]\nfirst_retry_seconds = 0.3\n"
    )
    return config


async def make_assembly(folder: Path, config: Path, voters: list[RemoteActor]) -> dict[str, str]:
    """The assembly, its people (API tokens) and its remote members, through the use cases on
    the node's file before it serves; the people's tokens."""
    node = await open_node(load_settings(config))
    try:
        group = await accounts.create_group(node, "barrio", "assembly", "Barrio")
        await accounts.create_person(node, PEOPLE[0], "correct horse")
        tokens = {PEOPLE[0]: await accounts.create_token(node, PEOPLE[0])}
        await roster.add_member(node, group, PEOPLE[0], facilitator=True)
        sheet, tokens_out = folder / "roster.csv", folder / "tokens.csv"
        rows = [*(f"{name}," for name in PEOPLE[1:]), *(f"{v.name},{v.id}" for v in voters)]
        sheet.write_text("name,actor\n" + "\n".join(rows) + "\n")
        await roster_import.import_members(node, group, sheet, tokens_out)
        for line in tokens_out.read_text().splitlines()[1:]:
            name, token = line.split(",")
            tokens[name] = token
    finally:
        await node.close()
    return tokens


async def follow(base: str, servers: list[RemoteServer]) -> None:
    """Followers on every server, so every publication is delivered to each of them."""
    for server in servers:
        for n in range(FOLLOWERS_PER_SERVER):
            actor = server.actor(f"follower{n}")
            activity = {"id": server.new_id(actor), "type": "Follow", "actor": actor.id,
                        "object": f"{base}/groups/barrio"}
            status, text = await post_signed(f"{base}/groups/barrio/inbox", activity, actor)
            assert status == 202, text
    deadline = time.monotonic() + 10
    while any(len(s.received_of("Accept")) < FOLLOWERS_PER_SERVER for s in servers):
        assert time.monotonic() < deadline, "the follows were not accepted"
        await asyncio.sleep(0.05)


async def propose(base: str, token: str, title: str, closes_at: float) -> int:
    body = {"title": title, "content": "", "method": "single", "options": OPTIONS,
            "closes_at": iso(closes_at)}
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session, \
            session.post(f"{base}/api/v1/groups/barrio/proposals", json=body) as response:
        assert response.status == 201, await response.text()
        return int((await response.json())["id"])


async def wait_until_settled(database: Path, closing: int, timeout: float = 60.0) -> None:
    """Until the close is decided, no poll update is pending and the delivery queue is empty."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
            state = db.execute("SELECT state FROM proposals WHERE id = ?", (closing,)).fetchone()[0]
            due = db.execute("SELECT COUNT(*) FROM proposals WHERE update_due_at IS NOT NULL").fetchone()[0]
            queued = db.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0]
        if state == "decided" and due == 0 and queued == 0:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"not settled in {timeout} s: close {state}, {due} updates due, {queued} queued")


async def get_json(url: str) -> Any:
    async with aiohttp.ClientSession() as session, \
            session.get(url, headers={"Accept": "application/activity+json"}) as response:
        assert response.status == 200, f"{url}: {response.status}"
        return json.loads(await response.text())


def spread(values: list[float]) -> str:
    return f"min {min(values):.2f} s, median {statistics.median(values):.2f} s, max {max(values):.2f} s"


async def test_sigkill_loop_loses_nothing_doubles_nothing_and_closes_once(tmp_path: Path) -> None:
    print(f"\ncrash loop: {KILLS} kills, seed {SEED} (FEDASSEMBLY_CRASH_SEED={SEED} replays it)")
    rng = random.Random(SEED)
    servers = [await RemoteServer(host=f"127.0.0.{n}").start() for n in (1, 2, 3)]
    voters = [server.actor(f"member{n}", key_index=n % 3)
              for server in servers for n in range(VOTERS_PER_SERVER)]
    port = free_port()
    base, config, log = f"http://127.0.0.1:{port}", write_config(tmp_path, port), tmp_path / "node.log"
    database = tmp_path / "node.sqlite3"
    served: Served | None = None
    running: asyncio.Task[None] | None = None
    try:
        tokens = await make_assembly(tmp_path, config, voters)
        served = await serve(config, base, log)
        startups = [served.startup_seconds]
        await follow(base, servers)
        # The close falls inside the loop: halfway through it if restarts take RESTART_SECONDS;
        # slower restarts move it earlier, but never before the first kill.
        closes_at = int(time.time() + KILLS * (sum(UP_SECONDS) / 2 + RESTART_SECONDS) / 2)
        closing = await propose(base, tokens["ana"], "What goes on the empty lot?", closes_at)
        staying = await propose(base, tokens["ana"], "And on the corner?", time.time() + 86400)
        scenario = Scenario(
            base=base, group=f"{base}/groups/barrio", proposals={closing: OPTIONS, staying: OPTIONS},
            voters=voters, tokens=tokens,
            delegates=[f"{base}/people/{name}" for name in PEOPLE] + [v.id for v in voters[::7]],
        )
        load = LoadGenerator(scenario, rng.randrange(1 << 30))
        halt = asyncio.Event()
        running = asyncio.create_task(load.run(halt))
        orphans: list[int] = []
        kill_times: list[float] = []
        for _ in range(KILLS):
            await asyncio.sleep(rng.uniform(*UP_SECONDS))
            assert not running.done(), running.exception()
            orphans += kill_hard(served.process)
            kill_times.append(time.time())
            served = await serve(config, base, log)
            startups.append(served.startup_seconds)
        halt.set()
        await asyncio.wait_for(running, 60)  # votes still under way are retried to their answer
        await wait_until_settled(database, closing)
        decision = await get_json(f"{base}/proposals/{closing}/decision")
        page = await get_json(f"{base}/proposals/{closing}/ballots")
    finally:
        if running is not None and not running.done():
            running.cancel()
        if served is not None:
            stop(served.process)
        for server in servers:
            await server.stop()

    ledger = load.ledger
    print(f"restart time (start to first 200 on /healthz) over {len(startups)} starts: {spread(startups)}")
    print(f"acknowledged: {sum(v.acked_at is not None for v in ledger.votes)} remote votes, "
          f"{len(ledger.notes)} Notes without effect, "
          f"{sum(b.status == 201 for b in ledger.ballots)} API ballots "
          f"({sum(b.status is None for b in ledger.ballots)} unanswered), "
          f"{sum(d.acked for d in ledger.delegations)} delegations; "
          f"redelivered ids: {sum(checks.redeliveries(s) for s in servers)}")
    assert ledger.unexpected == []
    kills_before_close = sum(1 for at in kill_times if at < closes_at)
    print(f"the proposal closed after kill {kills_before_close} of {KILLS}")
    assert 0 < kills_before_close < KILLS, "the close did not fall inside the kill loop"
    with contextlib.closing(sqlite3.connect(database)) as db:
        checks.database_is_sound(db)
        checks.ballot_logs_are_whole(db, base)
        checks.votes_counted_once(db, ledger, closing, closes_at)
        checks.api_ballots_counted_once(db, ledger, closing, closes_at)
        checks.replies_follow_ballots(db)
        checks.poll_updates_follow_ballots(db, base)
        checks.delegations_as_acknowledged(db, ledger)
        checks.closed_once(db, base, closing, decision, page)
        checks.deliveries_arrived(db, servers)
        checks.receipts_once(db, servers, base)
    checks.receivers_applied_close_once(servers, base, closing)
    deadline = time.monotonic() + 5
    while any(is_running(pid) for pid in orphans) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert not [pid for pid in orphans if is_running(pid)], "a killed node's sender process lives on"
