"""Local actors' keys: made when first needed, kept in the database, cached in memory."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from federation.keys import (
    ed25519_public_multibase,
    generate_ed25519_private_pem,
    generate_rsa_private_pem,
    load_private_key,
    public_pem_of,
)
from storage import actors as actor_repo
from storage.actors import ActorKey, LocalActor
from storage.db import Database

_GENERATORS = {"rsa": generate_rsa_private_pem, "ed25519": generate_ed25519_private_pem}


class LocalKeys:
    """RSA-2048 (HTTP signatures) and Ed25519 (object proofs) keys of local actors."""

    def __init__(self, db: Database, clock_iso: Callable[[], str]):
        self._db = db
        self._now = clock_iso
        self._cache: dict[tuple[int, str], ActorKey] = {}

    async def get(self, actor: LocalActor, kind: str) -> ActorKey:
        """The actor's key of ``kind``, generated and stored on first use."""
        cached = self._cache.get((actor.id, kind))
        if cached is not None:
            return cached
        key = await actor_repo.get_key(self._db.reader, actor.id, kind)
        if key is None:
            # Generating an RSA key takes tens of milliseconds: off the event loop, outside
            # the write transaction; the first writer wins if two callers race.
            private_pem = await asyncio.to_thread(_GENERATORS[kind])
            async with self._db.transaction() as conn:
                await actor_repo.put_key_if_absent(
                    conn, actor.id, kind, private_pem, public_pem_of(private_pem), self._now()
                )
                key = await actor_repo.get_key(conn, actor.id, kind)
            assert key is not None
        self._cache[(actor.id, kind)] = key
        return key

    async def private_key(self, actor: LocalActor, kind: str) -> Any:
        """The loaded private key object of ``kind``."""
        return load_private_key((await self.get(actor, kind)).private_pem)

    async def ed25519_multibase(self, actor: LocalActor) -> str:
        """The actor's Ed25519 public key as FEP-521a multibase."""
        key = await self.private_key(actor, "ed25519")
        return ed25519_public_multibase(key.public_key())
