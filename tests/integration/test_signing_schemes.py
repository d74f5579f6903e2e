"""The per-host signature scheme end to end: the delivery worker knocks twice and remembers what
worked, the choice is stored (real SQLite) and holds for 30 days, and the inbox learns it from a
valid RFC 9421 signature without a write per POST."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from logging import ERROR
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from support.nodes import RunningNode
from support.picky_inbox import PickyInbox
from support.remote import RemoteActor, RemoteServer, post_signed

from fedassembly.app.clock import now_iso
from fedassembly.app.delivery_store import SqliteDeliveryStore, SqliteSchemeStore, StoredSenderKeys
from fedassembly.app.local_keys import LocalKeys
from federation.addresses import host_of
from federation.delivery import DeliveryWorker
from federation.fetch import FetchPolicy, SafeFetcher
from federation.keys import generate_rsa_private_pem, load_private_key, public_pem_of
from federation.posting import LocalPoster, SignedPoster
from federation.send_process import ProcessPoster
from federation.session import create_session
from federation.signatures import CAVAGE, RFC9421, Scheme, sign_with
from federation.signing_schemes import CHOICE_SECONDS, REFRESH_SECONDS, SchemeMemory
from storage import actors as actor_repo
from storage.db import Database
from storage.migrate import migrate
from storage.outbox import put_activity, put_deliveries

BASE = "http://node.test"
HOST = "127.0.0.1"
POLICY = FetchPolicy(allow_private_addresses=True, timeout_seconds=5.0, user_agent="tests")


class Clock:
    """A clock the test steps."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


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
        actor_id = await actor_repo.put_actor(conn, "barrio", "assembly", "Barrio", now_iso())
        public_pem = public_pem_of(sender_pem)
        await actor_repo.put_key_if_absent(conn, actor_id, "rsa", sender_pem, public_pem, now_iso())
    return actor_id


@pytest.fixture
async def picky(sender_pem: str) -> AsyncIterator[Callable[..., Awaitable[PickyInbox]]]:
    inboxes: list[PickyInbox] = []

    async def start(refusals: dict[Scheme, int]) -> PickyInbox:
        inboxes.append(await PickyInbox(public_pem_of(sender_pem), refusals).start())
        return inboxes[-1]

    yield start
    for inbox in inboxes:
        await inbox.stop()


@pytest.fixture(params=["in-process", "sender-process"])
async def poster(request: pytest.FixtureRequest) -> AsyncIterator[SignedPoster]:
    session = create_session(POLICY)
    made: SignedPoster = (
        LocalPoster(SafeFetcher(session, POLICY)) if request.param == "in-process"
        else ProcessPoster(POLICY, connections=8)
    )
    yield made
    await made.close()
    await session.close()


def worker(db: Database, poster: SignedPoster, schemes: SchemeMemory) -> DeliveryWorker:
    return DeliveryWorker(
        SqliteDeliveryStore(db), poster, StoredSenderKeys(db, BASE, LocalKeys(db, now_iso)),
        schemes=schemes, concurrency=4, first_retry_seconds=30, max_attempts=16,
    )


async def queue(db: Database, sender_id: int, inbox: str) -> str:
    activity = {"id": f"{BASE}/activities/{uuid.uuid4().hex}", "type": "Create", "actor": f"{BASE}/groups/b"}
    async with db.transaction() as conn:
        await put_activity(conn, activity, sender_id, True, now_iso())
        await put_deliveries(conn, activity["id"], sender_id, [(inbox, host_of(inbox))], time.time())
    return activity["id"]


async def stored(db: Database) -> list[tuple[str, str, float]]:
    rows = await db.fetchall("SELECT host, scheme, learned_at FROM signature_schemes ORDER BY host")
    return [(row[0], row[1], row[2]) for row in rows]


async def stored_soon(db: Database, within: float = 5.0) -> list[tuple[str, str, float]]:
    """What is stored once the background write has landed."""
    deadline = time.monotonic() + within
    while not (found := await stored(db)) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    return found


async def pending(db: Database) -> list[tuple[int, str]]:
    rows = await db.fetchall("SELECT attempts, last_error FROM deliveries WHERE state = 'pending'")
    return [(row[0], row[1]) for row in rows]


# -- the worker: knock twice, remember what worked ------------------------------------------------

async def test_a_host_that_refuses_draft_cavage_is_signed_rfc9421_from_then_on(
    db: Database, sender_id: int, picky: Callable[..., Awaitable[PickyInbox]], poster: SignedPoster
) -> None:
    inbox = await picky({CAVAGE: 401})
    schemes = SchemeMemory(SqliteSchemeStore(db))
    sender = worker(db, poster, schemes)

    await queue(db, sender_id, inbox.url)
    assert await sender.run_once() == 1
    assert inbox.schemes() == [(CAVAGE, 401), (RFC9421, 202)]
    assert await pending(db) == []  # delivered in one attempt
    await schemes.drain()
    assert [(host, scheme) for host, scheme, _ in await stored(db)] == [(HOST, RFC9421)]

    await queue(db, sender_id, inbox.url)
    assert await sender.run_once() == 1
    assert inbox.schemes()[2:] == [(RFC9421, 202)]  # one knock now
    assert all(knock.verified for knock in inbox.knocks)

    restarted = SchemeMemory(SqliteSchemeStore(db))
    await restarted.load()
    assert restarted.first_for(HOST) == RFC9421


async def test_a_host_that_stops_taking_rfc9421_is_signed_draft_cavage_again(
    db: Database, sender_id: int, picky: Callable[..., Awaitable[PickyInbox]], poster: SignedPoster
) -> None:
    inbox = await picky({RFC9421: 400})
    schemes = SchemeMemory(SqliteSchemeStore(db))
    schemes.learned(HOST, RFC9421)

    await queue(db, sender_id, inbox.url)
    assert await worker(db, poster, schemes).run_once() == 1

    assert inbox.schemes() == [(RFC9421, 400), (CAVAGE, 202)]
    assert await pending(db) == []
    assert schemes.first_for(HOST) == CAVAGE
    await schemes.drain()
    assert [(host, scheme) for host, scheme, _ in await stored(db)] == [(HOST, CAVAGE)]


async def test_when_both_schemes_are_refused_the_job_is_retried_and_nothing_is_learned(
    db: Database, sender_id: int, picky: Callable[..., Awaitable[PickyInbox]]
) -> None:
    inbox = await picky({CAVAGE: 401, RFC9421: 403})
    schemes = SchemeMemory(SqliteSchemeStore(db))
    session = create_session(POLICY)
    try:
        await queue(db, sender_id, inbox.url)
        assert await worker(db, LocalPoster(SafeFetcher(session, POLICY)), schemes).run_once() == 1
    finally:
        await session.close()

    assert inbox.schemes() == [(CAVAGE, 401), (RFC9421, 403)]
    # The first knock's 401 counts (retried), not the probe's 403 (which would be final).
    assert await pending(db) == [(1, "HTTP 401")]
    await schemes.drain()
    assert await stored(db) == []
    assert schemes.first_for(HOST) == CAVAGE


# -- the memory: 30 days, once an hour, deliveries outrank signatures -----------------------------

async def test_a_choice_holds_thirty_days_then_is_forgotten(db: Database) -> None:
    clock = Clock()
    learned_at = clock.now
    schemes = SchemeMemory(SqliteSchemeStore(db), clock=clock)
    schemes.learned("a.example", RFC9421)
    await schemes.drain()

    clock.now = learned_at + CHOICE_SECONDS
    assert schemes.first_for("a.example") == RFC9421
    clock.now = learned_at + CHOICE_SECONDS + 1
    assert schemes.first_for("a.example") == CAVAGE
    later = SchemeMemory(SqliteSchemeStore(db), clock=clock)
    await later.load()
    assert later.first_for("a.example") == CAVAGE

    later.learned("b.example", RFC9421)  # the next write forgets what no longer holds
    await later.drain()
    assert await stored(db) == [("b.example", RFC9421, clock.now)]


async def test_rfc9421_heard_at_the_inbox_is_written_at_most_once_an_hour(db: Database) -> None:
    clock = Clock()
    first = clock.now
    schemes = SchemeMemory(SqliteSchemeStore(db), clock=clock)
    schemes.heard("https://a.example/users/ana#main-key", CAVAGE)
    await schemes.drain()
    assert await stored(db) == []
    assert schemes.first_for("a.example") == CAVAGE

    schemes.heard("https://a.example/users/ana#main-key", RFC9421)
    assert schemes.first_for("a.example") == RFC9421  # at once, before the write
    await schemes.drain()
    assert await stored(db) == [("a.example", RFC9421, first)]

    clock.now = first + REFRESH_SECONDS - 1
    for _ in range(50):
        schemes.heard("https://a.example/users/bea#main-key", RFC9421)
    await schemes.drain()
    assert await stored(db) == [("a.example", RFC9421, first)]

    clock.now = first + REFRESH_SECONDS
    schemes.heard("https://a.example/users/ana#main-key", RFC9421)
    await schemes.drain()
    assert await stored(db) == [("a.example", RFC9421, first + REFRESH_SECONDS)]


async def test_a_host_that_refused_rfc9421_is_not_switched_back_by_its_own_signatures(db: Database) -> None:
    schemes = SchemeMemory(SqliteSchemeStore(db))
    schemes.learned("a.example", CAVAGE)
    schemes.heard("https://a.example/users/ana#main-key", RFC9421)
    await schemes.drain()
    assert schemes.first_for("a.example") == CAVAGE
    assert [(host, scheme) for host, scheme, _ in await stored(db)] == [("a.example", CAVAGE)]


async def test_a_failed_write_is_logged_and_the_choice_kept_in_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = await Database.open(tmp_path / "gone.sqlite3")
    await migrate(database)
    await database.close()
    schemes = SchemeMemory(SqliteSchemeStore(database))
    schemes.learned("a.example", RFC9421)
    await schemes.drain()
    assert schemes.first_for("a.example") == RFC9421
    failures = [r for r in caplog.records if r.name == "federation.signing_schemes" and r.levelno >= ERROR]
    assert len(failures) == 1 and "not saved" in failures[0].getMessage()


# -- the inbox: a valid RFC 9421 signature teaches the node ---------------------------------------

@dataclass
class SchemeServer(RemoteServer):
    """The loopback remote server, also noting the scheme of every POST to its inboxes."""

    schemes: list[tuple[str, Scheme]] = field(default_factory=list)  # (activity type, scheme)

    async def _inbox(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        scheme: Scheme = RFC9421 if "Signature-Input" in request.headers else CAVAGE
        self.schemes.append((str(body.get("type")), scheme))
        return await super()._inbox(request)


@pytest.fixture
async def scheme_server() -> AsyncIterator[SchemeServer]:
    server = SchemeServer()
    await server.start()
    yield server
    await server.stop()


def follow(server: RemoteServer, actor: RemoteActor, target: str) -> dict[str, Any]:
    return {"id": server.new_id(actor), "type": "Follow", "actor": actor.id, "object": target}


async def post_as(scheme: Scheme, url: str, activity: dict[str, Any], actor: RemoteActor,
                  private_pem: str | None = None) -> int:
    """POST ``activity`` signed ``scheme`` by ``actor`` (with another key when ``private_pem``)."""
    body = json.dumps(activity).encode()
    headers = {"content-type": "application/activity+json"}
    headers.update(sign_with(
        scheme, method="POST", url=url, headers=headers, body=body, key_id=actor.key_id,
        private_key=load_private_key(private_pem or actor.private_pem),
    ))
    status, _ = await post_signed(url, activity, actor, body=body, headers=headers)
    return status


async def test_a_host_whose_rfc9421_signature_verified_is_answered_rfc9421_with_one_write(
    nodes: Callable[..., Awaitable[RunningNode]], scheme_server: SchemeServer
) -> None:
    running = await nodes("a")
    group_url = await running.group("barrio")
    ana = scheme_server.actor("ana")

    assert await post_as(RFC9421, f"{group_url}/inbox", follow(scheme_server, ana, group_url), ana) == 202
    await scheme_server.wait_for(lambda a: a.get("type") == "Accept")
    assert scheme_server.schemes == [("Accept", RFC9421)]  # the first knock, accepted
    [(host, scheme, learned_at)] = await stored_soon(running.node.db)
    assert (host, scheme) == (HOST, RFC9421)

    like = {"type": "Like", "actor": ana.id, "object": group_url}
    for _ in range(5):
        liked = {**like, "id": scheme_server.new_id(ana)}
        assert await post_as(RFC9421, f"{running.base}/inbox", liked, ana) == 202
    assert await stored(running.node.db) == [(HOST, RFC9421, learned_at)]  # not a write per POST


async def test_draft_cavage_and_refused_rfc9421_signatures_teach_nothing(
    nodes: Callable[..., Awaitable[RunningNode]], scheme_server: SchemeServer
) -> None:
    running = await nodes("a")
    group_url = await running.group("barrio")
    ana, mallory = scheme_server.actor("ana"), scheme_server.actor("mallory", key_index=1)

    # mallory claims ana's key id but signs with her own key: refused, and nothing learned.
    forged = follow(scheme_server, ana, group_url)
    assert await post_as(RFC9421, f"{group_url}/inbox", forged, ana, mallory.private_pem) == 401
    assert await post_as(CAVAGE, f"{group_url}/inbox", follow(scheme_server, ana, group_url), ana) == 202
    await scheme_server.wait_for(lambda a: a.get("type") == "Accept")
    assert scheme_server.schemes == [("Accept", CAVAGE)]
    assert await stored(running.node.db) == []
