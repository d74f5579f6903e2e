"""The services of one node, built once from settings and shared by the server and the CLI."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from fedassembly.app.clock import now_iso
from fedassembly.app.local_keys import LocalKeys
from fedassembly.app.remote_actors import RemoteDirectory
from fedassembly.app.urls import Urls
from fedassembly.settings import Settings
from federation.fetch import FetchPolicy, SafeFetcher, create_session
from federation.signatures import sign_request
from storage import actors as actor_repo
from storage.actors import LocalActor
from storage.db import Database
from storage.migrate import migrate

USER_AGENT = "fedassembly/0.1"


@dataclass(slots=True)
class Node:
    settings: Settings
    urls: Urls
    db: Database
    session: aiohttp.ClientSession
    fetcher: SafeFetcher
    keys: LocalKeys
    remote: RemoteDirectory
    instance: LocalActor
    wake_delivery: Any = None  # set by the server: pokes the delivery worker after an enqueue

    def delivery_queued(self) -> None:
        """Tell an in-process delivery worker that rows were queued (CLI rows are polled)."""
        if self.wake_delivery is not None:
            self.wake_delivery()

    async def close(self) -> None:
        """Close the HTTP session and the database."""
        await self.session.close()
        await self.db.close()


async def ensure_instance_actor(db: Database) -> LocalActor:
    """The instance actor (``/actor``, FEP-d556), created on first start."""
    actor = await actor_repo.get_instance_actor(db.reader)
    if actor is None:
        async with db.transaction() as conn:
            if await actor_repo.get_instance_actor(conn) is None:
                await actor_repo.put_actor(conn, "actor", "instance", "fedassembly", now_iso())
        actor = await actor_repo.get_instance_actor(db.reader)
    assert actor is not None
    return actor


def connection_limit(settings: Settings) -> int:
    """Outgoing connections kept open at most: room for every delivery in flight, and fetches."""
    return max(256, settings.delivery_concurrency * 2)


async def open_node(settings: Settings) -> Node:
    """Open the database (migrating it), the instance actor and the outgoing HTTP machinery."""
    db = await Database.open(settings.storage_path)
    await migrate(db)
    urls = Urls(settings.base)
    keys = LocalKeys(db, now_iso)
    instance = await ensure_instance_actor(db)
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
    remote = RemoteDirectory(db, fetcher, time.time)
    return Node(settings, urls, db, session, fetcher, keys, remote, instance)
