"""What federation/ needs from the application, as structural types (it imports nothing of ours).

The delivery worker drives a durable queue it does not own: the application passes a store that
claims and records jobs, the sending actors' keys, and where the signature scheme each host takes
is kept. Any object with these attributes and
methods fits; federation/ never imports storage/ or fedassembly.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Protocol

from federation.keys import PrivateKey
from federation.signatures import Scheme


class DeliveryJob(Protocol):
    """One queued POST of one activity to one inbox, as claimed under a lease."""

    @property
    def id(self) -> int: ...
    @property
    def activity_id(self) -> str: ...
    @property
    def sender_id(self) -> int: ...
    @property
    def inbox(self) -> str: ...
    @property
    def host(self) -> str: ...
    @property
    def attempts(self) -> int: ...
    @property
    def body(self) -> bytes: ...


class DeliveryStore(Protocol):
    """The durable queue: every method returns once what it records is durably committed."""

    async def claim(self, now: float, lease_until: float, limit: int) -> Sequence[DeliveryJob]:
        """Lease up to ``limit`` jobs due at ``now`` whose host is not paused."""
        ...

    async def record_delivered(self, ids: Collection[int], hosts: Collection[str]) -> None:
        """Forget jobs answered with a 2xx; their hosts are no longer paused."""
        ...

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
        """Reschedule a failed job; optionally pause its host, never past the end of a pause
        still running at ``now``."""
        ...

    async def record_final(self, job_id: int, attempts: int, error: str) -> None:
        """Give a job up: kept as dead with its last error."""
        ...

    async def release(self, ids: Collection[int]) -> None:
        """Drop the lease of jobs not attempted, so they are claimed again when due."""
        ...

    async def release_leases(self) -> None:
        """Drop every lease (the only worker is starting: any lease left is from a dead process)."""
        ...

    async def next_due_at(self) -> float | None:
        """When a job can next be claimed (due, unleased, host not paused); None if none is pending."""
        ...


class SenderKeys(Protocol):
    """The signing keys of local actors."""

    async def key_for(self, sender_id: int) -> tuple[str, PrivateKey]:
        """The key id (``ACTOR#main-key``) and RSA private key the actor signs its POSTs with."""
        ...


class SchemeStore(Protocol):
    """Which signature scheme each host takes, as last learned: host -> (scheme, learned at)."""

    async def load_schemes(self, since: float) -> Mapping[str, tuple[Scheme, float]]:
        """Every host's choice learned at ``since`` or later."""
        ...

    async def save_schemes(self, choices: Mapping[str, tuple[Scheme, float]], forget_before: float) -> None:
        """Store these hosts' choices (replacing theirs) and forget every choice learned before
        ``forget_before``; returns once durable."""
        ...
