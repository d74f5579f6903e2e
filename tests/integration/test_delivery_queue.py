"""The durable delivery queue end to end: real SQLite files, real signatures, real loopback inboxes.

Each receiver is an aiohttp server on a loopback address that verifies every POST's draft-cavage signature
against the sender's public key and answers from a script of statuses, logging what it got.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from fedassembly.app.clock import now_iso
from fedassembly.app.delivery_store import (
    SenderKeyError,
    SqliteDeliveryStore,
    SqliteSchemeStore,
    StoredSenderKeys,
)
from fedassembly.app.local_keys import LocalKeys
from federation.addresses import host_of
from federation.delivery import DeliveryWorker
from federation.fetch import FetchPolicy, SafeFetcher
from federation.keys import generate_rsa_private_pem, load_public_key, public_pem_of
from federation.posting import LocalPoster
from federation.session import create_session
from federation.signatures import SignatureError, signature_key_id, verify_request
from federation.signing_schemes import SchemeMemory
from storage import actors as actor_repo
from storage import deliveries as delivery_repo
from storage.db import Database
from storage.migrate import migrate
from storage.outbox import put_activity, put_deliveries

BASE = "http://node.test"
SENDER = "assembly1"
KEY_ID = f"{BASE}/groups/{SENDER}#main-key"
FIRST_RETRY = 0.05
REPO = Path(__file__).resolve().parents[2]


ReceiverFactory = Callable[..., Awaitable["Receiver"]]
WorkerFactory = Callable[..., DeliveryWorker]
Runner = Callable[[DeliveryWorker], None]


@dataclass
class Hit:
    at: float
    activity_id: str
    status: int
    key_id: str
    verified: bool


@dataclass
class Receiver:
    """A loopback inbox answering statuses from ``script`` (the last one repeats)."""

    public_pem: str
    script: list[int | tuple[int, dict[str, str]]]
    hits: list[Hit] = field(default_factory=list)
    address: str = "127.0.0.1"
    port: int = 0
    delay: float = 0.0

    @property
    def inbox(self) -> str:
        return f"http://{self.address}:{self.port}/inbox"

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {name.lower(): value for name, value in request.headers.items()}
        try:
            verify_request(
                method="POST",
                url=str(request.url),
                headers=headers,
                body=body,
                public_key=load_public_key(self.public_pem),
                now=time.time(),
            )
            verified = True
        except SignatureError:
            verified = False
        answer = self.script[min(len(self.hits), len(self.script) - 1)]
        status, extra = answer if isinstance(answer, tuple) else (answer, {})
        await asyncio.sleep(self.delay)
        activity_id = json.loads(body)["id"]
        self.hits.append(Hit(time.time(), activity_id, status, signature_key_id(headers), verified))
        return web.Response(status=status, headers=extra)

    def statuses_for(self, activity_id: str) -> list[int]:
        return [hit.status for hit in self.hits if hit.activity_id == activity_id]


@pytest.fixture(scope="module")
def sender_pem() -> str:
    return generate_rsa_private_pem()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "node.sqlite3")
    await migrate(database)
    yield database
    await database.close()


@pytest.fixture
async def sender_id(db: Database, sender_pem: str) -> int:
    async with db.transaction() as conn:
        actor_id = await actor_repo.put_actor(conn, SENDER, "assembly", "Assembly one", now_iso())
        await actor_repo.put_key_if_absent(
            conn, actor_id, "rsa", sender_pem, public_pem_of(sender_pem), now_iso()
        )
    return actor_id


@pytest.fixture
async def receiver(sender_pem: str) -> AsyncIterator[Callable[..., Awaitable[Receiver]]]:
    runners: list[web.AppRunner] = []

    async def start(*script: int | tuple[int, dict[str, str]], address: str = "127.0.0.1") -> Receiver:
        """A receiver on ``address`` (hosts are told apart by address: the queue keys on host)."""
        inbox = Receiver(public_pem_of(sender_pem), list(script) or [202], address=address)
        app = web.Application()
        app.router.add_post("/inbox", inbox.handle)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, address, 0)
        await site.start()
        inbox.port = runner.addresses[0][1]
        return inbox

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def make_worker(db: Database) -> AsyncIterator[Callable[..., DeliveryWorker]]:
    sessions = []

    def make(**options: float) -> DeliveryWorker:
        policy = FetchPolicy(allow_private_addresses=True, timeout_seconds=2.0, user_agent="tests")
        session = create_session(policy)
        sessions.append(session)
        settings = {"concurrency": 4, "first_retry_seconds": FIRST_RETRY, "max_attempts": 16} | options
        return DeliveryWorker(
            SqliteDeliveryStore(db),
            LocalPoster(SafeFetcher(session, policy)),
            StoredSenderKeys(db, BASE, LocalKeys(db, now_iso)),
            schemes=SchemeMemory(SqliteSchemeStore(db)),
            concurrency=int(settings["concurrency"]),
            first_retry_seconds=float(settings["first_retry_seconds"]),
            max_attempts=int(settings["max_attempts"]),
        )

    yield make
    for session in sessions:
        await session.close()


async def queue(db: Database, sender_id: int, *inboxes: str) -> str:
    """Publish an activity and queue it to ``inboxes`` in one transaction; return its id."""
    activity: dict[str, Any] = {
        "id": f"{BASE}/activities/{uuid.uuid4().hex}",
        "type": "Create",
        "actor": f"{BASE}/groups/{SENDER}",
        "object": {"type": "Note", "content": "hello"},
    }
    async with db.transaction() as conn:
        await put_activity(conn, activity, sender_id, True, now_iso())
        await put_deliveries(conn, activity["id"], sender_id, [(i, host_of(i)) for i in inboxes], time.time())
    return activity["id"]


async def rows(db: Database) -> list[dict[str, Any]]:  # SQLite's values, as sqlite3.Row gives them
    found = await db.fetchall(
        "SELECT id, host, state, attempts, next_attempt_at, lease_until, last_error"
        " FROM deliveries ORDER BY id"
    )
    return [dict(row) for row in found]


async def eventually(check: Callable[[], Awaitable[bool]], within: float) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


@pytest.fixture
async def running() -> AsyncIterator[Callable[[DeliveryWorker], None]]:
    """Start ``worker.run`` in the background; stopped (and awaited) at the end of the test."""
    started: list[tuple[asyncio.Event, asyncio.Task[None]]] = []

    def start(worker: DeliveryWorker) -> None:
        stop = asyncio.Event()
        started.append((stop, asyncio.get_running_loop().create_task(worker.run(stop))))

    yield start
    for stop, task in started:
        stop.set()
        await asyncio.wait_for(task, 5)


async def test_a_2xx_deletes_the_row(
    db: Database, sender_id: int, receiver: ReceiverFactory, make_worker: WorkerFactory
) -> None:
    inbox = await receiver(202)
    activity_id = await queue(db, sender_id, inbox.inbox)

    assert await make_worker().run_once() == 1

    assert [(h.activity_id, h.key_id, h.verified) for h in inbox.hits] == [(activity_id, KEY_ID, True)]
    assert await rows(db) == []


async def test_one_activity_reaches_every_inbox_once(
    db: Database, sender_id: int, receiver: ReceiverFactory, make_worker: WorkerFactory
) -> None:
    inboxes = [await receiver(202, address=f"127.0.0.{n}") for n in (1, 2, 3)]
    activity_id = await queue(db, sender_id, *(r.inbox for r in inboxes))

    assert await make_worker(concurrency=2).run_once() == 3

    assert [r.statuses_for(activity_id) for r in inboxes] == [[202], [202], [202]]
    assert all(hit.verified for r in inboxes for hit in r.hits)
    assert await rows(db) == []


async def test_a_slow_host_holds_one_slot_not_the_queue(
    db: Database, sender_id: int, receiver: ReceiverFactory, make_worker: WorkerFactory, running: Runner
) -> None:
    slow = await receiver(202, address="127.0.0.9")
    slow.delay = 1.0
    fast = [await receiver(202, address=f"127.0.0.{n}") for n in (1, 2, 3)]
    await queue(db, sender_id, slow.inbox)
    for _ in range(3):
        await queue(db, sender_id, *(r.inbox for r in fast))

    running(make_worker(concurrency=2))
    await eventually(lambda: _nothing_pending_but(db, 1), within=0.8)

    assert sum(len(r.hits) for r in fast) == 9
    assert slow.hits == []  # still being answered, while all nine others went through
    await eventually(lambda: _empty(db), within=2)


async def test_a_410_is_dead_after_one_attempt(
    db: Database,
    sender_id: int,
    receiver: ReceiverFactory,
    make_worker: WorkerFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    inbox = await receiver(410)
    activity_id = await queue(db, sender_id, inbox.inbox)
    worker = make_worker()

    assert await worker.run_once() == 1
    await asyncio.sleep(4 * FIRST_RETRY)
    assert await worker.run_once() == 0

    assert inbox.statuses_for(activity_id) == [410]
    given_up = [r for r in caplog.records if r.name == "federation.delivery"]
    assert len(given_up) == 1 and "HTTP 410" in given_up[0].getMessage()
    [row] = await rows(db)
    assert (row["state"], row["attempts"], row["last_error"]) == ("dead", 1, "HTTP 410")
    assert await delivery_repo.count_deliveries(db.reader) == delivery_repo.DeliveryCounts(0, 1)


async def test_a_503_is_retried_until_the_receiver_recovers(
    db: Database, sender_id: int, receiver: ReceiverFactory, make_worker: WorkerFactory, running: Runner
) -> None:
    inbox = await receiver(503, 503, 503, 202)
    activity_id = await queue(db, sender_id, inbox.inbox)

    running(make_worker())
    await eventually(lambda: _empty(db), within=5)

    assert inbox.statuses_for(activity_id) == [503, 503, 503, 202]
    gaps = [b.at - a.at for a, b in zip(inbox.hits, inbox.hits[1:], strict=False)]
    assert all(gap >= 0.8 * FIRST_RETRY for gap in gaps)  # never sooner than the backoff


async def test_a_429_retry_after_is_honoured(
    db: Database, sender_id: int, receiver: ReceiverFactory, make_worker: WorkerFactory, running: Runner
) -> None:
    inbox = await receiver((429, {"Retry-After": "1"}), 202)
    activity_id = await queue(db, sender_id, inbox.inbox)

    running(make_worker())
    await eventually(lambda: _empty(db), within=5)

    assert inbox.statuses_for(activity_id) == [429, 202]
    assert inbox.hits[1].at - inbox.hits[0].at >= 1.0


async def test_a_paused_host_waits_while_other_hosts_go_through(
    db: Database, sender_id: int, receiver: ReceiverFactory, make_worker: WorkerFactory
) -> None:
    failing, healthy = await receiver(503, 503, 202), await receiver(202, address="127.0.0.2")
    first = await queue(db, sender_id, failing.inbox)
    worker = make_worker(first_retry_seconds=0.5)

    assert await worker.run_once() == 1
    [job] = await rows(db)
    paused = await db.fetchall("SELECT host, paused_until FROM delivery_hosts")
    # The pause ends exactly at that job's retry, never later.
    assert [tuple(p) for p in paused] == [(job["host"], job["next_attempt_at"])]

    second = await queue(db, sender_id, failing.inbox)
    third = await queue(db, sender_id, healthy.inbox)
    assert await worker.run_once() == 1
    assert healthy.statuses_for(third) == [202]
    assert failing.statuses_for(second) == []

    await eventually(stepping(worker, lambda: _empty(db)), within=5)
    pause_end = float(job["next_attempt_at"])
    assert all(hit.at >= pause_end for hit in failing.hits[1:])
    for activity_id in (first, second):  # delivered once each, after however many 503s
        statuses = failing.statuses_for(activity_id)
        assert statuses[-1] == 202 and statuses.count(202) == 1


async def test_jobs_claimed_before_their_host_failed_are_handed_back(
    db: Database, sender_id: int, receiver: ReceiverFactory, make_worker: WorkerFactory
) -> None:
    failing = await receiver(503)
    await queue(db, sender_id, failing.inbox)
    await queue(db, sender_id, failing.inbox)

    # One at a time: the second job is taken up after the first one paused the host.
    assert await make_worker(concurrency=1, first_retry_seconds=5).run_once() == 1

    assert len(failing.hits) == 1
    states = sorted((r["attempts"], r["lease_until"]) for r in await rows(db))
    assert states == [(0, 0), (1, 0)]


async def test_a_network_failure_is_retried_then_given_up(
    db: Database, sender_id: int, make_worker: WorkerFactory
) -> None:
    closed = f"http://127.0.0.1:{_free_port()}/inbox"
    await queue(db, sender_id, closed)
    worker = make_worker(max_attempts=2)

    await eventually(stepping(worker, lambda: _nothing_pending(db)), within=5)

    [row] = await rows(db)
    assert (row["state"], row["attempts"]) == ("dead", 2)
    assert str(row["last_error"]).startswith("FetchNetworkError")


async def test_max_attempts_reached_is_dead_with_its_last_error(
    db: Database, sender_id: int, receiver: ReceiverFactory, make_worker: WorkerFactory, running: Runner
) -> None:
    inbox = await receiver(500)
    activity_id = await queue(db, sender_id, inbox.inbox)

    running(make_worker(max_attempts=3))
    await eventually(lambda: _dead(db), within=5)

    assert inbox.statuses_for(activity_id) == [500, 500, 500]
    [row] = await rows(db)
    assert (row["state"], row["attempts"], row["last_error"]) == ("dead", 3, "HTTP 500")


async def test_a_lease_left_by_a_killed_worker_is_released_on_start(
    db: Database,
    sender_id: int,
    receiver: ReceiverFactory,
    make_worker: WorkerFactory,
    running: Runner,
    tmp_path: Path,
) -> None:
    inbox = await receiver(202)
    activity_id = await queue(db, sender_id, inbox.inbox)
    # Another process claims the job with a five-minute lease, then dies by SIGKILL mid-send.
    script = (
        "import asyncio, os, signal, sys, time\n"
        "from fedassembly.app.delivery_store import SqliteDeliveryStore\n"
        "from storage.db import Database\n"
        "async def main():\n"
        "    db = await Database.open(sys.argv[1])\n"
        "    jobs = await SqliteDeliveryStore(db).claim(time.time(), time.time() + 300, 10)\n"
        "    print(len(jobs), flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "asyncio.run(main())\n"
    )
    killed = subprocess.run(
        [sys.executable, "-c", script, str(db.path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=30,
    )
    assert (killed.returncode, killed.stdout) == (-9, "1\n")
    [row] = await rows(db)
    assert row["lease_until"] > time.time() + 200
    worker = make_worker()
    assert await worker.run_once() == 0  # leased: a plain claim must not take it

    running(worker)  # the node starting again
    await eventually(lambda: _empty(db), within=2)

    assert inbox.statuses_for(activity_id) == [202]


async def test_rows_queued_by_another_process_go_out_within_seconds(
    db: Database, sender_id: int, receiver: ReceiverFactory, make_worker: WorkerFactory, running: Runner
) -> None:
    inbox = await receiver(202)
    running(make_worker())
    await asyncio.sleep(0.2)  # the feeder is idle, sleeping on an empty queue

    # The CLI: its own connection to the same file, and nobody wakes the worker.
    cli = await Database.open(db.path)
    try:
        queued_at = time.time()
        activity_id = await queue(cli, sender_id, inbox.inbox)
    finally:
        await cli.close()
    await eventually(lambda: _empty(db), within=2.5)

    assert inbox.statuses_for(activity_id) == [202]
    assert inbox.hits[0].at - queued_at < 1.5


async def test_wake_sends_in_process_rows_at_once(
    db: Database, sender_id: int, receiver: ReceiverFactory, make_worker: WorkerFactory, running: Runner
) -> None:
    inbox = await receiver(202)
    worker = make_worker()
    running(worker)
    await asyncio.sleep(0.2)

    queued_at = time.time()
    await queue(db, sender_id, inbox.inbox)
    worker.wake()
    await eventually(lambda: _empty(db), within=2)

    assert inbox.hits[0].at - queued_at < 0.5


async def test_a_clean_stop_leaves_no_lease(
    db: Database, sender_id: int, receiver: ReceiverFactory, make_worker: WorkerFactory
) -> None:
    inbox = await receiver(503)
    await queue(db, sender_id, inbox.inbox)
    stop = asyncio.Event()
    task = asyncio.create_task(make_worker(first_retry_seconds=30).run(stop))
    await eventually(lambda: _hits(inbox, 1), within=2)

    stop.set()
    await asyncio.wait_for(task, 5)

    assert [(r["state"], r["attempts"], r["lease_until"]) for r in await rows(db)] == [("pending", 1, 0)]


async def _empty(db: Database) -> bool:
    return await delivery_repo.count_deliveries(db.reader) == delivery_repo.DeliveryCounts(0, 0)


async def _nothing_pending_but(db: Database, left: int) -> bool:
    return (await delivery_repo.count_deliveries(db.reader)).pending == left


async def _dead(db: Database) -> bool:
    return (await delivery_repo.count_deliveries(db.reader)).dead == 1


async def _hits(inbox: Receiver, count: int) -> bool:
    return len(inbox.hits) >= count


async def _nothing_pending(db: Database) -> bool:
    return (await delivery_repo.count_deliveries(db.reader)).pending == 0


def stepping(worker: DeliveryWorker, done: Callable[[], Awaitable[bool]]) -> Callable[[], Awaitable[bool]]:
    """A check for ``eventually`` that steps the queue once before asking ``done``."""

    async def step() -> bool:
        await worker.run_once()
        return await done()

    return step


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_sender_key_ids_follow_the_actor_kind(db: Database, sender_id: int) -> None:
    async with db.transaction() as conn:
        person = await actor_repo.put_actor(conn, "alice", "person", "Alice", now_iso())
        council = await actor_repo.put_actor(conn, "region", "council", "Region", now_iso())
        instance = await actor_repo.put_actor(conn, "actor", "instance", "node", now_iso())
    keys = StoredSenderKeys(db, BASE + "/", LocalKeys(db, now_iso))

    found = {actor: (await keys.key_for(actor))[0] for actor in (sender_id, person, council, instance)}

    assert found == {
        sender_id: KEY_ID,
        person: f"{BASE}/people/alice#main-key",
        council: f"{BASE}/groups/region#main-key",
        instance: f"{BASE}/actor#main-key",
    }
    # A person's key is made when first needed, then read once and kept.
    assert await actor_repo.get_key(db.reader, person, "rsa") is not None
    assert await keys.key_for(person) == await keys.key_for(person)


async def test_an_unknown_sender_is_an_error(db: Database) -> None:
    with pytest.raises(SenderKeyError):
        await StoredSenderKeys(db, BASE, LocalKeys(db, now_iso)).key_for(9999)
