"""Signed POSTs of deliveries, knocking twice: what the delivery worker calls, here or in a sender
process.

A POST is signed in the scheme the worker asks for first (draft-cavage unless the host is known
to take RFC 9421). When the inbox answers 400, 401 or 403, the other scheme is tried at once,
within the same attempt ("double-knocking"): servers that verify only one scheme refuse the
other with one of these. The answer reported is the one that let the delivery through; when
neither did, it is the first knock's, the scheme the host was believed to take (a 401 to that one
is retried, while the probe's answer says nothing about the delivery itself).
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from typing import Protocol

from federation.fetch import SafeFetcher
from federation.keys import PrivateKey
from federation.signatures import Scheme, sign_with, the_other

CONTENT_TYPE = "application/activity+json"
# The answers of an inbox that did not take the signature's scheme.
KNOCK_AGAIN_ON = frozenset({400, 401, 403})
KNOCKS = 2


@dataclass(frozen=True, slots=True)
class SignedPost:
    """What an inbox answered, and the scheme of the request it answered (another scheme than
    the one asked for first only when that other one was accepted with a 2xx)."""

    status: int
    retry_after: str | None
    scheme: Scheme


class SignedPoster(Protocol):
    """Signs a delivery with the sender's key and POSTs it; statuses are returned, not raised."""

    @property
    def timeout_seconds(self) -> float:
        """How long one ``post_signed`` may take at most: two POSTs when it knocks twice."""
        ...

    async def post_signed(
        self, inbox: str, body: bytes, key_id: str, private_key: PrivateKey, first: Scheme
    ) -> SignedPost:
        """The inbox's answer, signed ``first`` then, if refused, the other way; FetchError when
        there was none (or the URL was refused)."""
        ...

    async def close(self) -> None:
        """Release what the poster holds (the worker has finished sending)."""
        ...


async def knock(
    fetcher: SafeFetcher, inbox: str, body: bytes, key_id: str, private_key: PrivateKey, first: Scheme
) -> SignedPost:
    """POST signed ``first``; on 400, 401 or 403 POST again signed the other way (see above)."""
    answer = await _sign_and_post(fetcher, inbox, body, key_id, private_key, first)
    if answer.status not in KNOCK_AGAIN_ON:
        return answer
    # A network failure of the second knock propagates: the delivery is retried as for any.
    again = await _sign_and_post(fetcher, inbox, body, key_id, private_key, the_other(first))
    return again if 200 <= again.status < 300 else answer


async def _sign_and_post(
    fetcher: SafeFetcher, inbox: str, body: bytes, key_id: str, private_key: PrivateKey, scheme: Scheme
) -> SignedPost:
    headers = {"content-type": CONTENT_TYPE}
    # An RSA signature costs ~0.3 ms of CPU and OpenSSL releases the GIL while it works: in a
    # thread it runs on another core instead of stalling the event loop.
    headers.update(
        await asyncio.to_thread(
            functools.partial(
                sign_with, scheme, method="POST", url=inbox, headers=headers, body=body,
                key_id=key_id, private_key=private_key,
            )
        )
    )
    result = await fetcher.post(inbox, body, headers)
    return SignedPost(result.status, result.retry_after, scheme)


class LocalPoster:
    """Signs and POSTs on this process's event loop."""

    def __init__(self, fetcher: SafeFetcher) -> None:
        self._fetcher = fetcher

    @property
    def timeout_seconds(self) -> float:
        return KNOCKS * self._fetcher.policy.timeout_seconds

    async def post_signed(
        self, inbox: str, body: bytes, key_id: str, private_key: PrivateKey, first: Scheme
    ) -> SignedPost:
        return await knock(self._fetcher, inbox, body, key_id, private_key, first)

    async def close(self) -> None:
        """Nothing to release: the fetcher's session belongs to its owner."""
