"""A scriptable remote fediverse server on loopback: real actors, real keys, real signatures."""

from __future__ import annotations

import asyncio
import functools
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from federation.keys import PrivateKey, generate_rsa_private_pem, load_private_key, public_pem_of
from federation.signatures import sign_request

from .nodes import free_port

_KEY_CACHE: list[str] = []


def _rsa_pem(index: int) -> str:
    # RSA generation is slow; tests reuse a few keys (each actor still gets its own document).
    while len(_KEY_CACHE) <= index:
        _KEY_CACHE.append(generate_rsa_private_pem())
    return _KEY_CACHE[index]


@dataclass
class RemoteActor:
    id: str
    name: str
    private_pem: str

    @functools.cached_property
    def private_key(self) -> PrivateKey:
        """The loaded key (loading an RSA PEM costs more than signing with it)."""
        return load_private_key(self.private_pem)

    @property
    def key_id(self) -> str:
        return f"{self.id}#main-key"

    @property
    def inbox(self) -> str:
        return f"{self.id}/inbox"


@dataclass
class RemoteServer:
    """Serves actors, WebFinger and inboxes that record what they receive."""

    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    actors: dict[str, RemoteActor] = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)
    accepted: list[dict[str, Any]] = field(default_factory=list)  # those answered with a 2xx
    inbox_paths: list[tuple[str, str]] = field(default_factory=list)  # (inbox path, activity id)
    inbox_status: int = 202
    # Actor documents served with another status (name -> status), and every GET by path.
    failing: dict[str, int] = field(default_factory=dict)
    fetched: Counter[str] = field(default_factory=Counter)
    runner: web.AppRunner | None = None

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def actor(self, name: str, key_index: int = 0) -> RemoteActor:
        """Add (or get) an actor ``name`` on this server."""
        if name not in self.actors:
            self.actors[name] = RemoteActor(f"{self.base}/users/{name}", name, _rsa_pem(key_index))
        return self.actors[name]

    async def start(self) -> RemoteServer:
        app = web.Application()
        app.router.add_get("/users/{name}", self._actor_doc)
        app.router.add_post("/users/{name}/inbox", self._inbox)
        app.router.add_post("/inbox", self._inbox)
        app.router.add_get("/.well-known/webfinger", self._webfinger)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, self.host, self.port).start()
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    def document(self, actor: RemoteActor) -> dict[str, Any]:
        return {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": actor.id,
            "type": "Person",
            "preferredUsername": actor.name,
            "inbox": actor.inbox,
            "endpoints": {"sharedInbox": f"{self.base}/inbox"},
            "publicKey": {
                "id": actor.key_id,
                "owner": actor.id,
                "publicKeyPem": public_pem_of(actor.private_pem),
            },
        }

    async def _actor_doc(self, request: web.Request) -> web.Response:
        self.fetched[request.path] += 1
        name = request.match_info["name"]
        if name in self.failing:
            return web.Response(status=self.failing[name])
        actor = self.actors.get(name)
        if actor is None:
            return web.Response(status=404)
        return web.Response(
            body=json.dumps(self.document(actor)).encode(), content_type="application/activity+json"
        )

    async def _webfinger(self, request: web.Request) -> web.Response:
        resource = request.query.get("resource", "")
        name = resource.removeprefix("acct:").split("@")[0]
        actor = self.actors.get(name)
        if actor is None:
            return web.Response(status=404)
        jrd = {
            "subject": f"acct:{name}@{self.host}:{self.port}",
            "links": [{"rel": "self", "type": "application/activity+json", "href": actor.id}],
        }
        return web.json_response(jrd, content_type="application/jrd+json")

    async def _inbox(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            activity = json.loads(body)
        except ValueError:
            return web.Response(status=400)
        self.received.append(activity)
        self.inbox_paths.append((request.path, str(activity.get("id"))))
        if 200 <= self.inbox_status < 300:
            self.accepted.append(activity)
        return web.Response(status=self.inbox_status)

    def applied(self) -> dict[str, dict[str, Any]]:
        """What this server applied, as a real one does: each accepted activity id once, the first
        arrival (redeliveries of an id are dropped by its dedupe)."""
        first: dict[str, dict[str, Any]] = {}
        for activity in self.accepted:
            first.setdefault(str(activity.get("id")), activity)
        return first

    def inboxes_of(self, activity_id: str) -> list[str]:
        """The inbox paths an activity was POSTed to."""
        return [path for path, received_id in self.inbox_paths if received_id == activity_id]

    def received_of(self, type_: str) -> list[dict[str, Any]]:
        return [a for a in self.received if a.get("type") == type_]

    async def wait_for(self, predicate: Any, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until some received activities satisfy ``predicate``; those activities."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            hits = [a for a in self.received if predicate(a)]
            if hits:
                return hits
            await asyncio.sleep(0.05)
        raise AssertionError(
            f"nothing matching arrived in {timeout}s; got {[a.get('type') for a in self.received]}"
        )

    def new_id(self, actor: RemoteActor, kind: str = "activities") -> str:
        return f"{actor.id}/{kind}/{uuid.uuid4().hex}"


def signed_headers(actor: RemoteActor, url: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """Draft-cavage headers for POSTing ``body`` to ``url`` as ``actor``."""
    headers = {"content-type": "application/activity+json"}
    headers.update(
        sign_request(
            method="POST",
            url=url,
            headers=headers,
            body=body,
            key_id=actor.key_id,
            private_key=actor.private_key,
            now=now,
        )
    )
    return headers


async def post_signed(
    url: str,
    activity: dict[str, Any],
    actor: RemoteActor,
    *,
    now: float | None = None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, str]:
    """POST an activity signed by ``actor``; (status, text)."""
    raw = body if body is not None else json.dumps(activity).encode()
    sent = headers if headers is not None else signed_headers(actor, url, raw, now)
    async with aiohttp.ClientSession() as session, session.post(url, data=raw, headers=sent) as response:
        return response.status, await response.text()
