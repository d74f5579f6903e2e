"""Benchmark: signed deliveries per second through the durable queue, to 1,000 loopback hosts.

Ten announcements by one assembly to 1,000 followers on 1,000 distinct hosts are queued as
10,000 rows (as ``fedassembly announce`` would, one transaction per announcement); then the
production ``DeliveryWorker.run`` sends them, each POST signed draft-cavage rsa-sha256 by the
assembly's key, through the production ``SafeFetcher``.

The receivers run in a separate process: one asyncio server listening on 1,000 addresses
127.0.x.y (the queue tells hosts apart by address). It is the load target, not what is measured:
a raw protocol that parses just enough HTTP/1.1 to answer 202 with keep-alive. It verifies
NOTHING (no signature, no digest, no JSON); it only counts requests.

    python bench/delivery.py [--concurrency 64] [--followers 1000] [--announcements 10] [--sender-process]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fedassembly.app.clock import now_iso  # noqa: E402
from fedassembly.app.delivery_store import SqliteDeliveryStore, SqliteSchemeStore, StoredSenderKeys  # noqa: E402
from fedassembly.app.local_keys import LocalKeys  # noqa: E402
from federation.addresses import host_of  # noqa: E402
from federation.delivery import DeliveryWorker  # noqa: E402
from federation.fetch import FetchPolicy, SafeFetcher  # noqa: E402
from federation.keys import generate_rsa_private_pem, public_pem_of  # noqa: E402
from federation.posting import LocalPoster  # noqa: E402
from federation.send_process import ProcessPoster  # noqa: E402
from federation.session import create_session  # noqa: E402
from federation.signing_schemes import SchemeMemory  # noqa: E402
from storage import actors as actor_repo  # noqa: E402
from storage import deliveries as delivery_repo  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import migrate  # noqa: E402
from storage.outbox import put_activity, put_deliveries  # noqa: E402

BASE = "http://bench.test"
_ANSWER = b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"


def address_of(index: int) -> str:
    """The loopback address of receiver ``index`` (0-based): 127.0.1.1, 127.0.1.2, ..."""
    return f"127.0.{1 + index // 250}.{1 + index % 250}"


def cpu_seconds() -> float:
    """User + system CPU time of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------------------------------------
# The receiver process


class _Count:
    requests = 0


class _CountingInbox(asyncio.Protocol):
    """Answers every HTTP/1.1 request with 202 and counts it; parses only the framing."""

    def __init__(self, count: _Count) -> None:
        self._count = count
        self._buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            length = 0
            for line in self._buffer[:end].lower().split(b"\r\n"):
                if line.startswith(b"content-length:"):
                    length = int(line[15:])
            if len(self._buffer) < end + 4 + length:
                return
            self._buffer = self._buffer[end + 4 + length :]
            self._count.requests += 1
            self._transport.write(_ANSWER)  # type: ignore[attr-defined]


async def serve_receivers(hosts: int) -> None:
    """Listen on ``hosts`` loopback addresses, print them, then answer 'stats' lines on stdin."""
    loop = asyncio.get_running_loop()
    count = _Count()
    servers = []
    ports = []
    for index in range(hosts):
        server = await loop.create_server(lambda: _CountingInbox(count), address_of(index), 0, backlog=512)
        servers.append(server)
        ports.append(server.sockets[0].getsockname()[1])
    print(json.dumps(ports), flush=True)
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        if line.strip() == "stats":
            print(json.dumps({"requests": count.requests, "cpu": cpu_seconds()}), flush=True)
    for server in servers:
        server.close()


class Receivers:
    """The receiver process, driven over its stdin and stdout."""

    def __init__(self, count: int) -> None:
        self._process = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(count)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        self.ports: list[int] = json.loads(self._process.stdout.readline())

    def stats(self) -> dict[str, float]:
        """Requests counted and CPU seconds used by the receiver process so far."""
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write("stats\n")
        self._process.stdin.flush()
        return json.loads(self._process.stdout.readline())

    def close(self) -> None:
        """End the receiver process."""
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait(timeout=10)


# ---------------------------------------------------------------------------------------------
# The sending node


async def queue_announcements(db: Database, inboxes: list[str], announcements: int) -> None:
    """One assembly with its key; each announcement stored and queued to every inbox at once."""
    private_pem = generate_rsa_private_pem()
    async with db.transaction() as conn:
        sender = await actor_repo.put_actor(conn, "bench", "assembly", "Bench assembly", now_iso())
        await actor_repo.put_key_if_absent(
            conn, sender, "rsa", private_pem, public_pem_of(private_pem), now_iso()
        )
    targets = [(inbox, host_of(inbox)) for inbox in inboxes]
    for number in range(announcements):
        note_id = f"{BASE}/objects/{number}"
        activity = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{BASE}/activities/{number}",
            "type": "Create",
            "actor": f"{BASE}/groups/bench",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "cc": [f"{BASE}/groups/bench/followers"],
            "object": {
                "id": note_id,
                "type": "Note",
                "attributedTo": f"{BASE}/groups/bench",
                "content": "<p>" + "The assembly meets on Thursday at the library. " * 8 + "</p>",
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
                "published": now_iso(),
            },
        }
        async with db.transaction() as conn:
            await put_activity(conn, activity, sender, True, now_iso())
            await put_deliveries(conn, activity["id"], sender, targets, time.time())


async def bench(concurrency: int, followers: int, announcements: int, sender_process: bool) -> int:
    receivers = Receivers(followers)
    inboxes = [f"http://{address_of(i)}:{port}/inbox" for i, port in enumerate(receivers.ports)]
    expected = followers * announcements
    with tempfile.TemporaryDirectory() as folder:
        db = await Database.open(Path(folder) / "bench.sqlite3")
        await migrate(db)
        await queue_announcements(db, inboxes, announcements)
        policy = FetchPolicy(allow_private_addresses=True, user_agent="fedassembly-bench")
        session = create_session(policy, limit=max(256, concurrency * 2))
        poster = (ProcessPoster(policy, connections=max(256, concurrency * 2)) if sender_process
                  else LocalPoster(SafeFetcher(session, policy)))
        worker = DeliveryWorker(
            SqliteDeliveryStore(db),
            poster,
            StoredSenderKeys(db, BASE, LocalKeys(db, now_iso)),
            schemes=SchemeMemory(SqliteSchemeStore(db)),
            concurrency=concurrency,
            first_retry_seconds=30,
            max_attempts=16,
        )
        before = receivers.stats()
        stop = asyncio.Event()
        started, cpu_started = time.perf_counter(), cpu_seconds()
        task = asyncio.create_task(worker.run(stop))
        while (await delivery_repo.count_deliveries(db.reader)).pending:
            await asyncio.sleep(0.05)
        wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
        stop.set()
        await task
        await poster.close()
        after = receivers.stats()
        counts = await delivery_repo.count_deliveries(db.reader)
        await session.close()
        await db.close()
    receivers.close()
    arrived = int(after["requests"] - before["requests"])
    print(
        f"deliveries      {expected} ({announcements} announcements x {followers} hosts), "
        f"concurrency {concurrency}, "
        + ("signed and sent by the sender process" if sender_process else "signed and sent in-process")
    )
    print(f"wall time       {wall:.2f} s")
    print(f"throughput      {expected / wall:,.0f} signed deliveries/s")
    print(f"worker CPU      {cpu:.2f} s = {100 * cpu / wall:.0f}% of one core"
          + (" (this process; the sender process not counted)" if sender_process else ""))
    print(
        f"receiver CPU    {after['cpu'] - before['cpu']:.2f} s = "
        f"{100 * (after['cpu'] - before['cpu']) / wall:.0f}% of one core (verifies nothing)"
    )
    print(
        f"arrived         {arrived} of {expected}; queue left: {counts.pending} pending, {counts.dead} dead"
    )
    ok = arrived == expected and counts.pending == 0 and counts.dead == 0
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


def main() -> int:
    """Run the benchmark (or, with --serve N, be its receiver process)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--concurrency", type=int, default=64, help="delivery.concurrency (default 64)")
    parser.add_argument("--followers", type=int, default=1000, help="followers, one host each")
    parser.add_argument("--announcements", type=int, default=10)
    parser.add_argument("--sender-process", action="store_true",
                        help="sign and send in a child process, as `fedassembly serve` does on 2+ cores")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve_receivers(args.serve))
        return 0
    return asyncio.run(bench(args.concurrency, args.followers, args.announcements, args.sender_process))


if __name__ == "__main__":
    sys.exit(main())
