"""Soak: open-loop mixed traffic against ``fedassembly serve`` for ``--minutes`` (default 10).

A node runs the README's way (its own process, private addresses allowed). Its assembly has a
roster of 5,000 remote members (served by this process, their actors and keys already cached as
after a first contact), 50 local people with API tokens, and 2,000 followers, each on a loopback
address of its own (the counting receivers of bench/delivery.py), so every publication is 2,000
deliveries. One proposal closes every minute; traffic goes to the next one to close.

The load is open-loop: each request is sent at its scheduled time whether or not earlier ones
were answered (on an idle keep-alive connection or a new one), and its latency is measured from
that scheduled time, so a node that falls behind shows it in the latency instead of quietly
slowing the load down.
- 100 remote votes a second: Mastodon-shaped vote Creates, signed before the clock starts (by a
  pool of processes), each member voting in turn and changing its option each round;
- 50 API users at one request a second each: ballots (60%), reading the proposal (20%),
  delegation PUTs (20%);
- what that makes the node send: poll updates and the closes to 2,000 followers, a receipt to
  each voter.

It prints throughput, p50/p99 latency and errors per kind, deliveries, closes, the node's RSS at
the start, after the first minute and at the end, CPU, and the database's size. Targets: zero
errors, p99 under 250 ms, RSS growth under 10% after the first minute. Exit status 1 when a
target is missed. A loaded machine distorts every figure; measure on a quiet one.

    python bench/soak.py [--minutes 10] [--vote-rate 100] [--roster 5000] [--api-users 50] [--followers 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from delivery import Receivers, address_of  # noqa: E402
from inbox import DELIVERED, KEYS, actor_server, cached_keys, cpu_seconds, free_port  # noqa: E402
from lean_http import OpenLoopClient, request_bytes  # noqa: E402
from open_loop import Event, Stats, percentile, run_traffic  # noqa: E402
from votes import OPTIONS, children_of, vote, wait_until_up  # noqa: E402

from fedassembly.app import accounts  # noqa: E402
from fedassembly.app.clock import now_iso, parse_iso  # noqa: E402
from fedassembly.app.remote_actors import actor_from_document  # noqa: E402
from fedassembly.cli import run_event_loop  # noqa: E402
from fedassembly.main import open_node  # noqa: E402
from fedassembly.settings import Settings  # noqa: E402
from federation.keys import load_private_key, public_pem_of  # noqa: E402
from storage import follows as follow_repo  # noqa: E402
from storage import members as member_repo  # noqa: E402
from storage import proposals as proposal_repo  # noqa: E402
from storage import remote as remote_repo  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.follows import Follower  # noqa: E402
from storage.members import Member  # noqa: E402
from storage.proposals import NewProposal  # noqa: E402
from storage.remote import RemoteKeyRow  # noqa: E402

CLOSE_EVERY = 60.0  # seconds between closes
MARGIN = 2.0  # traffic moves to the next proposal this long before a close
START_IN = 15.0  # from the database's setup to the first scheduled request
EXPECTED = {"vote": 202, "ballot": 201, "read": 200, "delegation": 200}


def proposal_at(t: float) -> int:
    """The proposal that traffic at ``t`` seconds goes to (ids 1, 2, ... close at 60, 120, ... s)."""
    k = int(t // CLOSE_EVERY) + 1
    return k + 1 if k * CLOSE_EVERY - t < MARGIN else k


def _sign_votes(base: str, remote_base: str, pems: list[str], roster: int, rate: float,
                first: int, last: int) -> list[Event]:
    """Votes ``first`` to ``last`` of the schedule, signed (runs in a worker process)."""
    keys = [load_private_key(pem) for pem in pems]
    group, inbox = f"{base}/groups/barrio", f"{base}/groups/barrio/inbox"
    events = []
    for i in range(first, last):
        at = i / rate
        member = i % roster
        option = OPTIONS[(i // roster + member) % len(OPTIONS)]  # each round, another option
        body, headers = vote(inbox, group, f"{remote_base}/users/u{member}", keys[member % len(keys)],
                             f"{base}/proposals/{proposal_at(at)}", option)
        events.append(Event(at, "vote", request_bytes("POST", "/groups/barrio/inbox", body, headers)))
    return events


def vote_events(args: argparse.Namespace, base: str, remote_base: str, pems: list[str]) -> list[Event]:
    """Every vote of the run, signed before it starts by one process per core."""
    total = int(args.vote_rate * args.minutes * 60)
    chunks = 4 * (os.cpu_count() or 1)
    bounds = [total * n // chunks for n in range(chunks + 1)]
    with ProcessPoolExecutor(os.cpu_count()) as pool:
        futures = [pool.submit(_sign_votes, base, remote_base, pems, args.roster, args.vote_rate, first, last)
                   for first, last in itertools.pairwise(bounds)]
        return [event for future in futures for event in future.result()]


def api_events(args: argparse.Namespace, host: str, tokens: list[str]) -> list[Event]:
    """Each API user's request every second: six ballots, two reads of the proposal and two
    delegation PUTs in ten, each user at its own offset."""
    events = []
    for user, token in enumerate(tokens):
        headers = {"host": host, "authorization": f"Bearer {token}", "content-type": "application/json"}
        for n in range(int(args.minutes * 60)):
            at = n + user / len(tokens)
            proposal = proposal_at(at)
            step = (n + user) % 10
            if step < 6:
                body = json.dumps({"choice": OPTIONS[(n + user) % len(OPTIONS)]}).encode()
                raw = request_bytes("POST", f"/api/v1/proposals/{proposal}/ballots", body, headers)
                events.append(Event(at, "ballot", raw))
            elif step < 8:
                raw = request_bytes("GET", f"/api/v1/proposals/{proposal}", b"", headers)
                events.append(Event(at, "read", raw))
            else:
                other = (user + 1 + n % max(1, len(tokens) - 1)) % len(tokens)  # never the user itself
                delegate = None if n % 7 == 0 or other == user else f"user{other}"
                body = json.dumps({"delegate": delegate}).encode()
                events.append(Event(at, "delegation", request_bytes("PUT", "/api/v1/groups/barrio/delegation",
                                                                    body, headers)))
    return events


async def prepare(database: Path, port: int, args: argparse.Namespace, remote_base: str, pems: list[str],
                  follower_ports: list[int], start: float) -> list[str]:
    """The assembly, its people, roster, followers and proposals; the people's API tokens."""
    node = await open_node(Settings(storage_path=database, port=port))
    try:
        group = await accounts.create_group(node, "barrio", "assembly", "Barrio")
        people = [await accounts.create_person(node, f"user{n}", "correct horse")
                  for n in range(args.api_users)]
        tokens = [await accounts.create_token(node, person.name) for person in people]
        base = node.urls.base
        async with node.db.transaction() as conn:
            for n, person in enumerate(people):
                await member_repo.put_member(conn, Member(group.id, f"{base}/people/{person.name}", person.id,
                                                          n == 0, now_iso()))
            for i in range(args.roster):  # as after a first contact: actor and key cached
                actor_id = f"{remote_base}/users/u{i}"
                await member_repo.put_member(conn, Member(group.id, actor_id, None, False, now_iso()))
                doc = {"id": actor_id, "type": "Person", "preferredUsername": f"u{i}",
                       "inbox": f"{actor_id}/inbox", "endpoints": {"sharedInbox": f"{remote_base}/inbox"}}
                await remote_repo.put_remote_actor(conn, actor_from_document(doc, time.time()))
                await remote_repo.put_remote_key(conn, RemoteKeyRow(
                    f"{actor_id}#main-key", actor_id, public_pem_of(pems[i % len(pems)]), time.time()))
            for i, follower_port in enumerate(follower_ports):
                origin = f"http://{address_of(i)}:{follower_port}"
                follower = Follower(group.id, f"{origin}/users/f{i}", f"{origin}/follows/{i}",
                                    f"{origin}/inbox", f"{origin}/inbox")
                await follow_repo.put_follower(conn, follower, now_iso())
            for k in range(1, int(args.minutes) + 2):
                proposal_id = await proposal_repo.put_proposal(conn, NewProposal(
                    group.id, "proposal", f"Question {k}", "", tuple(OPTIONS), "yesno", "majority", "1/10",
                    None, False, start + k * CLOSE_EVERY, now_iso(), people[0].id))
                assert proposal_id == k, "the schedule expects proposal ids 1, 2, ..."
        return tokens
    finally:
        await node.close()


def rss_mb(pid: int) -> float:
    """The resident memory of a process, in MB (Linux ``/proc``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def sample_rss(pid: int, samples: list[tuple[float, float]], start: float, stop: asyncio.Event) -> None:
    """Every five seconds until ``stop``: (seconds since ``start``, RSS in MB) of ``pid``."""
    while not stop.is_set():
        samples.append((time.monotonic() - start, rss_mb(pid)))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 5)


async def closes(database: Path, until: float) -> str:
    """How many proposals due by ``until`` (wall clock) are decided, and the longest close lag."""
    db = await Database.open(database)
    try:
        rows = await db.fetchall(
            "SELECT state, closes_at, closed_at FROM proposals WHERE closes_at <= ?", (until,))
    finally:
        await db.close()
    lags = [parse_iso(closed_at) - closes_at for _, closes_at, closed_at in rows if closed_at]
    decided = sum(1 for state, _, _ in rows if state == "decided")
    lag = f", longest from closing time to decision {max(lags):.2f} s" if lags else ""
    return f"{decided} of {len(rows)} due proposals decided{lag}"


async def queue_drained(database: Path, deadline: float) -> tuple[str, int]:
    """Wait for the pending deliveries (read from the node's file) to be sent; (what came of it,
    how many were given up)."""
    db = await Database.open(database)
    try:
        began = time.monotonic()
        while True:
            row = await db.fetchone("SELECT COUNT(*) FILTER (WHERE state = 'pending'),"
                                    " COUNT(*) FILTER (WHERE state = 'dead') FROM deliveries")
            pending, dead = (row[0], row[1]) if row is not None else (0, 0)
            waited = time.monotonic() - began
            if pending == 0 or waited > deadline:
                verdict = "drained" if pending == 0 else "NOT drained"
                return f"{pending} pending {waited:.1f} s after the traffic ({verdict}), {dead} dead", dead
            await asyncio.sleep(0.2)
    finally:
        await db.close()


@dataclass
class Run:
    """What one soak measured besides the requests' latencies."""

    seconds: float = 0.0
    rss: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, MB)
    sender_rss: float = 0.0
    node_cpu: float = 0.0
    sender_cpu: float = 0.0
    to_followers: int = 0  # during the traffic
    to_followers_drained: int = 0  # once the queue was drained
    to_members: int = 0
    drained: str = ""
    given_up: int = 0
    closes: str = ""


async def soak(args: argparse.Namespace, pems: list[str], remote_port: int, node_port: int,
               events: list[Event]) -> int:
    """Set up, run the traffic, print what came of it; 1 when a target is missed."""
    remote_base, base = f"http://127.0.0.1:{remote_port}", f"http://127.0.0.1:{node_port}"
    folder = Path(tempfile.mkdtemp(prefix="fedassembly-soak-"))
    database, config = folder / "db.sqlite3", folder / "node.toml"
    config.write_text(f'[server]\nport = {node_port}\n[storage]\npath = "{database}"\n'
                      "[federation]\nallow_private_addresses = true\n")
    receivers = Receivers(args.followers)
    start_wall = time.time() + START_IN
    tokens = await prepare(database, node_port, args, remote_base, pems, receivers.ports, start_wall)
    events = sorted(events + api_events(args, f"127.0.0.1:{node_port}", tokens), key=lambda e: e.at)
    runner = await actor_server(remote_port, pems, args.roster)
    node = subprocess.Popen([sys.executable, "-m", "fedassembly", "serve", "--config", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client, stats, run = OpenLoopClient("127.0.0.1", node_port), Stats(), Run()
    try:
        await wait_until_up(base)
        wait = start_wall - time.time()
        assert wait > 0, "setup took longer than START_IN"
        await asyncio.sleep(wait)
        start, cpu0, delivered0 = time.monotonic(), cpu_seconds(node.pid), receivers.stats()["requests"]
        stop = asyncio.Event()
        sampler = asyncio.create_task(sample_rss(node.pid, run.rss, start, stop))
        await run_traffic(events, client, stats, start, EXPECTED)
        run.seconds = time.monotonic() - start
        stop.set()
        await sampler
        run.node_cpu = cpu_seconds(node.pid) - cpu0
        run.sender_cpu = sum(cpu_seconds(pid) for pid in children_of(node.pid))
        run.sender_rss = sum(rss_mb(pid) for pid in children_of(node.pid))
        run.to_followers = int(receivers.stats()["requests"] - delivered0)
        run.drained, run.given_up = await queue_drained(database, 120)
        run.to_followers_drained = int(receivers.stats()["requests"] - delivered0)
        run.closes = await closes(database, start_wall + run.seconds)
    finally:
        client.close()
        node.terminate()
        node.wait(timeout=15)
        run.to_members = runner.app[DELIVERED]
        await runner.cleanup()
        receivers.close()
    print(f"soak: {run.seconds / 60:.1f} min open-loop, {len(events):,} requests scheduled, "
          f"{client.opened} connections opened")
    try:
        return report(run, stats, database)
    finally:
        shutil.rmtree(folder)  # a ten-minute run leaves hundreds of megabytes


def report(run: Run, stats: Stats, database: Path) -> int:
    """Print the figures and the targets; 1 when a target is missed."""
    for kind in EXPECTED:
        print(stats.line(kind, run.seconds))
    every = sorted(value for values in stats.latencies.values() for value in values)
    stats.latencies["all"] = every
    print(stats.line("all", run.seconds))
    print(f"p99 by minute (ms): {stats.timeline()}")
    errors = sum(stats.errors.values()) + run.given_up
    for name, count in stats.errors.most_common(5):
        print(f"  {count} x {name}")
    print(f"deliveries: {run.to_followers:,} to followers' inboxes during the traffic "
          f"({run.to_followers / run.seconds:,.0f}/s), {run.to_followers_drained:,} once drained; "
          f"{run.to_members:,} to members' inboxes; queue: {run.drained}")
    print(f"closes: {run.closes}")
    first_minute = next((mb for at, mb in run.rss if at >= 60), None)
    growth = run.rss[-1][1] / first_minute - 1 if first_minute and run.seconds > 90 else None
    print(f"RSS of the node: {run.rss[0][1]:.0f} MB at the start, "
          + (f"{first_minute:.0f} MB after a minute, " if first_minute else "")
          + f"{run.rss[-1][1]:.0f} MB at the end"
          + (f" (growth after the first minute {growth:+.1%})" if growth is not None else "")
          + f"; its sender process {run.sender_rss:.0f} MB")
    print(f"CPU: node {run.node_cpu:.0f} s ({run.node_cpu / run.seconds:.0%} of a core), "
          f"sender process {run.sender_cpu:.0f} s")
    wal = database.with_name(database.name + "-wal")
    print(f"database: {database.stat().st_size / 2**20:.1f} MB"
          + (f" + WAL {wal.stat().st_size / 2**20:.1f} MB" if wal.exists() else ""))
    p99 = percentile(every, 0.99) if every else float("inf")
    missed = [name for name, ok in (("zero errors", errors == 0), ("p99 < 250 ms", p99 < 0.25),
                                    ("RSS growth < 10%", growth is None or growth < 0.10)) if not ok]
    print("targets: " + ("MISSED " + ", ".join(missed) if missed else "met")
          + ("" if growth is not None else " (RSS growth is judged on runs longer than a minute and a half)"))
    return 1 if missed else 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--vote-rate", type=float, default=100, help="remote votes per second")
    parser.add_argument("--roster", type=int, default=5000, help="remote members")
    parser.add_argument("--api-users", type=int, default=50, help="API users, one request a second each")
    parser.add_argument("--followers", type=int, default=2000, help="followers, one host each")
    args = parser.parse_args()
    if args.minutes > 50:  # the receiver accepts a signature for an hour; ours are made before the run
        parser.error("--minutes: at most 50 (votes are signed before the run starts)")
    pems = cached_keys(KEYS)
    remote_port, node_port = free_port(), free_port()
    began = time.perf_counter()
    # Signed before any event loop runs: the signing processes are forked from this one.
    events = vote_events(args, f"http://127.0.0.1:{node_port}", f"http://127.0.0.1:{remote_port}", pems)
    print(f"setup: {len(events):,} votes signed in {time.perf_counter() - began:.1f} s")
    code = 0

    async def run() -> None:
        nonlocal code
        code = await soak(args, pems, remote_port, node_port, events)

    run_event_loop(run())  # the load generator on uvloop too: its latency is not what is measured
    return code


if __name__ == "__main__":
    sys.exit(main())
