"""Safe outbound HTTP for federation: fetch ActivityPub and JRD documents, POST deliveries.

Theory of operation. Every URL we request comes from someone else's document, so every request
is an SSRF attempt until proven otherwise (server-side request forgery: a remote document naming
loopback, the cloud metadata service or a private network to make us fetch it):

- Addresses are checked where the socket is made, not where the URL is read: `SafeFetcher` only
  works on a session from `federation.session.create_session`, whose connector reaches only the
  addresses the policy allows, whatever DNS answers in between.
- Redirects are followed by hand: at most `max_redirects`, never to another scheme or from https
  to http, never to a URL already visited, each hop going through the same connector checks.
- One deadline covers a whole call (name resolution, connects, every hop, the body), and the
  body is read in chunks and abandoned as soon as it passes `max_bytes`.
- An ActivityPub document is trusted only for the id it was served from (CVE-2024-23832).
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import aiohttp
from yarl import URL

from federation.session import GuardedConnector, refuse_forbidden_literal

__all__ = [
    "AP_ACCEPT",
    "AS_CONTEXT",
    "ContentTypeError",
    "FetchError",
    "FetchNetworkError",
    "FetchPolicy",
    "FetchTimeoutError",
    "ForbiddenAddressError",
    "ForbiddenRedirectError",
    "HTTPStatusError",
    "IdMismatchError",
    "InvalidDocumentError",
    "InvalidURLError",
    "PostResult",
    "ResponseTooLargeError",
    "SafeFetcher",
    "Signer",
    "TooManyRedirectsError",
    "is_activitypub_content_type",
]

logger = logging.getLogger("federation.fetch")

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
AP_ACCEPT = f'application/activity+json, application/ld+json; profile="{AS_CONTEXT}"'
_JRD_TYPES = frozenset({"application/jrd+json", "application/json"})
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_POST_RESPONSE_LIMIT = 65_536
_READ_CHUNK = 65_536
Signer = Callable[[str, str, dict[str, str], bytes | None], dict[str, str]]


class FetchError(Exception):
    """A remote document or delivery could not be obtained safely."""


class InvalidURLError(FetchError):
    """The URL is not an absolute http(s) URL with a host and without credentials."""


class ForbiddenAddressError(FetchError):
    """The host is, or resolves only to, addresses the policy forbids."""


class ForbiddenRedirectError(FetchError):
    """A redirect left http(s) or went from https to http."""


class TooManyRedirectsError(FetchError):
    """More redirects than the policy allows, or a redirect back to a URL already visited."""


class ContentTypeError(FetchError):
    """The response's Content-Type is not one the caller accepts."""


class ResponseTooLargeError(FetchError):
    """The response body is larger than the policy allows."""


class InvalidDocumentError(FetchError):
    """The body is not a JSON object (malformed, too deeply nested, or another JSON value)."""


class IdMismatchError(FetchError):
    """The document's id is not the URL it was served from."""


class HTTPStatusError(FetchError):
    """The server answered with a status the caller cannot use."""

    def __init__(self, status: int, url: str) -> None:
        super().__init__(f"HTTP {status} from {url}")
        self.status = status


class FetchTimeoutError(FetchError):
    """The request did not complete within the policy's timeout."""


class FetchNetworkError(FetchError):
    """Name resolution, connection, TLS or the transfer failed."""


# Refusals are our policy at work and get one log line each; network failures and statuses are
# ordinary weather that the caller (delivery worker, signature check) reports on its own.
_REFUSALS = (
    InvalidURLError,
    ForbiddenAddressError,
    ForbiddenRedirectError,
    TooManyRedirectsError,
    ContentTypeError,
    ResponseTooLargeError,
    InvalidDocumentError,
    IdMismatchError,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchPolicy:
    """Limits for every outbound request; `allow_private_addresses` only for tests and demos."""

    allow_private_addresses: bool = False
    timeout_seconds: float = 10.0
    max_bytes: int = 1_048_576
    max_redirects: int = 5
    user_agent: str

    def __post_init__(self) -> None:
        if self.timeout_seconds <= 0 or self.max_bytes <= 0 or self.max_redirects < 0:
            raise ValueError("timeout_seconds and max_bytes must be positive, max_redirects >= 0")


@dataclass(frozen=True, slots=True)
class PostResult:
    """What a remote inbox answered: status, raw Retry-After, and at most 64 KiB of body."""

    status: int
    retry_after: str | None
    body: bytes


def is_activitypub_content_type(value: str | None) -> bool:
    """True for application/activity+json, or application/ld+json with the AS2 profile."""
    if not value:
        return False
    media_type, *params = (part.strip() for part in value.split(";"))
    media_type = media_type.lower()
    if media_type == "application/activity+json":
        return True
    if media_type != "application/ld+json":
        return False
    for param in params:
        name, _, raw = param.partition("=")
        # Some servers leave the profile unquoted; JSON-LD allows a space-separated list.
        if name.strip().lower() == "profile" and AS_CONTEXT in raw.strip().strip('"').split():
            return True
    return False


def _is_jrd_content_type(value: str | None) -> bool:
    """True for application/jrd+json or application/json, whatever the parameters."""
    return value is not None and value.split(";", 1)[0].strip().lower() in _JRD_TYPES


def _refuse_constant(name: str) -> NoReturn:
    """Refuse NaN and Infinity, which Python's json accepts but JSON does not."""
    raise ValueError(f"{name} is not JSON")


def _parse_json_object(body: bytes, url: URL) -> dict[str, Any]:
    """Parse a body that must be a JSON object; every failure is an InvalidDocumentError."""
    try:
        document = json.loads(body, parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise InvalidDocumentError(f"{url}: JSON nested too deeply") from exc
    except ValueError as exc:
        raise InvalidDocumentError(f"{url}: not JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise InvalidDocumentError(f"{url}: JSON {type(document).__name__}, not an object")
    return document


async def _read_limited(response: aiohttp.ClientResponse, limit: int, url: URL) -> bytes:
    """Read the body, refusing it as soon as it is known to exceed `limit` bytes."""
    if response.content_length is not None and response.content_length > limit:
        response.close()
        raise ResponseTooLargeError(f"{url}: Content-Length {response.content_length} > {limit}")
    body = bytearray()
    async for chunk in response.content.iter_chunked(_READ_CHUNK):
        body += chunk
        if len(body) > limit:
            # Close the connection instead of draining it: the rest is never read.
            response.close()
            raise ResponseTooLargeError(f"{url}: body larger than {limit} bytes")
    return bytes(body)


class _FetchErrors:
    """Translate what a request raises into FetchError subclasses; log each refusal once."""

    __slots__ = ("_url",)

    def __init__(self, url: str) -> None:
        self._url = url

    def __enter__(self) -> None:
        return None

    def __exit__(self, _type: object, exc: BaseException | None, _tb: object) -> None:
        # Never suppresses: an exception either passes through or is replaced by a FetchError.
        if isinstance(exc, _REFUSALS):
            logger.warning("refused %s: %s", self._url, exc)
        elif isinstance(exc, TimeoutError):
            raise FetchTimeoutError(f"{self._url}: no complete answer in time") from exc
        elif isinstance(exc, aiohttp.InvalidURL):
            raise InvalidURLError(f"{self._url}: {exc}") from exc
        elif isinstance(exc, aiohttp.ClientError | OSError):
            raise FetchNetworkError(f"{self._url}: {type(exc).__name__}: {exc}") from exc


class SafeFetcher:
    """GETs documents and POSTs deliveries under one FetchPolicy, through a guarded session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        policy: FetchPolicy,
        sign_get: Signer | None = None,
    ) -> None:
        if not isinstance(session.connector, GuardedConnector):
            raise TypeError("SafeFetcher needs a session made by create_session()")
        self._session = session
        self._is_allowed = session.connector.is_allowed
        self._sign_get = sign_get
        self.policy = policy

    def check_url(self, url: str) -> URL:
        """Parse an absolute http(s) URL and refuse it if its host is a forbidden IP literal."""
        try:
            parsed = URL(url)
        except (TypeError, ValueError) as exc:
            raise InvalidURLError(f"unparsable URL {url!r}") from exc
        if parsed.scheme not in ("http", "https") or not parsed.raw_host:
            raise InvalidURLError(f"{url!r} is not an absolute http(s) URL")
        if parsed.raw_user is not None or parsed.raw_password is not None:
            raise InvalidURLError(f"{url!r} carries credentials")
        refuse_forbidden_literal(parsed.raw_host, self._is_allowed)
        return parsed

    async def fetch_object(self, url: str) -> dict[str, Any]:
        """GET an ActivityPub document that is trusted only for the id it was served from."""
        with _FetchErrors(url):
            async with asyncio.timeout(self.policy.timeout_seconds):
                return await self._fetch_object(url)

    async def fetch_json(self, url: str, *, accept: str) -> dict[str, Any]:
        """GET a JRD/JSON object (WebFinger, NodeInfo) under the same limits, without id check."""
        with _FetchErrors(url):
            async with asyncio.timeout(self.policy.timeout_seconds):
                _, document = await self._get_document(self.check_url(url), accept, jrd=True)
                return document

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> PostResult:
        """POST a delivery without following redirects; statuses are returned, not raised."""
        with _FetchErrors(url):
            target = self.check_url(url)
            async with (
                asyncio.timeout(self.policy.timeout_seconds),
                self._session.post(target, data=body, headers=headers, allow_redirects=False) as response,
            ):
                answer = bytearray()
                while len(answer) < _POST_RESPONSE_LIMIT:
                    chunk = await response.content.read(_POST_RESPONSE_LIMIT - len(answer))
                    if not chunk:
                        break
                    answer += chunk
                return PostResult(response.status, response.headers.get("Retry-After"), bytes(answer))

    async def _fetch_object(self, url: str) -> dict[str, Any]:
        requested = self.check_url(url).with_fragment(None)
        final, document = await self._get_document(requested, AP_ACCEPT, jrd=False)
        claimed = document.get("id")
        if not isinstance(claimed, str):
            raise IdMismatchError(f"{final}: document has no string id")
        if _same_url(claimed, final):
            return document
        # CVE-2024-23832: the body proves nothing about the id it claims. Fetch that id from its
        # own origin, once, and keep only a document that is served exactly where it says it is.
        origin_url = self.check_url(claimed)
        final, document = await self._get_document(origin_url, AP_ACCEPT, jrd=False)
        if final != origin_url or not _same_url(document.get("id"), final):
            raise IdMismatchError(f"{requested} claims id {claimed}, which does not confirm it")
        return document

    async def _get_document(self, url: URL, accept: str, *, jrd: bool) -> tuple[URL, dict[str, Any]]:
        """Follow redirects by hand and return the final URL with its parsed JSON object."""
        visited = {url}
        for _ in range(self.policy.max_redirects + 1):
            headers = {"Accept": accept}
            if self._sign_get is not None:
                headers.update(self._sign_get("GET", str(url), dict(headers), None))
            async with self._session.get(url, headers=headers, allow_redirects=False) as response:
                if response.status in _REDIRECT_STATUSES:
                    location = response.headers.get("Location")
                    if not location:
                        raise HTTPStatusError(response.status, f"{url} (no Location)")
                    url = self._redirect_target(url, location, visited)
                    continue
                if not 200 <= response.status < 300:
                    raise HTTPStatusError(response.status, str(url))
                content_type = response.headers.get("Content-Type")
                accepted = (
                    _is_jrd_content_type(content_type) if jrd else is_activitypub_content_type(content_type)
                )
                if not accepted:
                    raise ContentTypeError(f"{url}: Content-Type {content_type!r} refused")
                body = await _read_limited(response, self.policy.max_bytes, url)
            return url, _parse_json_object(body, url)
        raise TooManyRedirectsError(f"more than {self.policy.max_redirects} redirects")

    def _redirect_target(self, current: URL, location: str, visited: set[URL]) -> URL:
        """The next hop of a redirect, refused if it changes scheme badly or revisits a URL."""
        try:
            target = current.join(URL(location)).with_fragment(None)
        except (TypeError, ValueError) as exc:
            raise InvalidURLError(f"{current}: unparsable redirect {location!r}") from exc
        if target.scheme not in ("http", "https") or (current.scheme == "https" and target.scheme == "http"):
            raise ForbiddenRedirectError(f"{current} redirects to {target}")
        if target in visited:
            raise TooManyRedirectsError(f"redirect loop back to {target}")
        visited.add(target)
        return self.check_url(str(target))


def _same_url(claimed: object, url: URL) -> bool:
    """True when a document's claimed id is the URL (both compared in yarl's normal form)."""
    if not isinstance(claimed, str):
        return False
    try:
        return URL(claimed) == url
    except (TypeError, ValueError):
        return False
