"""Verified inbox activities per second against a node started the README's way.

A node runs as its own process (``fedassembly serve``). 1,000 remote actors are served from this
process; each first sends one activity so the node fetches and caches its key (warm-up, not
timed). Then N signed Create(Note) activities — signed before the clock starts — are POSTed with
64 concurrent connections. Every 202 is answered only after the activity's row is durable
(WAL, synchronous=FULL, group commit). The node's CPU time is read from /proc, apart from ours.

The actors are on no roster and share one host, so the node's limit for strangers is lifted in
its config: with the default (50 a second per host) this would time 429s.

Key material: RSA generation is slow, so the 1,000 actors share KEYS distinct key pairs (cached
under bench/.cache/); each actor still has its own key id and document, and the node resolves and
caches each key id separately.

    python bench/inbox.py [--activities 10000] [--actors 1000] [--connections 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from lean_http import post_all  # noqa: E402

from federation.keys import generate_rsa_private_pem, load_private_key, public_pem_of  # noqa: E402
from federation.signatures import sign_request  # noqa: E402

CACHE = ROOT / "bench" / ".cache"
KEYS = 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cached_keys(count: int) -> list[str]:
    CACHE.mkdir(parents=True, exist_ok=True)
    keys = []
    for i in range(count):
        path = CACHE / f"rsa-{i}.pem"
        if not path.exists():
            path.write_text(generate_rsa_private_pem())
        keys.append(path.read_text())
    return keys


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


DELIVERED = web.AppKey("delivered", int)


async def actor_server(port: int, keys: list[str], actors: int) -> web.AppRunner:
    base = f"http://127.0.0.1:{port}"
    docs = {}
    for i in range(actors):
        actor_id = f"{base}/users/u{i}"
        docs[f"u{i}"] = json.dumps(
            {
                "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
                "id": actor_id,
                "type": "Person",
                "preferredUsername": f"u{i}",
                "inbox": f"{actor_id}/inbox",
                "endpoints": {"sharedInbox": f"{base}/inbox"},
                "publicKey": {
                    "id": f"{actor_id}#main-key",
                    "owner": actor_id,
                    "publicKeyPem": public_pem_of(keys[i % len(keys)]),
                },
            }
        ).encode()

    async def actor(request: web.Request) -> web.Response:
        doc = docs.get(request.match_info["name"])
        if doc is None:
            return web.Response(status=404)
        return web.Response(body=doc, content_type="application/activity+json")

    async def inbox(request: web.Request) -> web.Response:
        # Replies from the node (vote receipts) land here, as at a member's own server.
        await request.read()
        app[DELIVERED] += 1
        return web.Response(status=202)

    app = web.Application()
    app[DELIVERED] = 0
    app.router.add_get("/users/{name}", actor)
    app.router.add_post("/users/{name}/inbox", inbox)
    app.router.add_post("/inbox", inbox)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


def signed_requests(
    inbox: str, remote_base: str, keys: list[str], actors: int, count: int, offset: int
) -> list[tuple[bytes, dict[str, str]]]:
    loaded = [load_private_key(pem) for pem in keys]
    requests = []
    for n in range(count):
        i = (offset + n) % actors
        actor_id = f"{remote_base}/users/u{i}"
        note_id = f"{actor_id}/notes/{uuid.uuid4().hex}"
        body = json.dumps(
            {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": f"{note_id}/activity",
                "type": "Create",
                "actor": actor_id,
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
                "object": {
                    "id": note_id,
                    "type": "Note",
                    "attributedTo": actor_id,
                    "content": f"<p>hello number {n}</p>",
                    "to": ["https://www.w3.org/ns/activitystreams#Public"],
                },
            }
        ).encode()
        headers = {"content-type": "application/activity+json"}
        headers.update(
            sign_request(
                method="POST",
                url=inbox,
                headers=headers,
                body=body,
                key_id=f"{actor_id}#main-key",
                private_key=loaded[i % len(loaded)],
            )
        )
        requests.append((body, headers))
    return requests


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--activities", type=int, default=10_000)
    parser.add_argument("--actors", type=int, default=1_000)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()

    keys = cached_keys(KEYS)
    remote_port, node_port = free_port(), free_port()
    remote_base, base = f"http://127.0.0.1:{remote_port}", f"http://127.0.0.1:{node_port}"
    folder = Path(tempfile.mkdtemp(prefix="fedassembly-bench-"))
    config = folder / "node.toml"
    config.write_text(
        f'[server]\nport = {node_port}\n[storage]\npath = "{folder / "db.sqlite3"}"\n'
        "[federation]\nallow_private_addresses = true\n"
        # The actors are strangers on one host: lift their limit, the pipeline is what is timed.
        "stranger_rate_per_host = 1e9\nstranger_burst = 1000000000\n"
    )
    cli = [sys.executable, "-m", "fedassembly"]
    subprocess.run(
        [*cli, "assembly", "create", "barrio", "--config", str(config)], check=True, capture_output=True
    )
    runner = await actor_server(remote_port, keys, args.actors)
    node = subprocess.Popen(
        [*cli, "serve", "--config", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    inbox = f"{base}/groups/barrio/inbox"
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(100):
                try:
                    async with session.get(f"{base}/healthz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
        warm = signed_requests(inbox, remote_base, keys, args.actors, args.actors, 0)
        started = time.perf_counter()
        warm_statuses = await post_all(inbox, warm, 16)
        warm_seconds = time.perf_counter() - started
        print(
            f"warm-up: {args.actors} actors' keys fetched and cached in {warm_seconds:.1f} s "
            f"({warm_statuses.count(202)} accepted)"
        )
        requests = signed_requests(inbox, remote_base, keys, args.actors, args.activities, 0)
        server_cpu0, client_cpu0 = cpu_seconds(node.pid), time.process_time()
        started = time.perf_counter()
        statuses = await post_all(inbox, requests, args.connections)
        elapsed = time.perf_counter() - started
        server_cpu, client_cpu = cpu_seconds(node.pid) - server_cpu0, time.process_time() - client_cpu0
    finally:
        node.terminate()
        node.wait(timeout=10)
        await runner.cleanup()
    import sqlite3

    with sqlite3.connect(folder / "db.sqlite3") as db:
        stored = db.execute("SELECT COUNT(*) FROM inbox_activities").fetchone()[0]
    accepted = statuses.count(202)
    print(
        f"inbox: {accepted}/{len(statuses)} signed Create(Note) accepted in {elapsed:.2f} s "
        f"= {accepted / elapsed:,.0f} verified activities/s ({args.connections} connections)"
    )
    print(
        f"server CPU {server_cpu:.2f} s ({server_cpu / elapsed:.0%} of one core); "
        f"load generator CPU {client_cpu:.2f} s ({client_cpu / elapsed:.0%})"
    )
    print(f"durable rows: {stored} (warm-up {args.actors} + measured {accepted})")


if __name__ == "__main__":
    asyncio.run(main())
