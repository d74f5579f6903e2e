"""Remote votes ingested per second, and the time from close to published decision.

Part 1 runs a node the README's way (``fedassembly serve`` as its own process, private addresses
allowed). This process serves 1,000 remote actors (RSA keys generated once, cached under
bench/.cache/, shared by KEYS key pairs; each actor has its own key id and document), who are on
the assembly's roster; 10 proposals are open. Every actor first sends one comment (not timed) so
the node fetches and caches its key; then 10,000 vote Creates in Mastodon's shape — signed
draft-cavage before the clock starts — are POSTed with 64 concurrent connections, by a lean
HTTP/1.1 client (prepared bytes; aiohttp's client took a quarter of a core from the node). A vote
is answered 202 only once its leaf is durable. Each accepted vote's receipt (a direct Note) is
delivered meanwhile, by the node's sender process on 2+ cores; the CPU of the node, its sender
process and this process is printed. The ballots table is checked afterwards.

Part 2 builds, directly through the repositories, an assembly of 100,000 remote members on 500
servers, their actors cached (30% delegating globally, 20% voting) with one due proposal, and
times ``close_due``: the close transaction that tallies, signs, stores the decision and queues
the final Update and the announcement. The garbage collector is set as ``fedassembly serve`` sets it.

    python bench/votes.py [--actors 1000] [--proposals 10] [--connections 64] [--roster 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from inbox import DELIVERED, KEYS, actor_server, cached_keys, cpu_seconds, free_port  # noqa: E402
from lean_http import post_all  # noqa: E402

from fedassembly.app import accounts  # noqa: E402
from fedassembly.app.clock import iso, now_iso  # noqa: E402
from fedassembly.app.closing import close_due  # noqa: E402
from fedassembly.governance import ballot_log  # noqa: E402
from fedassembly.main import open_node  # noqa: E402
from fedassembly.serve import run_event_loop, settle_garbage_collector  # noqa: E402
from fedassembly.settings import Settings  # noqa: E402
from federation.keys import PrivateKey, load_private_key  # noqa: E402
from federation.signatures import sign_request  # noqa: E402
from storage import actors as actor_repo  # noqa: E402
from storage import ballots as ballot_repo  # noqa: E402
from storage import delegations as delegation_repo  # noqa: E402
from storage import members as member_repo  # noqa: E402
from storage import proposals as proposal_repo  # noqa: E402
from storage import remote as remote_repo  # noqa: E402
from storage.ballots import BallotRow  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.delegations import StoredDelegation  # noqa: E402
from storage.members import Member  # noqa: E402
from storage.proposals import NewProposal  # noqa: E402
from storage.remote import RemoteActor  # noqa: E402

OPTIONS = ["yes", "no", "abstain"]
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


def sign(inbox: str, body: dict, actor_id: str, key) -> tuple[bytes, dict[str, str]]:  # type: ignore[no-untyped-def]
    raw = json.dumps(body).encode()
    headers = {"content-type": "application/activity+json"}
    headers.update(sign_request(method="POST", url=inbox, headers=headers, body=raw,
                                key_id=f"{actor_id}#main-key", private_key=key))
    return raw, headers


def comments(inbox: str, remote_base: str, keys: list, actors: int) -> list[tuple[bytes, dict[str, str]]]:
    """One public comment per actor: makes the node fetch and cache every key."""
    out = []
    for i in range(actors):
        actor_id = f"{remote_base}/users/u{i}"
        note_id = f"{actor_id}/notes/{uuid.uuid4().hex}"
        out.append(sign(inbox, {
            "@context": "https://www.w3.org/ns/activitystreams", "id": f"{note_id}/activity",
            "type": "Create", "actor": actor_id, "to": [PUBLIC],
            "object": {"id": note_id, "type": "Note", "attributedTo": actor_id, "content": "<p>hi</p>",
                       "to": [PUBLIC]},
        }, actor_id, keys[i % len(keys)]))
    return out


def vote(inbox: str, group_url: str, actor_id: str, key: PrivateKey, proposal: str,
         option: str) -> tuple[bytes, dict[str, str]]:
    """One Mastodon-shaped poll vote (a Create of a Note naming the option), signed."""
    vote_id = f"{actor_id}#votes/{uuid.uuid4().hex}"
    return sign(inbox, {
        "@context": "https://www.w3.org/ns/activitystreams", "id": f"{vote_id}/activity",
        "type": "Create", "actor": actor_id, "to": group_url,
        "object": {"id": vote_id, "type": "Note", "name": option, "attributedTo": actor_id,
                   "inReplyTo": proposal, "to": group_url},
    }, actor_id, key)


def votes(inbox: str, group_url: str, remote_base: str, keys: list, actors: int,
          proposals: list[str]) -> list[tuple[bytes, dict[str, str]]]:
    """A Mastodon-shaped vote by every actor on every proposal, interleaved."""
    return [vote(inbox, group_url, f"{remote_base}/users/u{i}", keys[i % len(keys)], proposal, OPTIONS[i % 3])
            for proposal in proposals for i in range(actors)]


def children_of(pid: int) -> list[int]:
    """The processes ``pid`` started (Linux)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.extend(int(child) for child in (task / "children").read_text().split())
    return found


async def wait_until_up(base: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            try:
                async with session.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise SystemExit("the node did not start")


async def wait_for_empty_queue(database: Path, deadline: float) -> bool:
    """Whether the node's delivery queue (read from its file) empties within ``deadline`` seconds."""
    db = await Database.open(database)
    try:
        give_up = time.monotonic() + deadline
        while time.monotonic() < give_up:
            row = await db.fetchone("SELECT COUNT(*) FROM deliveries")
            if row is not None and row[0] == 0:
                return True
            await asyncio.sleep(0.1)
        return False
    finally:
        await db.close()


async def ingest(args: argparse.Namespace) -> None:
    """Part 1: remote votes per second through a node started as its own process."""
    pems = cached_keys(KEYS)
    keys = [load_private_key(pem) for pem in pems]
    remote_port, node_port = free_port(), free_port()
    remote_base, base = f"http://127.0.0.1:{remote_port}", f"http://127.0.0.1:{node_port}"
    folder = Path(tempfile.mkdtemp(prefix="fedassembly-bench-votes-"))
    database = folder / "db.sqlite3"
    config = folder / "node.toml"
    config.write_text(f'[server]\nport = {node_port}\n[storage]\npath = "{database}"\n'
                      "[federation]\nallow_private_addresses = true\n")
    cli = [sys.executable, "-m", "fedassembly"]
    subprocess.run([*cli, "assembly", "create", "barrio", "--config", str(config)],
                   check=True, capture_output=True)
    subprocess.run([*cli, "person", "create", "ana", "--config", str(config)], input=b"correct horse\n",
                   check=True, capture_output=True)
    token = subprocess.run([*cli, "token", "create", "ana", "--config", str(config)], check=True,
                           capture_output=True, text=True).stdout.strip()
    db = await Database.open(database)
    group = await actor_repo.get_actor_by_name(db.reader, "barrio")
    ana = await actor_repo.get_actor_by_name(db.reader, "ana")
    assert group is not None and ana is not None
    async with db.transaction() as conn:
        await member_repo.put_member(conn, Member(group.id, f"{base}/people/ana", ana.id, True, now_iso()))
        for i in range(args.actors):
            member = Member(group.id, f"{remote_base}/users/u{i}", None, False, now_iso())
            await member_repo.put_member(conn, member)
    await db.close()

    runner = await actor_server(remote_port, pems, args.actors)
    node = subprocess.Popen([*cli, "serve", "--config", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    group_url, inbox = f"{base}/groups/barrio", f"{base}/groups/barrio/inbox"
    try:
        await wait_until_up(base)
        proposal_urls = []
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:
            for n in range(args.proposals):
                body = {"title": f"Question {n}", "content": "", "method": "yesno",
                        "closes_at": iso(time.time() + 3600)}
                async with session.post(f"{base}/api/v1/groups/barrio/proposals", json=body) as response:
                    assert response.status == 201, await response.text()
                    proposal_urls.append((await response.json())["url"])
        started = time.perf_counter()
        warm = await post_all(inbox, comments(inbox, remote_base, keys, args.actors), 16)
        warm_seconds = time.perf_counter() - started
        print(f"warm-up: {args.actors} actors' keys fetched and cached in {warm_seconds:.1f} s "
              f"({warm.count(202)} accepted)")
        requests = votes(inbox, group_url, remote_base, keys, args.actors, proposal_urls)
        cpu0, own0 = cpu_seconds(node.pid), cpu_seconds(os.getpid())
        # The sender process (started by the first delivery: the warm-up's or the first receipt's).
        sender0 = {pid: cpu_seconds(pid) for pid in children_of(node.pid)}
        started = time.perf_counter()
        statuses = await post_all(inbox, requests, args.connections)
        elapsed = time.perf_counter() - started
        server_cpu = cpu_seconds(node.pid) - cpu0
        sender_cpu = sum(cpu_seconds(pid) - sender0.get(pid, 0.0) for pid in children_of(node.pid))
        own_cpu = cpu_seconds(os.getpid()) - own0
        drained = await wait_for_empty_queue(database, deadline=120)
        drain_seconds = time.perf_counter() - started
        delivered = runner.app[DELIVERED]
    finally:
        node.terminate()
        node.wait(timeout=15)
        await runner.cleanup()
    db = await Database.open(database)
    stored = 0
    for url in proposal_urls:
        stored += await ballot_repo.count_ballots(db.reader, int(url.rsplit("/", 1)[1]))
    await db.close()
    accepted = statuses.count(202)
    print(f"votes: {accepted}/{len(statuses)} signed vote Creates accepted in {elapsed:.2f} s "
          f"= {accepted / elapsed:,.0f} votes/s ({args.connections} connections; target >= 2,000)")
    print(f"server CPU {server_cpu:.2f} s ({server_cpu / elapsed:.0%} of one core) + its sender process"
          f" {sender_cpu:.2f} s ({sender_cpu / elapsed:.0%}), load generator and"
          f" receipt receiver {own_cpu / elapsed:.0%}; "
          f"ballots stored: {stored} (expected {args.actors * args.proposals})")
    print(f"receipts: {delivered} replies delivered; delivery queue "
          + (f"empty {drain_seconds:.1f} s after the first vote" if drained else "NOT empty after 120 s"))


async def close_large(args: argparse.Namespace) -> None:
    """Part 2: close-to-published-decision time for a large roster."""
    folder = Path(tempfile.mkdtemp(prefix="fedassembly-bench-close-"))
    node = await open_node(Settings(storage_path=folder / "db.sqlite3", port=free_port()))
    try:
        group = await accounts.create_group(node, "barrio", "assembly", "Barrio")
        rng = random.Random(5)
        members = [f"https://remote{i % 500}.example/users/m{i}" for i in range(args.roster)]
        proposal_url_of = node.urls.proposal
        started = time.perf_counter()
        async with node.db.transaction() as conn:
            for i, member in enumerate(members):
                await member_repo.put_member(conn, Member(group.id, member, None, False, now_iso()))
                # A roster's remote actors are cached (adding a member resolves it): the close
                # reaches each member's server.
                host = f"remote{i % 500}.example"
                await remote_repo.put_remote_actor(conn, RemoteActor(
                    member, host, "Person", f"m{i}", f"{member}/inbox", f"https://{host}/inbox",
                    {"id": member, "type": "Person", "inbox": f"{member}/inbox"}, time.time()))
            proposal_id = await proposal_repo.put_proposal(conn, NewProposal(
                group_id=group.id, kind="proposal", title="Pedestrianise the high street?", content="",
                options=tuple(OPTIONS), method="yesno", threshold="majority", quorum="1/10", area=None,
                status_quo=False, closes_at=time.time() + 3600, created_at=now_iso(), created_by=None))
            shuffled = members[:]
            rng.shuffle(shuffled)
            voting = shuffled[: args.roster // 5]
            delegating = shuffled[args.roster // 5: args.roster // 5 + args.roster * 3 // 10]
            for delegator in delegating:
                await delegation_repo.put_delegation(conn, StoredDelegation(
                    group.id, delegator, "global", "", rng.choice(members), "2026-01-01T00:00:00Z"))
            for seq, voter in enumerate(voting):
                ballot = {"choice": rng.choice(OPTIONS)}
                received_at = "2026-01-01T00:00:00Z"
                leaf = ballot_log.leaf_bytes(proposal_url_of(proposal_id), voter, ballot, seq, received_at)
                await ballot_repo.put_ballot(conn, BallotRow(
                    proposal_id, seq, voter, ballot, received_at, "activitypub", None,
                    ballot_log.leaf_hash(leaf).hex()))
        print(f"setup: {args.roster:,} members, {len(delegating):,} delegating, {len(voting):,} ballots "
              f"in {time.perf_counter() - started:.1f} s")
        proposal = await proposal_repo.get_proposal_by_id(node.db.reader, proposal_id)
        assert proposal is not None
        settle_garbage_collector()  # as `fedassembly serve` does once started
        started = time.perf_counter()
        decided = await close_due(node, proposal.closes_at)
        elapsed = time.perf_counter() - started
        proposal = await proposal_repo.get_proposal_by_id(node.db.reader, proposal_id)
        assert decided == 1 and proposal is not None and proposal.decision is not None
        decision = json.loads(proposal.decision)
        print(f"close: decision published {elapsed:.2f} s after the close began (target < 2 s); "
              f"turnout {decision['fa:turnout']:,} of {decision['fa:rosterSize']:,}, "
              f"outcome {decision['fa:outcome']}, decision {len(proposal.decision):,} bytes, "
              f"ballots page {len(proposal.snapshot or ''):,} bytes")
    finally:
        await node.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--actors", type=int, default=1_000)
    parser.add_argument("--proposals", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--roster", type=int, default=100_000)
    parser.add_argument("--close-only", action="store_true", help="skip part 1")
    args = parser.parse_args()
    if not args.close_only:
        await ingest(args)
    await close_large(args)


if __name__ == "__main__":
    # The load generator and receipt receiver on uvloop too: their latency is not what is measured.
    run_event_loop(main())
