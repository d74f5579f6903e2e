"""``build_app(settings)``: the aiohttp application with every route, service and worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from aiohttp import web

from fedassembly.app import inbox_create  # noqa: F401  (registers the Create handler)
from fedassembly.app.closing import run_closer
from fedassembly.app.node import connection_limit, open_node
from fedassembly.app.poll_updates import run_poll_updates
from fedassembly.settings import Settings
from fedassembly.web import actors, api, decisions, discovery, members, proposals
from fedassembly.web import inbox as inbox_routes
from fedassembly.web.common import NODE
from federation.inbox import InboxVerifier
from storage import deliveries as delivery_repo
from storage import inbox as inbox_repo

log = logging.getLogger("fedassembly.main")

DEDUPE_DAYS = 7
MAINTENANCE_SECONDS = 3600.0


def add_routes(app: web.Application) -> None:
    """Every URL of DESIGN 3 served by the foundation."""
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


def build_app(settings: Settings, *, sender_process: bool = False) -> web.Application:
    """The whole node as an aiohttp application; services start with the app and stop with it.

    With ``sender_process``, deliveries are signed and sent by a child process (another core),
    as ``fedassembly serve`` does on a machine with more than one; tests keep them in-process.
    """
    # The inbox enforces its own limit while streaming; this caps every other body.
    app = web.Application(middlewares=[api.api_errors], client_max_size=settings.max_body_bytes)
    add_routes(app)
    app.cleanup_ctx.append(_services(settings, sender_process))
    return app


def _services(settings: Settings, sender_process: bool):  # type: ignore[no-untyped-def]
    async def services(app: web.Application) -> AsyncIterator[None]:
        from fedassembly.app.delivery_store import SqliteDeliveryStore, StoredSenderKeys
        from federation.delivery import DeliveryWorker
        from federation.posting import LocalPoster, SignedPoster
        from federation.send_process import ProcessPoster

        node = await open_node(settings)
        app[NODE] = node
        app[inbox_routes.OWNER_KINDS] = {}
        app[inbox_routes.VERIFIER] = InboxVerifier(
            base_url=node.urls.base,
            max_body_bytes=settings.max_body_bytes,
            blocked_domains=settings.blocked_domains,
            keys=node.remote,
        )
        poster: SignedPoster = (
            ProcessPoster(node.fetcher.policy, connections=connection_limit(settings))
            if sender_process else LocalPoster(node.fetcher)
        )
        worker = DeliveryWorker(
            SqliteDeliveryStore(node.db),
            poster,
            StoredSenderKeys(node.db, node.urls.base),
            concurrency=settings.delivery_concurrency,
            first_retry_seconds=settings.first_retry_seconds,
            max_attempts=settings.max_attempts,
        )
        node.wake_delivery = worker.wake
        stop = asyncio.Event()
        tasks = [
            asyncio.create_task(worker.run(stop), name="delivery"),
            asyncio.create_task(_maintenance(node, stop), name="maintenance"),
            asyncio.create_task(run_poll_updates(node, stop), name="poll-updates"),
            asyncio.create_task(run_closer(node, stop), name="closer"),
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
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await poster.close()
            await node.close()

    return services


async def _maintenance(node, stop: asyncio.Event) -> None:  # type: ignore[no-untyped-def]
    """Hourly: forget deduplicated activity ids after 7 days, and stale host failure state."""
    while not stop.is_set():
        cutoff = time.time() - DEDUPE_DAYS * 86400
        try:
            async with node.db.transaction() as conn:
                await inbox_repo.delete_inbox_activities_before(conn, cutoff)
                await delivery_repo.delete_stale_hosts(conn, cutoff)
        except Exception:
            log.exception("maintenance failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), MAINTENANCE_SECONDS)
