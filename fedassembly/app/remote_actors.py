"""Remote actors and keys: fetched from their origin, cached in the database and in memory.

This is the inbox's key resolver. Keys are only ever taken from a fetch at their origin, never
from a pushed document (GoToSocial #3198), and refetched at most once a minute per key
(a failed verification triggers a refetch; an attacker must not turn that into a fetch flood).

A failed fetch is remembered too: a key id or actor URL that could not be fetched (network
error, error status, a document that does not hold) is not fetched again for
``failed_fetch_seconds``, so a sender naming it gets its 401 at once, without a connection. The
memory is by the exact URL asked for: a working key must never be blocked by a failure of
another fragment of the same document, which anyone could provoke.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Any

from federation.addresses import host_of
from federation.fetch import FetchError, SafeFetcher
from federation.inbox import PublicKey
from federation.keyfetch import resolve_key
from federation.keys import KeyFormatError, load_public_key
from federation.webfinger import lookup, parse_handle
from storage import remote as remote_repo
from storage.db import Database
from storage.remote import RemoteActor, RemoteKeyRow

log = logging.getLogger("fedassembly.remote")

REFRESH_INTERVAL = 60.0
ACTOR_TTL = 24 * 3600.0
_MEMORY_KEYS = 20_000


class RemoteActorError(Exception):
    """A remote actor could not be resolved or is unusable."""


class _Holds:
    """URLs held back until a time each, at most ``size`` of them (the oldest holds go first)."""

    def __init__(self, size: int) -> None:
        self._until: OrderedDict[str, float] = OrderedDict()
        self._size = size

    def until(self, url: str, now: float) -> float | None:
        """When the hold on ``url`` ends, or None when it is not held (any longer)."""
        until = self._until.get(url)
        if until is not None and until <= now:
            del self._until[url]
            return None
        return until

    def hold(self, url: str, until: float) -> None:
        self._until[url] = until
        self._until.move_to_end(url)
        if len(self._until) > self._size:
            self._until.popitem(last=False)

    def release(self, url: str) -> None:
        self._until.pop(url, None)


def actor_from_document(doc: dict[str, Any], fetched_at: float) -> RemoteActor:
    """A RemoteActor from an actor document fetched at its origin."""
    actor_id = doc.get("id")
    inbox = doc.get("inbox")
    if not isinstance(actor_id, str) or not isinstance(inbox, str) or not inbox:
        raise RemoteActorError("actor document has no id or inbox")
    endpoints = doc.get("endpoints")
    shared = endpoints.get("sharedInbox") if isinstance(endpoints, dict) else None
    shared = shared or doc.get("sharedInbox")
    kind = doc.get("type")
    name = doc.get("preferredUsername")
    return RemoteActor(
        id=actor_id,
        host=host_of(actor_id),
        type=kind if isinstance(kind, str) else "Person",
        preferred_username=name if isinstance(name, str) else None,
        inbox=inbox,
        shared_inbox=shared if isinstance(shared, str) else None,
        document=doc,
        fetched_at=fetched_at,
    )


class RemoteDirectory:
    """Resolves remote keys and actors: memory, then database, then the origin."""

    def __init__(
        self, db: Database, fetcher: SafeFetcher, clock: Any = time.time, *,
        failed_fetch_seconds: float = 600.0,
    ):
        self._db = db
        self._fetcher = fetcher
        self._clock = clock
        self._keys: OrderedDict[str, PublicKey] = OrderedDict()
        self._actors: OrderedDict[str, RemoteActor] = OrderedDict()
        self._refreshed: dict[str, float] = {}
        self._failed_for = failed_fetch_seconds
        self._failed = _Holds(_MEMORY_KEYS)

    def _remember(self, key: PublicKey) -> PublicKey:
        self._keys[key.key_id] = key
        self._keys.move_to_end(key.key_id)
        if len(self._keys) > _MEMORY_KEYS:
            self._keys.popitem(last=False)
        return key

    def _remember_actor(self, actor: RemoteActor) -> RemoteActor:
        self._actors[actor.id] = actor
        self._actors.move_to_end(actor.id)
        if len(self._actors) > _MEMORY_KEYS:
            self._actors.popitem(last=False)
        return actor

    def forget(self, actor_id: str) -> None:
        """Drop a deleted actor and its keys from memory (the database rows are already gone)."""
        self._actors.pop(actor_id, None)
        for key_id in [k for k, v in self._keys.items() if v.owner == actor_id]:
            del self._keys[key_id]

    async def cached(self, key_id: str) -> PublicKey | None:
        """A key already known (memory or database), without fetching."""
        key = self._keys.get(key_id)
        if key is not None:
            return key
        row = await remote_repo.get_remote_key(self._db.reader, key_id)
        if row is None:
            return None
        return self._remember(PublicKey(row.key_id, row.owner, load_public_key(row.public_pem)))

    async def get(self, key_id: str) -> PublicKey:
        """A signer's key: cached, else fetched from its origin and stored."""
        key = self._keys.get(key_id)
        if key is not None:
            return key
        # Before the database: a flood naming a key that failed costs no round trip either. Only
        # the fetch of a key in no cache is held here (a failed refresh is held by _refreshed).
        self._check_not_held(key_id)
        return await self.cached(key_id) or await self._fetch_key(key_id)

    async def refresh(self, key_id: str) -> PublicKey:
        """Fetch a key again from its origin, at most once per REFRESH_INTERVAL per key, and not
        again for ``failed_fetch_seconds`` after a failure."""
        now, allowed = self._clock(), self._refreshed.get(key_id, 0.0)
        if now < allowed:
            raise RemoteActorError(f"key {key_id} was refetched lately; not again before {allowed:.0f}")
        self._refreshed[key_id] = now + REFRESH_INTERVAL
        try:
            return await self._fetch_key(key_id, hold=False)
        except RemoteActorError:
            self._refreshed[key_id] = now + max(REFRESH_INTERVAL, self._failed_for)
            raise

    def _check_not_held(self, url: str) -> None:
        until = self._failed.until(url, self._clock())
        if until is not None:
            raise RemoteActorError(f"{url} failed to fetch lately; not fetched again before {until:.0f}")

    def _remember_failure(self, url: str) -> None:
        if self._failed_for > 0:
            self._failed.hold(url, self._clock() + self._failed_for)

    async def _fetch_key(self, key_id: str, *, hold: bool = True) -> PublicKey:
        try:
            remote = await resolve_key(self._fetcher, key_id)
            public_key = load_public_key(remote.public_key_pem)
            actor = actor_from_document(remote.actor, self._clock()) if remote.actor is not None else None
        except (FetchError, KeyFormatError, RemoteActorError) as error:
            if hold:
                self._remember_failure(key_id)
            raise RemoteActorError(f"cannot fetch the key {key_id}: {error}") from error
        self._failed.release(key_id)
        now = self._clock()
        async with self._db.transaction() as conn:
            await remote_repo.put_remote_key(
                conn, RemoteKeyRow(key_id, remote.owner, remote.public_key_pem, now)
            )
            if actor is not None:
                await remote_repo.put_remote_actor(conn, actor)
        if actor is not None:
            self._remember_actor(actor)
        return self._remember(PublicKey(key_id, remote.owner, public_key))

    async def actor(self, actor_id: str, *, max_age: float = ACTOR_TTL) -> RemoteActor:
        """A remote actor from cache when fresh enough, else fetched from its origin."""
        cached = self._actors.get(actor_id) or await remote_repo.get_remote_actor(self._db.reader, actor_id)
        if cached is not None and self._clock() - cached.fetched_at < max_age:
            return self._remember_actor(cached)
        if cached is None:
            self._check_not_held(actor_id)
        elif self._failed.until(actor_id, self._clock()) is not None:
            return cached  # stale, but its origin failed lately: not asked again yet
        try:
            doc = await self._fetcher.fetch_object(actor_id)
            actor = actor_from_document(doc, self._clock())
            if actor.id != actor_id.split("#", 1)[0]:
                raise RemoteActorError(f"{actor_id} serves an actor with id {actor.id}")
        except (FetchError, RemoteActorError) as error:
            self._remember_failure(actor_id)
            if cached is not None:
                return cached
            raise RemoteActorError(f"cannot fetch {actor_id}: {error}") from error
        self._failed.release(actor_id)
        async with self._db.transaction() as conn:
            await remote_repo.put_remote_actor(conn, actor)
        return self._remember_actor(actor)

    async def resolve(self, who: str) -> RemoteActor:
        """``@user@host``, ``user@host``, ``acct:…`` (by WebFinger) or an actor IRI → the actor."""
        if who.startswith(("http://", "https://")):
            return await self.actor(who)
        try:
            parse_handle(who)
            actor_url = await lookup(self._fetcher, who)
        except FetchError as error:
            raise RemoteActorError(f"cannot resolve {who}: {error}") from error
        except ValueError as error:
            raise RemoteActorError(f"not a handle or actor URL: {who}") from error
        return await self.actor(actor_url)
