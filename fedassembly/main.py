"""The shell: ``open_node`` (database, keys, outgoing HTTP) and ``build_app(settings)``, the aiohttp
application with every route, the inbox's handler table, and the workers.

Only the shell (this module and ``fedassembly.cli``) wires storage and federation together;
the use cases in ``fedassembly.app`` receive what they need through ``Node``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from fedassembly import __version__
from fedassembly.app import follows
from fedassembly.app.blocks import Blocklist, run_blocklist
from fedassembly.app.clock import iso
from fedassembly.app.closing import run_closer
from fedassembly.app.inbox import InboxHandlers, create_may_affect, on_create, on_delete
from fedassembly.app.local_keys import LocalKeys
from fedassembly.app.node import Node
from fedassembly.app.poll_updates import run_poll_updates
from fedassembly.app.received import InboxOwners
from fedassembly.app.remote_actors import RemoteDirectory
from fedassembly.app.roster_index import RosterIndex
from fedassembly.app.strangers import StrangerGate
from fedassembly.app.urls import Urls
from fedassembly.settings import Settings
from fedassembly.web import access, actors, api, decisions, discovery, members, proposals
from fedassembly.web import inbox as inbox_routes
from fedassembly.web.common import NODE
from fedassembly.web.server_log import quiet_malformed_requests
from federation.fetch import FetchPolicy, SafeFetcher
from federation.inbox import InboxVerifier
from federation.rate_limit import HostLimiter
from federation.session import create_session
from federation.signatures import sign_request
from storage import actors as actor_repo
from storage import deliveries as delivery_repo
from storage import inbox as inbox_repo
from storage.actors import LocalActor
from storage.db import Database
from storage.migrate import migrate

log = logging.getLogger("fedassembly.main")

DEDUPE_DAYS = 7
MAINTENANCE_SECONDS = 3600.0


def add_routes(app: web.Application) -> None:
    """Every address the node serves (docs/protocol.md, "Addresses")."""
    r = app.router
    r.add_get("/", actors.home)
    r.add_get("/healthz", actors.health)
    r.add_get("/.well-known/webfinger", discovery.webfinger)
    r.add_get("/.well-known/host-meta", discovery.host_meta)
    r.add_get("/.well-known/nodeinfo", discovery.nodeinfo_links)
    r.add_get("/nodeinfo/{version}", discovery.nodeinfo)
    r.add_get("/ns", actors.namespace)
    r.add_get("/actor", actors.actor_page)
    r.add_get("/actor/outbox", actors.outbox)
    r.add_get("/actor/followers", actors.followers)
    r.add_get("/actor/following", actors.following)
    r.add_post("/inbox", inbox_routes.inbox)
    section = "{section:groups|people}"
    r.add_get(f"/{section}/{{name}}", actors.actor_page)
    r.add_post(f"/{section}/{{name}}/inbox", inbox_routes.inbox)
    r.add_get(f"/{section}/{{name}}/outbox", actors.outbox)
    r.add_get(f"/{section}/{{name}}/followers", actors.followers)
    r.add_get(f"/{section}/{{name}}/following", actors.following)
    r.add_get("/objects/{id}", actors.stored_object)
    r.add_get("/activities/{id}", actors.stored_activity)
    r.add_get("/api/v1/me", api.me)
    r.add_post("/api/v1/follows", api.post_follow)
    r.add_delete("/api/v1/follows", api.delete_follow)
    r.add_post("/api/v1/groups/{name}/announcements", api.post_announcement)
    proposals.add_routes(app)
    members.add_routes(app)
    decisions.add_routes(app)


def inbox_handlers() -> InboxHandlers:
    """What each activity type does at our inboxes: the whole table."""
    handlers = InboxHandlers()
    handlers.on("Follow", follows.on_follow, needs_sender=True)
    handlers.on("Undo", follows.on_undo)
    handlers.on("Accept", follows.on_accept)
    handlers.on("Delete", on_delete)
    handlers.on("Create", on_create, needs_sender=True, may_affect=create_may_affect)
    return handlers


def build_app(
    settings: Settings, *, sender_process: bool = False, clock: Callable[[], float] = time.time
) -> web.Application:
    """The whole node as an aiohttp application; services start with the app and stop with it.

    With ``sender_process``, deliveries are signed and sent by a child process (another core),
    as ``fedassembly serve`` does on a machine with more than one; tests keep them in-process.
    ``clock`` is the node's (``Node.clock``): tests step it instead of waiting.
    """
    # The inbox enforces its own limit while streaming; this caps every other body. The access
    # log is outermost, so it sees the status the error middleware answered.
    app = web.Application(
        middlewares=[access.access_log, api.api_errors], client_max_size=settings.max_body_bytes
    )
    add_routes(app)
    app.on_startup.append(quiet_malformed_requests)
    app.cleanup_ctx.append(_services(settings, sender_process, clock))
    return app


def _services(
    settings: Settings, sender_process: bool, clock: Callable[[], float]
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def services(app: web.Application) -> AsyncIterator[None]:
        from fedassembly.app.delivery_store import SqliteDeliveryStore, SqliteSchemeStore, StoredSenderKeys
        from federation.delivery import DeliveryWorker
        from federation.posting import LocalPoster, SignedPoster
        from federation.send_process import ProcessPoster
        from federation.signing_schemes import SchemeMemory

        node = await open_node(settings, clock)
        poster: SignedPoster | None = None
        try:  # a failure before the workers run closes what was opened
            blocklist = Blocklist(settings.blocked_domains)
            await blocklist.refresh(node.db.reader)
            app[NODE] = node
            app[inbox_routes.OWNERS] = InboxOwners()
            app[inbox_routes.HANDLERS] = inbox_handlers()
            roster_index = RosterIndex(node.db)
            await roster_index.load()
            app[inbox_routes.VERIFIER] = InboxVerifier(
                base_url=node.urls.base,
                max_body_bytes=settings.max_body_bytes,
                blocked_domains=blocklist.domains,
                blocked_actors=blocklist.actors,
                keys=node.remote,
                admission=stranger_gate(settings, roster_index, node.clock),
            )
            poster = (
                ProcessPoster(node.fetcher.policy, connections=connection_limit(settings))
                if sender_process else LocalPoster(node.fetcher)
            )
            # Which scheme each host is signed in first: learned by the inbox and the deliveries.
            schemes = app[inbox_routes.SCHEMES] = SchemeMemory(SqliteSchemeStore(node.db))
            await schemes.load()
            worker = DeliveryWorker(
                SqliteDeliveryStore(node.db),
                poster,
                StoredSenderKeys(node.db, node.urls.base, node.keys),
                schemes=schemes,
                concurrency=settings.delivery_concurrency,
                first_retry_seconds=settings.first_retry_seconds,
                max_attempts=settings.max_attempts,
            )
        except BaseException:
            if poster is not None:
                await poster.close()
            await node.close()
            raise
        node.wake_delivery = worker.wake
        stop = asyncio.Event()
        tasks = [
            asyncio.create_task(worker.run(stop), name="delivery"),
            asyncio.create_task(_maintenance(node, stop), name="maintenance"),
            asyncio.create_task(run_poll_updates(node, stop), name="poll-updates"),
            asyncio.create_task(run_closer(node, stop), name="closer"),
            asyncio.create_task(roster_index.run(stop), name="roster-index"),
            asyncio.create_task(run_blocklist(node, blocklist, stop), name="blocklist"),
        ]
        try:
            yield
        finally:
            stop.set()
            worker.wake()
            # Let sends in flight finish and leases be released; whatever remains is cancelled.
            await asyncio.wait(tasks, timeout=5)
            for task in tasks:
                task.cancel()
            try:
                for task in tasks:
                    try:
                        await task
                    except asyncio.CancelledError:
                        pass
                    except Exception:  # reported, and the rest still stops: never a database left open
                        log.exception("%s failed while stopping", task.get_name())
            finally:
                try:
                    await poster.close()
                    await schemes.drain()
                finally:
                    await node.close()

    return services


def stranger_gate(settings: Settings, roster: RosterIndex, clock: Callable[[], float]) -> StrangerGate:
    """The inbox's limit for actors on no roster: a token bucket per remote host."""
    rate, burst = settings.stranger_rate_per_host, settings.stranger_burst
    return StrangerGate(roster, HostLimiter(rate, burst, clock), rate=rate, burst=burst)


async def _maintenance(node: Node, stop: asyncio.Event) -> None:
    """Hourly: forget deduplicated activity ids after 7 days, and stale host failure state."""
    while not stop.is_set():
        cutoff = node.clock() - DEDUPE_DAYS * 86400
        try:
            async with node.db.transaction() as conn:
                await inbox_repo.delete_inbox_activities_before(conn, cutoff)
                await delivery_repo.delete_stale_hosts(conn, cutoff)
        except Exception:
            log.exception("maintenance failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), MAINTENANCE_SECONDS)


USER_AGENT = f"fedassembly/{__version__}"


async def ensure_instance_actor(db: Database, now_iso: str) -> LocalActor:
    """The instance actor (``/actor``, FEP-d556), created on first start."""
    actor = await actor_repo.get_instance_actor(db.reader)
    if actor is None:
        async with db.transaction() as conn:
            if await actor_repo.get_instance_actor(conn) is None:
                await actor_repo.put_actor(conn, "actor", "instance", "fedassembly", now_iso)
        actor = await actor_repo.get_instance_actor(db.reader)
    assert actor is not None
    return actor


def connection_limit(settings: Settings) -> int:
    """Outgoing connections kept open at most: room for every delivery in flight, and fetches."""
    return max(256, settings.delivery_concurrency * 2)


async def open_node(
    settings: Settings, clock: Callable[[], float] = time.time, *, create: bool = True
) -> Node:
    """Open the database (migrating it), the instance actor and the outgoing HTTP machinery.

    Without ``create`` a missing database is an error naming its path. Whatever fails, the
    database is closed again: an open one would hold the process (and, mid-write, the lock).
    """
    db = await Database.open(
        settings.storage_path, create=create, busy_timeout_seconds=settings.busy_timeout_seconds
    )
    try:
        return await _node_over(db, settings, clock)
    except BaseException:
        await db.close()
        raise


async def _node_over(db: Database, settings: Settings, clock: Callable[[], float]) -> Node:
    await migrate(db)
    urls = Urls(settings.base)
    keys = LocalKeys(db, lambda: iso(clock()))
    instance = await ensure_instance_actor(db, iso(clock()))
    instance_key = await keys.private_key(instance, "rsa")
    await keys.get(instance, "ed25519")
    key_id = urls.key_id("instance", instance.name)

    def sign_get(method: str, url: str, headers: dict[str, str], body: bytes | None) -> dict[str, str]:
        # Every GET is signed by the instance actor so servers in authorized-fetch mode answer.
        return sign_request(
            method=method, url=url, headers=headers, body=body, key_id=key_id, private_key=instance_key
        )

    policy = FetchPolicy(
        allow_private_addresses=settings.allow_private_addresses,
        timeout_seconds=10.0,
        max_bytes=settings.max_body_bytes,
        max_redirects=5,
        user_agent=f"{USER_AGENT} (+{urls.base})",
    )
    session = create_session(policy, limit=connection_limit(settings))
    fetcher = SafeFetcher(session, policy, sign_get=sign_get)
    remote = RemoteDirectory(db, fetcher, clock, failed_fetch_seconds=settings.failed_fetch_seconds)
    return Node(settings, urls, db, session, fetcher, keys, remote, instance, clock=clock)
