"""Signed POSTs of deliveries: what the delivery worker calls, here or in a sender process."""

from __future__ import annotations

import asyncio
import functools
from typing import Protocol

from federation.cavage import sign_request
from federation.fetch import PostResult, SafeFetcher
from federation.keys import PrivateKey

CONTENT_TYPE = "application/activity+json"


class SignedPoster(Protocol):
    """Signs a delivery with the sender's key and POSTs it; statuses are returned, not raised."""

    @property
    def timeout_seconds(self) -> float:
        """How long one POST may take at most."""
        ...

    async def post_signed(self, inbox: str, body: bytes, key_id: str, private_key: PrivateKey) -> PostResult:
        """The inbox's answer; FetchError when there was none (or the URL was refused)."""
        ...

    async def close(self) -> None:
        """Release what the poster holds (the worker has finished sending)."""
        ...


async def sign_and_post(
    fetcher: SafeFetcher, inbox: str, body: bytes, key_id: str, private_key: PrivateKey
) -> PostResult:
    """Sign draft-cavage as Mastodon does and POST through the fetcher's guarded session."""
    headers = {"content-type": CONTENT_TYPE}
    # An RSA signature costs ~0.3 ms of CPU and OpenSSL releases the GIL while it works: in a
    # thread it runs on another core instead of stalling the event loop.
    headers.update(
        await asyncio.to_thread(
            functools.partial(
                sign_request, method="POST", url=inbox, headers=headers, body=body,
                key_id=key_id, private_key=private_key,
            )
        )
    )
    return await fetcher.post(inbox, body, headers)


class LocalPoster:
    """Signs and POSTs on this process's event loop."""

    def __init__(self, fetcher: SafeFetcher) -> None:
        self._fetcher = fetcher

    @property
    def timeout_seconds(self) -> float:
        return self._fetcher.policy.timeout_seconds

    async def post_signed(self, inbox: str, body: bytes, key_id: str, private_key: PrivateKey) -> PostResult:
        return await sign_and_post(self._fetcher, inbox, body, key_id, private_key)

    async def close(self) -> None:
        """Nothing to release: the fetcher's session belongs to its owner."""
