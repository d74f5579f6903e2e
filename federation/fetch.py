"""Safe outbound HTTP for federation: fetch ActivityPub and JRD documents, POST deliveries.

Theory of operation. Every URL we request comes from someone else's document, so every request
is an SSRF attempt until proven otherwise (SECURITY F2-F7, G3, cases 35-41):

- Addresses are checked where the socket is made, not where the URL is read. The session from
  `create_session` has a `GuardedConnector` whose resolver drops every resolved address the
  policy forbids, so the connection goes to an address that was checked, and a DNS answer that
  changes between a check and a connect (rebinding) cannot slip through. aiohttp never asks the
  resolver about literal IP hosts, so the connector checks those itself before connecting.
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
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.client_reqrep import ClientRequest
from aiohttp.connector import Connection
from aiohttp.tracing import Trace
from yarl import URL

from federation.addresses import is_public_address, normalize_host

logger = logging.getLogger("federation.fetch")

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
AP_ACCEPT = f'application/activity+json, application/ld+json; profile="{AS_CONTEXT}"'
_JRD_TYPES = frozenset({"application/jrd+json", "application/json"})
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_POST_RESPONSE_LIMIT = 65_536
_READ_CHUNK = 65_536
# Deliveries fan out to ~1,000 hosts; a few parallel connections per host is plenty and keeps
# one slow host from taking the whole pool.
_LIMIT_PER_HOST = 8
_DNS_CACHE_SECONDS = 300

AddressPredicate = Callable[[IPv4Address | IPv6Address], bool]
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


def _permits(is_allowed: AddressPredicate, host: str) -> bool:
    """Apply the predicate to a textual address; anything unparsable is refused."""
    try:
        return is_allowed(ip_address(host))
    except ValueError:
        return False


def _refuse_forbidden_literal(host: str, is_allowed: AddressPredicate) -> None:
    """Raise ForbiddenAddressError if the host is an IP literal the predicate refuses."""
    try:
        address = ip_address(host)
    except ValueError:
        # aiohttp treats any host containing ":" as an address and connects without resolving.
        if ":" in host:
            raise ForbiddenAddressError(f"{host!r} is not a valid address") from None
        return
    if not is_allowed(address):
        raise ForbiddenAddressError(f"{address} is a forbidden address")


class _FilteringResolver(AbstractResolver):
    """Wraps aiohttp's default resolver and keeps only the addresses the predicate allows."""

    def __init__(self, is_allowed: AddressPredicate) -> None:
        self._inner = aiohttp.DefaultResolver()
        self._is_allowed = is_allowed

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve with the default resolver; ForbiddenAddressError if no address is allowed."""
        name = normalize_host(host)
        if name == "invalid" or name.endswith(".invalid"):
            # RFC 6761 6.4: answer "no such name" at once instead of waiting on a DNS server.
            raise socket.gaierror(socket.EAI_NONAME, f"{host} is under .invalid")
        results = await self._inner.resolve(host, port, family)
        allowed = [r for r in results if _permits(self._is_allowed, r["host"])]
        if not allowed:
            addresses = ", ".join(sorted({r["host"] for r in results}))
            raise ForbiddenAddressError(f"{host} resolves only to forbidden addresses: {addresses}")
        return allowed

    async def close(self) -> None:
        """Close the wrapped resolver."""
        await self._inner.close()


class GuardedConnector(aiohttp.TCPConnector):
    """A TCP connector that connects only to addresses `is_allowed` accepts."""

    def __init__(self, is_allowed: AddressPredicate, **kwargs: Any) -> None:
        super().__init__(resolver=_FilteringResolver(is_allowed), **kwargs)
        self.is_allowed = is_allowed

    async def connect(
        self, req: ClientRequest, traces: list[Trace], timeout: aiohttp.ClientTimeout
    ) -> Connection:
        """Refuse literal IP hosts the predicate forbids; names are checked by the resolver."""
        _refuse_forbidden_literal(req.url.raw_host or "", self.is_allowed)
        return await super().connect(req, traces, timeout)


def _allow_any(_ip: IPv4Address | IPv6Address) -> bool:
    """The predicate of `allow_private_addresses`: every address may be reached."""
    return True


def create_session(
    policy: FetchPolicy,
    *,
    is_allowed: AddressPredicate | None = None,
    limit: int = 256,
    ssl_context: ssl.SSLContext | None = None,
) -> aiohttp.ClientSession:
    """A session whose every connection goes only to addresses the policy (or `is_allowed`) allows.

    `ssl_context` replaces the system trust store, e.g. with a test CA.
    Call from a running event loop; the caller closes the session.
    """
    if is_allowed is None:
        is_allowed = _allow_any if policy.allow_private_addresses else is_public_address
    connector = GuardedConnector(
        is_allowed,
        limit=limit,
        limit_per_host=_LIMIT_PER_HOST,
        use_dns_cache=True,
        ttl_dns_cache=_DNS_CACHE_SECONDS,
        ssl=True if ssl_context is None else ssl_context,
    )
    return aiohttp.ClientSession(
        connector=connector,
        # A backstop for anyone using the session directly; SafeFetcher sets its own deadline.
        timeout=aiohttp.ClientTimeout(total=policy.timeout_seconds),
        headers={"User-Agent": policy.user_agent},
        # Cookies would carry state from one remote server's answers into the next request.
        cookie_jar=aiohttp.DummyCookieJar(),
        # An environment proxy would make the connection to the proxy, not to the checked host.
        trust_env=False,
    )


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
    return bool(value) and value.split(";", 1)[0].strip().lower() in _JRD_TYPES


def _refuse_constant(name: str) -> Any:
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
        _refuse_forbidden_literal(parsed.raw_host, self._is_allowed)
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
