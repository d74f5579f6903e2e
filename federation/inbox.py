"""Inbox verification: the cheapest check first, nothing processed before the signer is known.

Order (each step refuses with one status and one log line, never a 500):
size (413, before the body is read whole) → JSON (400; UTF-8 text with no lone surrogate, see
``federation.strict_json``) → shape: string ``id``, ``type``,
``actor`` (400) → JSON-LD restructuring keywords (400) → blocked domain or actor (403) → signature
present and parseable (401) → keyId on the actor's host (401) → admission, the caller's limit
(429 with Retry-After; the limit logs a flood, not each refusal) → key resolved from its origin,
verified, refetched once on failure (401) → the key's owner is the activity's actor (401). Only
then does the caller dedupe and run a handler (fedify CVE-2025-54888: never process before the
owner check).

The signature is checked against our own public address (``base_url``), never against the
``Host`` header that arrived: a delivery signed for another server does not verify here, and a
reverse proxy that rewrites ``Host`` changes nothing.

A verified activity may still be refused: ids belong to their origin (Mastodon's rule), so the
activity's ``id``, and the id of what a Create, Update or Delete acts on, must be on the signer's
origin. Such an activity is authenticated but not allowed; it comes back with ``refusal`` set,
for the caller to record (without effect) and answer 202.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from federation.addresses import host_of, is_blocked, is_on_origin_of
from federation.keys import PublicKey as CryptoPublicKey
from federation.signature_common import SignatureError
from federation.signatures import signature_key_id, verify_request
from federation.strict_json import BadText, loads

__all__ = [
    "Admission",
    "InboxError",
    "InboxVerifier",
    "KeyResolver",
    "PublicKey",
    "VerifiedActivity",
    "origin_refusal",
    "parse_activity",
    "read_limited",
]

log = logging.getLogger("federation.inbox")

# Restructuring keywords that keep a JSON-LD signature valid while changing the tree an app
# reads (Mastodon UNSUPPORTED_JSONLD_KEYWORDS; CVE-2026-46349, fedify CVE-2026-42462).
_FORBIDDEN_KEYWORDS = ("@graph", "@included", "@reverse")

# The activities whose object must be the signer's own: what one creates, updates or deletes.
_ACTS_ON_OWN_OBJECT = frozenset({"Create", "Update", "Delete"})


class InboxError(Exception):
    """An inbox request refused with an HTTP status and a reason."""

    def __init__(self, status: int, reason: str, *, retry_after: int | None = None):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after  # whole seconds, for a 429


@dataclass(frozen=True, slots=True)
class PublicKey:
    key_id: str
    owner: str
    key: CryptoPublicKey


class KeyResolver(Protocol):
    """Where the inbox gets signers' keys: a cache first, the key's origin second."""

    async def get(self, key_id: str) -> PublicKey:
        """The key, from cache or fetched from its origin; raises on failure."""
        ...

    async def refresh(self, key_id: str) -> PublicKey:
        """The key fetched again from its origin (after a failed verification: rotation)."""
        ...

    async def cached(self, key_id: str) -> PublicKey | None:
        """The key if it is already known, without fetching."""
        ...


class Admission(Protocol):
    """Whether a request goes on to the costly steps (key fetch, signature check); asked once the
    body is parsed and its keyId is known to be on the claimed actor's host."""

    async def admit(self, actor: str, host: str) -> int | None:
        """None to go on; else the whole seconds after which the sender may try again (429)."""
        ...


@dataclass(frozen=True, slots=True)
class VerifiedActivity:
    activity: dict[str, Any]
    body: bytes
    actor: str
    key_id: str
    scheme: str  # "rfc9421" or "draft-cavage": which signature was verified
    # Why the authenticated activity must have no effect (its ids are not its signer's), or None.
    refusal: str | None = None


def _has_forbidden_keyword(value: object) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if any(k in item for k in _FORBIDDEN_KEYWORDS):
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def parse_activity(body: bytes) -> dict[str, Any]:
    """The activity in ``body``: a JSON object with string id, type and actor, else InboxError 400."""
    try:
        activity = loads(body)
    except BadText as error:
        raise InboxError(400, f"body is not JSON text we accept: {error}") from error
    except (ValueError, RecursionError) as error:
        raise InboxError(400, f"body is not JSON: {str(error)[:80]}") from error
    if not isinstance(activity, dict):
        raise InboxError(400, "activity is not a JSON object")
    for field in ("id", "type", "actor"):
        if not isinstance(activity.get(field), str) or not activity[field]:
            raise InboxError(400, f"activity has no string {field!r}")
    if not activity["id"].startswith(("https://", "http://")):
        raise InboxError(400, "activity id is not an http(s) URL")
    # Cheap substring test first: the tree walk only runs when a keyword may be present.
    if any(k.encode() in body for k in _FORBIDDEN_KEYWORDS) and _has_forbidden_keyword(activity):
        raise InboxError(400, "JSON-LD @graph/@included/@reverse are not accepted")
    return activity


def origin_refusal(activity: dict[str, Any]) -> str | None:
    """Why an activity's ids are not its actor's to use, or None when they are.

    The activity's ``id`` must be on the actor's origin; so must the id of the object a Create,
    Update or Delete acts on (each of them, when ``object`` is a list). An embedded object
    without an id claims none. Plain string checks: this runs on every verified activity.
    """
    actor = activity["actor"]
    if not is_on_origin_of(activity["id"], actor):
        return f"activity id {_short(activity['id'])} is not on the origin of its actor {_short(actor)}"
    if activity["type"] not in _ACTS_ON_OWN_OBJECT:
        return None
    objects = activity.get("object")
    for obj in objects if isinstance(objects, list) else [objects]:
        target = obj.get("id") if isinstance(obj, dict) else obj
        if target is None and isinstance(obj, dict):
            continue
        if not isinstance(target, str) or not is_on_origin_of(target, actor):
            return f"object id {_short(target)} is not on the origin of the actor {_short(actor)}"
    return None


def _short(value: object) -> str:
    """A value for a log line: ids come from the sender and may be long."""
    text = str(value)
    return text if len(text) <= 200 else text[:200] + "…"


async def read_limited(request: web.Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it exceeds ``limit`` bytes."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise InboxError(413, f"body of {declared} bytes exceeds {limit}")
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(65536)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise InboxError(413, f"body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class InboxVerifier:
    """Verifies inbox POSTs; knows nothing of what the activities mean."""

    def __init__(
        self,
        *,
        base_url: str,
        max_body_bytes: int,
        blocked_domains: AbstractSet[str],
        keys: KeyResolver,
        blocked_actors: AbstractSet[str] = frozenset(),
        clock: Callable[[], float] = time.time,
        admission: Admission | None = None,
    ):
        # The block sets are consulted on every request: sets changed in place by their owner
        # take effect at once, without a restart.
        self._base = base_url.rstrip("/")
        self._max = max_body_bytes
        self._blocked = blocked_domains
        self._blocked_actors = blocked_actors
        self._keys = keys
        self._clock = clock
        self._admission = admission

    async def verify(self, request: web.Request) -> VerifiedActivity:
        """The verified activity of an inbox POST, or InboxError with its status."""
        body = await read_limited(request, self._max)
        activity = parse_activity(body)
        actor = activity["actor"]
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            key_id = signature_key_id(headers)
        except SignatureError as error:
            raise InboxError(401, f"signature: {error}") from error
        for host in (host_of(actor), host_of(key_id)):
            if is_blocked(host, self._blocked):
                raise InboxError(403, f"domain {host} is blocked")
        if actor in self._blocked_actors:
            raise InboxError(403, f"actor {actor} is blocked")
        if host_of(key_id) != host_of(actor) or not host_of(actor):
            raise InboxError(401, f"key {key_id} is not on the actor's host")
        if self._admission is not None:
            wait = await self._admission.admit(actor, host_of(actor))
            if wait is not None:
                raise InboxError(429, f"too many activities from {host_of(actor)}", retry_after=wait)
        if self._is_self_delete(activity) and not await self._known(key_id):
            # A deleted account's key can no longer be fetched: answer 202 without work rather
            # than 401, which senders retry for days (Mastodon skip_unknown_actor_activity).
            raise InboxError(202, "Delete of an unknown actor: nothing to do")
        url = self._base + request.raw_path
        key = await self._verified_key(key_id, request.method, url, headers, body)
        if key.owner != actor:
            raise InboxError(401, f"key owner {key.owner} is not the actor {actor}")
        scheme = "rfc9421" if "signature-input" in headers else "draft-cavage"
        return VerifiedActivity(activity, body, actor, key_id, scheme, origin_refusal(activity))

    async def _verified_key(
        self, key_id: str, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> PublicKey:
        now = self._clock()
        try:
            key = await self._keys.get(key_id)
        except Exception as error:  # any resolution failure is the sender's: 401, not 500
            raise InboxError(401, f"key {key_id} unavailable: {error}") from error
        try:
            verify_request(method=method, url=url, headers=headers, body=body, public_key=key.key, now=now)
            return key
        except SignatureError as first:
            failure = first
        try:  # the key may have rotated: fetch it once more (the resolver rate-limits this)
            fresh = await self._keys.refresh(key_id)
        except Exception as error:
            raise InboxError(401, f"signature: {failure}; refetch failed: {error}") from error
        try:
            verify_request(method=method, url=url, headers=headers, body=body, public_key=fresh.key, now=now)
        except SignatureError as error:
            raise InboxError(401, f"signature: {error}") from error
        return fresh

    async def _known(self, key_id: str) -> bool:
        return await self._keys.cached(key_id) is not None

    @staticmethod
    def _is_self_delete(activity: dict[str, Any]) -> bool:
        if activity["type"] != "Delete":
            return False
        obj = activity.get("object")
        target = obj.get("id") if isinstance(obj, dict) else obj
        return isinstance(target, str) and target == activity["actor"]
