"""The guarded HTTP client session: every connection goes only to an address the policy allows.

Addresses are checked where the socket is made, not where the URL is read. The session from
`create_session` has a `GuardedConnector` whose resolver drops every resolved address the
policy forbids, so the connection goes to an address that was checked, and a DNS answer that
changes between a check and a connect (rebinding) cannot slip through. aiohttp never asks the
resolver about literal IP hosts, so the connector checks those itself before connecting.
`federation.fetch.SafeFetcher` builds redirects, deadlines and size limits on top.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.client_reqrep import ClientRequest
from aiohttp.connector import Connection
from aiohttp.tracing import Trace

from federation.addresses import is_public_address, normalize_host

if TYPE_CHECKING:
    from federation.fetch import FetchPolicy

# Deliveries fan out to ~1,000 hosts; a few parallel connections per host is plenty and keeps
# one slow host from taking the whole pool.
_LIMIT_PER_HOST = 8
_DNS_CACHE_SECONDS = 300

AddressPredicate = Callable[[IPv4Address | IPv6Address], bool]


def refuse_forbidden_literal(host: str, is_allowed: AddressPredicate) -> None:
    """Raise ForbiddenAddressError if the host is an IP literal the predicate refuses."""
    try:
        address = ip_address(host)
    except ValueError:
        # aiohttp treats any host containing ":" as an address and connects without resolving.
        if ":" in host:
            raise _forbidden(f"{host!r} is not a valid address") from None
        return
    if not is_allowed(address):
        raise _forbidden(f"{address} is a forbidden address")


class GuardedConnector(aiohttp.TCPConnector):
    """A TCP connector that connects only to addresses `is_allowed` accepts."""

    def __init__(self, is_allowed: AddressPredicate, **kwargs: Any) -> None:
        super().__init__(resolver=_FilteringResolver(is_allowed), **kwargs)
        self.is_allowed = is_allowed

    async def connect(
        self, req: ClientRequest, traces: list[Trace], timeout: aiohttp.ClientTimeout
    ) -> Connection:
        """Refuse literal IP hosts the predicate forbids; names are checked by the resolver."""
        refuse_forbidden_literal(req.url.raw_host or "", self.is_allowed)
        return await super().connect(req, traces, timeout)


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
            raise _forbidden(f"{host} resolves only to forbidden addresses: {addresses}")
        return allowed

    async def close(self) -> None:
        """Close the wrapped resolver."""
        await self._inner.close()


def _permits(is_allowed: AddressPredicate, host: str) -> bool:
    """Apply the predicate to a textual address; anything unparsable is refused."""
    try:
        return is_allowed(ip_address(host))
    except ValueError:
        return False


def _allow_any(_ip: IPv4Address | IPv6Address) -> bool:
    """The predicate of `allow_private_addresses`: every address may be reached."""
    return True


def _forbidden(message: str) -> Exception:
    """A ForbiddenAddressError: a FetchError, like every refusal of SafeFetcher's."""
    # federation.fetch owns the error classes and imports this module at load time (it
    # re-exports create_session), so the class is looked up here, when a refusal happens.
    from federation.fetch import ForbiddenAddressError

    return ForbiddenAddressError(message)
