"""Real loopback servers for federation and security tests: aiohttp apps, tripwire listeners,
guarded fetchers, a test TLS CA. A conftest imports the fixtures it wants from here.

Nothing here fakes our own code. Servers are `aiohttp.web` apps on port 0 of a loopback address;
a tripwire is a bare listener that only counts the TCP connections it accepts, so a test can
prove that a refused request never reached the network.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from federation.fetch import FetchPolicy, SafeFetcher, Signer
from federation.session import create_session

AP_TYPE = "application/activity+json"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _ap_response(document: Any, content_type: str = AP_TYPE, status: int = 200) -> web.Response:
    """A JSON response with an exact Content-Type header (parameters included)."""
    return web.Response(
        status=status, body=json.dumps(document).encode(), headers={"Content-Type": content_type}
    )


@pytest.fixture
def ap_response() -> Callable[..., web.Response]:
    """`ap_response(document, content_type=..., status=...)`: a JSON answer for handlers."""
    return _ap_response


def url_for(host: str, port: int, path: str = "/", scheme: str = "http") -> str:
    """An absolute URL for a loopback listener, bracketing IPv6 hosts."""
    netloc = f"[{host}]" if ":" in host else host
    return f"{scheme}://{netloc}:{port}{path}"


@dataclass
class Loopback:
    """A running test server and the paths it was asked for."""

    host: str
    port: int = 0
    scheme: str = "http"
    requests: list[web.Request] = field(default_factory=list)

    def url(self, path: str = "/") -> str:
        """An absolute URL on this server."""
        return url_for(self.host, self.port, path, self.scheme)

    @property
    def paths(self) -> list[str]:
        """The path and query of every request received, in order."""
        return [request.path_qs for request in self.requests]


@dataclass
class Tripwire:
    """A listener that accepts and immediately closes connections, counting them."""

    host: str
    port: int = 0
    connections: int = 0

    def url(self, path: str = "/") -> str:
        """An absolute http URL on this listener."""
        return url_for(self.host, self.port, path)


def _bound_socket(host: str) -> socket.socket:
    """A TCP socket bound to port 0 of `host`, so the port is known before serving."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[Loopback]]]:
    """Start aiohttp apps on loopback: `await serve({"/path": handler}, host=..., tls=...)`."""
    runners: list[web.AppRunner] = []

    async def start(
        routes: dict[str, Handler],
        *,
        host: str = "127.0.0.1",
        tls: ssl.SSLContext | None = None,
    ) -> Loopback:
        server = Loopback(host, scheme="https" if tls else "http")

        @web.middleware
        async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
            server.requests.append(request)
            return await handler(request)

        app = web.Application(middlewares=[record])
        for path, handler in routes.items():
            app.router.add_route("*", path, handler)
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.1)
        await runner.setup()
        runners.append(runner)
        sock = _bound_socket(host)
        server.port = sock.getsockname()[1]
        await web.SockSite(runner, sock, ssl_context=tls).start()
        return server

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def tripwire() -> AsyncIterator[Callable[..., Awaitable[Tripwire]]]:
    """Start counting listeners: `await tripwire(host="::1")`."""
    servers: list[asyncio.Server] = []

    async def start(host: str = "127.0.0.1") -> Tripwire:
        wire = Tripwire(host)

        async def on_connection(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            wire.connections += 1
            writer.close()

        server = await asyncio.start_server(on_connection, sock=_bound_socket(host))
        wire.port = server.sockets[0].getsockname()[1]
        servers.append(server)
        return wire

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def make_fetcher() -> AsyncIterator[Callable[..., SafeFetcher]]:
    """Build SafeFetchers with short test timeouts; sessions are closed after the test."""
    sessions = []

    def make(
        *,
        allow_private: bool = True,
        is_allowed: Callable[[Any], bool] | None = None,
        timeout: float = 2.0,
        max_bytes: int = 1_048_576,
        max_redirects: int = 5,
        sign_get: Signer | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> SafeFetcher:
        policy = FetchPolicy(
            allow_private_addresses=allow_private,
            timeout_seconds=timeout,
            max_bytes=max_bytes,
            max_redirects=max_redirects,
            user_agent="fedassembly-tests/1.0",
        )
        session = create_session(policy, is_allowed=is_allowed, ssl_context=ssl_context)
        sessions.append(session)
        return SafeFetcher(session, policy, sign_get)

    yield make
    for session in sessions:
        await session.close()


@dataclass(frozen=True)
class TLSPair:
    """A server context for 127.0.0.1 and a client context that trusts only its certificate."""

    server: ssl.SSLContext
    client: ssl.SSLContext


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TLSPair]:
    """A self-signed certificate for 127.0.0.1, generated once per test session."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fedassembly test")])
    now = datetime.datetime.now(datetime.UTC)
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory: Path = tmp_path_factory.mktemp("tls")
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_path, key_path)
    client = ssl.create_default_context(cafile=str(cert_path))
    yield TLSPair(server, client)
