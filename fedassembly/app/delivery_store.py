"""The delivery worker's ports over our SQLite database: the queue store, the senders' keys and
the signature scheme each host is signed in first."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from fedassembly.app.local_keys import LocalKeys
from fedassembly.app.urls import Urls
from federation.keys import PrivateKey, load_private_key
from federation.signatures import CAVAGE, RFC9421, Scheme
from storage import actors as actor_repo
from storage import deliveries as delivery_repo
from storage import signature_schemes as scheme_repo
from storage.db import Database, WriterConnection
from storage.deliveries import DeliveryJob
from storage.signature_schemes import SignatureScheme


class SenderKeyError(Exception):
    """A delivery's sender is not (or no longer) a local actor."""


class SqliteDeliveryStore:
    """The durable delivery queue (``federation.ports.DeliveryStore``) on the node's database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def claim(self, now: float, lease_until: float, limit: int) -> list[DeliveryJob]:
        """Lease up to ``limit`` due jobs whose host is not paused; [] without a write when none is."""
        # The feeder polls every second for rows the CLI queued; an idle poll must not take the
        # write lock (nor an fsync) from the CLI and the inbox.
        if not await delivery_repo.has_due_deliveries(self._db.reader, now):
            return []
        return await self._db.run(
            lambda conn: delivery_repo.claim_due_deliveries(conn, now, lease_until, limit)
        )

    async def record_delivered(self, ids: Collection[int], hosts: Collection[str]) -> None:
        """Delete jobs answered with a 2xx and lift their hosts' pauses."""
        async def delete(conn: WriterConnection) -> None:
            await delivery_repo.delete_deliveries(conn, ids)
            await delivery_repo.clear_hosts(conn, hosts)

        await self._db.run(delete)

    async def record_retry(
        self,
        job_id: int,
        host: str,
        *,
        attempts: int,
        next_attempt_at: float,
        error: str,
        pause_host_until: float | None,
        now: float,
    ) -> None:
        """Reschedule a failed job and, if asked, pause its host (never past a running pause's end)."""
        async def reschedule(conn: WriterConnection) -> None:
            await delivery_repo.reschedule_delivery(conn, job_id, attempts, next_attempt_at, error)
            if pause_host_until is not None:
                await delivery_repo.put_host_pause(conn, host, pause_host_until, now)

        await self._db.run(reschedule)

    async def record_final(self, job_id: int, attempts: int, error: str) -> None:
        """Keep a job as dead with its last error."""
        await self._db.run(lambda conn: delivery_repo.kill_delivery(conn, job_id, attempts, error))

    async def release(self, ids: Collection[int]) -> None:
        """Hand jobs back unattempted."""
        await self._db.run(lambda conn: delivery_repo.release_deliveries(conn, ids))

    async def release_leases(self) -> None:
        """Drop every lease (called as the only worker starts)."""
        await self._db.run(delivery_repo.release_all_leases)

    async def next_due_at(self) -> float | None:
        """When a job can next be claimed; None when nothing is pending."""
        return await delivery_repo.next_claimable_at(self._db.reader)


class StoredSenderKeys:
    """Local actors' RSA signing keys (``federation.ports.SenderKeys``), read once, kept in memory."""

    def __init__(self, db: Database, base: str, keys: LocalKeys) -> None:
        self._db = db
        self._urls = Urls(base.rstrip("/"))
        self._local_keys = keys
        self._cache: dict[int, tuple[str, PrivateKey]] = {}

    async def key_for(self, sender_id: int) -> tuple[str, PrivateKey]:
        """The key id and private key the actor signs with; SenderKeyError if it is not local."""
        cached = self._cache.get(sender_id)
        if cached is not None:
            return cached
        actor = await actor_repo.get_actor_by_id(self._db.reader, sender_id)
        if actor is None:
            raise SenderKeyError(f"no local actor {sender_id}")
        # A person's keys are made when first needed: sending can be that moment.
        key = await self._local_keys.get(actor, "rsa")
        entry = (self._urls.key_id(actor.kind, actor.name), load_private_key(key.private_pem))
        self._cache[sender_id] = entry
        return entry


class SqliteSchemeStore:
    """Each host's signature scheme (``federation.ports.SchemeStore``) on the node's database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def load_schemes(self, since: float) -> dict[str, tuple[Scheme, float]]:
        """Every host's choice learned at ``since`` or later."""
        rows = await scheme_repo.list_signature_schemes(self._db.reader, since)
        return {row.host: (RFC9421 if row.scheme == RFC9421 else CAVAGE, row.learned_at) for row in rows}

    async def save_schemes(self, choices: Mapping[str, tuple[Scheme, float]], forget_before: float) -> None:
        """Store these hosts' choices and forget those that no longer hold, in one unit."""
        rows = [SignatureScheme(host, scheme, at) for host, (scheme, at) in choices.items()]

        async def save(conn: WriterConnection) -> None:
            await scheme_repo.put_signature_schemes(conn, rows)
            await scheme_repo.delete_signature_schemes_before(conn, forget_before)

        await self._db.run(save)
