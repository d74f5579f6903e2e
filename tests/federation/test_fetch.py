"""SafeFetcher against real loopback servers: every refusal, the id rule, limits and POST."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from federation.fetch import (
    AP_ACCEPT,
    ContentTypeError,
    FetchNetworkError,
    FetchPolicy,
    FetchTimeoutError,
    ForbiddenAddressError,
    ForbiddenRedirectError,
    HTTPStatusError,
    IdMismatchError,
    InvalidDocumentError,
    InvalidURLError,
    PostResult,
    ResponseTooLargeError,
    SafeFetcher,
    TooManyRedirectsError,
    is_activitypub_content_type,
)

AP = "application/activity+json"
LD_AS = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
JRD_ACCEPT = "application/jrd+json, application/json"


def only_127_0_0_2(ip: Any) -> bool:
    """An is_allowed predicate: 127.0.0.2 plays a public host, everything else is refused."""
    return ip == ipaddress.ip_address("127.0.0.2")


async def self_describing(serve, ap_response, content_type: str = AP, **extra: Any):
    """A server whose /doc answers a document whose id is its own URL."""

    async def doc(request: web.Request) -> web.Response:
        return ap_response({"id": str(request.url), "type": "Note", **extra}, content_type)

    return await serve({"/doc": doc})


# --- content types (pure) -------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "application/activity+json",
        "application/activity+json; charset=utf-8",
        "Application/Activity+JSON",
        LD_AS,
        "application/ld+json; profile=https://www.w3.org/ns/activitystreams",
        'application/ld+json;profile="https://www.w3.org/ns/activitystreams https://x.example/p"',
        'application/ld+json; charset=utf-8; profile="https://www.w3.org/ns/activitystreams"',
    ],
)
def test_activitypub_content_types_are_accepted(value: str) -> None:
    assert is_activitypub_content_type(value)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "application/json",
        "text/plain",
        "text/html; charset=utf-8",
        "application/ld+json",
        'application/ld+json; profile="https://example.com/other"',
        'application/json; profile="https://www.w3.org/ns/activitystreams"',
    ],
)
def test_other_content_types_are_refused(value: str | None) -> None:
    assert not is_activitypub_content_type(value)


# --- the happy path --------------------------------------------------------------------------


async def test_fetch_object_from_loopback_when_private_addresses_allowed(
    serve, ap_response, make_fetcher
) -> None:
    server = await self_describing(serve, ap_response, content="hello")
    document = await make_fetcher().fetch_object(server.url("/doc"))
    assert document["content"] == "hello"
    request = server.requests[0]
    assert request.headers["Accept"] == AP_ACCEPT
    assert request.headers["User-Agent"] == "fedassembly-tests/1.0"


async def test_ld_json_with_activitystreams_profile_is_accepted(serve, ap_response, make_fetcher) -> None:
    server = await self_describing(serve, ap_response, LD_AS)
    assert (await make_fetcher().fetch_object(server.url("/doc")))["type"] == "Note"


async def test_host_name_resolution_path_works_when_allowed(serve, ap_response, make_fetcher) -> None:
    server = await self_describing(serve, ap_response)
    url = f"http://localhost:{server.port}/doc"
    assert (await make_fetcher().fetch_object(url))["id"] == url


async def test_fragment_of_the_requested_url_is_ignored(serve, ap_response, make_fetcher) -> None:
    server = await self_describing(serve, ap_response)
    document = await make_fetcher().fetch_object(server.url("/doc#main-key"))
    assert document["id"] == server.url("/doc")


async def test_sign_get_signs_every_hop_for_its_own_url(serve, ap_response, make_fetcher) -> None:
    signed: list[tuple[str, str, bytes | None]] = []

    def sign_get(method: str, url: str, headers: dict[str, str], body: bytes | None):
        assert headers["Accept"] == AP_ACCEPT
        signed.append((method, url, body))
        return {"Signature": f"test {url}"}

    async def start(_request: web.Request) -> web.Response:
        raise web.HTTPFound("/doc")

    async def doc(request: web.Request) -> web.Response:
        return ap_response({"id": str(request.url), "signature": request.headers["Signature"]})

    server = await serve({"/start": start, "/doc": doc})
    document = await make_fetcher(sign_get=sign_get).fetch_object(server.url("/start"))
    assert signed == [("GET", server.url("/start"), None), ("GET", server.url("/doc"), None)]
    assert document["signature"] == f"test {server.url('/doc')}"


async def test_https_with_trusted_certificate(serve, ap_response, make_fetcher, tls) -> None:
    async def doc(request: web.Request) -> web.Response:
        return ap_response({"id": str(request.url)})

    server = await serve({"/doc": doc}, tls=tls.server)
    fetcher = make_fetcher(ssl_context=tls.client)
    assert (await fetcher.fetch_object(server.url("/doc")))["id"] == server.url("/doc")


async def test_https_with_untrusted_certificate_fails(serve, ap_response, make_fetcher, tls) -> None:
    async def doc(request: web.Request) -> web.Response:
        return ap_response({"id": str(request.url)})

    server = await serve({"/doc": doc}, tls=tls.server)
    with pytest.raises(FetchNetworkError):
        await make_fetcher().fetch_object(server.url("/doc"))


def test_safe_fetcher_refuses_an_unguarded_session() -> None:
    policy = FetchPolicy(user_agent="t")

    async def build() -> None:
        async with aiohttp.ClientSession() as session:
            SafeFetcher(session, policy)

    with pytest.raises(TypeError):
        asyncio.run(build())


# --- URLs and addresses refused before any connection ---------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/_GET",
        "data:application/activity+json,{}",
        "ftp://example.com/x",
        "/relative/path",
        "https://user:secret@example.com/x",
    ],
)
async def test_non_http_urls_are_refused(make_fetcher, url: str) -> None:
    with pytest.raises(InvalidURLError):
        await make_fetcher(allow_private=False).fetch_object(url)


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0", "::1", "::"])
async def test_literal_local_address_is_refused_without_connecting(tripwire, make_fetcher, host: str) -> None:
    wire = await tripwire(host)
    with pytest.raises(ForbiddenAddressError):
        await make_fetcher(allow_private=False).fetch_object(wire.url("/actor"))
    assert wire.connections == 0


async def test_tripwire_does_count_connections_that_are_made(tripwire, make_fetcher) -> None:
    # The control for the test above: the same listener, reached when private is allowed.
    wire = await tripwire("127.0.0.1")
    with pytest.raises(FetchNetworkError):
        await make_fetcher(allow_private=True).fetch_object(wire.url("/actor"))
    # aiohttp retries an idempotent request once when the server drops it, hence >= 1.
    assert wire.connections >= 1


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/x",
        "http://192.168.1.1/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://[64:ff9b::7f00:1]/x",
        "http://[2002:7f00:1::1]/x",
        "http://[2001::1]/x",
        "http://[fe80::1]/x",
        "http://[fd00::1]/x",
    ],
)
async def test_literal_private_addresses_are_refused(make_fetcher, url: str) -> None:
    started = time.monotonic()
    with pytest.raises(ForbiddenAddressError):
        await make_fetcher(allow_private=False).fetch_object(url)
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize("name", ["localhost", "0x7f.1"])
async def test_name_resolving_to_loopback_is_refused_after_resolution(
    tripwire, make_fetcher, name: str
) -> None:
    wire = await tripwire("127.0.0.1")
    with pytest.raises(ForbiddenAddressError):
        await make_fetcher(allow_private=False).fetch_object(f"http://{name}:{wire.port}/")
    assert wire.connections == 0


@pytest.mark.parametrize("host", ["2130706433", "127.1", "017700000001"])
async def test_legacy_numeric_ipv4_forms_are_refused(tripwire, make_fetcher, host: str) -> None:
    wire = await tripwire("127.0.0.1")
    with pytest.raises((InvalidURLError, ForbiddenAddressError)):
        await make_fetcher(allow_private=False).fetch_object(f"http://{host}:{wire.port}/")
    assert wire.connections == 0


async def test_is_allowed_overrides_the_policy(serve, ap_response, tripwire, make_fetcher) -> None:
    allowed = await self_describing(serve, ap_response)
    allowed_two = await serve({}, host="127.0.0.2")
    wire = await tripwire("127.0.0.1")
    fetcher = make_fetcher(allow_private=True, is_allowed=only_127_0_0_2)
    with pytest.raises(ForbiddenAddressError):
        await fetcher.fetch_object(allowed.url("/doc"))
    with pytest.raises(ForbiddenAddressError):
        await fetcher.fetch_object(wire.url("/"))
    with pytest.raises(HTTPStatusError):
        await fetcher.fetch_object(allowed_two.url("/missing"))
    assert wire.connections == 0
    assert allowed.requests == []


async def test_refusal_is_logged_once(make_fetcher, caplog: pytest.LogCaptureFixture) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="federation.fetch"),
        pytest.raises(ForbiddenAddressError),
    ):
        await make_fetcher(allow_private=False).fetch_object("http://10.0.0.1/x")
    records = [r for r in caplog.records if r.name == "federation.fetch"]
    assert len(records) == 1
    assert "10.0.0.1" in records[0].getMessage()


# --- redirects -------------------------------------------------------------------------------


# A redirect to a forbidden address: tests/security/test_fetching_cases.py (attack case 36).


async def test_redirect_loop_is_refused(serve, make_fetcher) -> None:
    async def a(_request: web.Request) -> web.Response:
        raise web.HTTPFound("/b")

    async def b(_request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("/a")

    server = await serve({"/a": a, "/b": b})
    with pytest.raises(TooManyRedirectsError):
        await make_fetcher().fetch_object(server.url("/a"))
    assert server.paths == ["/a", "/b"]


def chain(hops: int):
    """Handlers for /0 → /1 → … → /hops, where /hops serves the document."""

    async def hop(request: web.Request) -> web.Response:
        index = int(request.match_info["n"])
        if index < hops:
            raise web.HTTPTemporaryRedirect(f"/{index + 1}")
        return web.Response(text=f'{{"id": "{request.url}"}}', headers={"Content-Type": AP})

    return {"/{n}": hop}


async def test_five_redirects_are_followed(serve, make_fetcher) -> None:
    server = await serve(chain(5))
    document = await make_fetcher(max_redirects=5).fetch_object(server.url("/0"))
    assert document["id"] == server.url("/5")


async def test_six_redirects_are_too_many(serve, make_fetcher) -> None:
    server = await serve(chain(6))
    with pytest.raises(TooManyRedirectsError):
        await make_fetcher(max_redirects=5).fetch_object(server.url("/0"))
    assert "/6" not in server.paths


async def test_redirect_from_https_to_http_is_refused(serve, ap_response, make_fetcher, tls) -> None:
    plain = await self_describing(serve, ap_response)

    async def downgrade(_request: web.Request) -> web.Response:
        raise web.HTTPFound(plain.url("/doc"))

    secure = await serve({"/start": downgrade}, tls=tls.server)
    with pytest.raises(ForbiddenRedirectError):
        await make_fetcher(ssl_context=tls.client).fetch_object(secure.url("/start"))
    assert plain.requests == []


@pytest.mark.parametrize("location", ["file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO"])
async def test_redirect_to_another_scheme_is_refused(serve, make_fetcher, location: str) -> None:
    async def escape(_request: web.Request) -> web.Response:
        raise web.HTTPFound(location)

    server = await serve({"/start": escape})
    with pytest.raises(ForbiddenRedirectError):
        await make_fetcher().fetch_object(server.url("/start"))


# --- status, content type, body --------------------------------------------------------------


@pytest.mark.parametrize("status", [404, 410, 500])
async def test_error_status_raises_http_status_error(serve, ap_response, make_fetcher, status: int) -> None:
    async def gone(_request: web.Request) -> web.Response:
        return ap_response({"error": "no"}, status=status)

    server = await serve({"/doc": gone})
    with pytest.raises(HTTPStatusError) as caught:
        await make_fetcher().fetch_object(server.url("/doc"))
    assert caught.value.status == status


@pytest.mark.parametrize(
    "content_type", ["application/json", "text/plain", "text/html", "application/ld+json"]
)
async def test_fetch_object_refuses_non_activitypub_content_types(
    serve, ap_response, make_fetcher, content_type: str
) -> None:
    server = await self_describing(serve, ap_response, content_type)
    with pytest.raises(ContentTypeError):
        await make_fetcher().fetch_object(server.url("/doc"))


async def test_declared_oversize_body_is_refused_before_reading(serve, make_fetcher) -> None:
    async def big(_request: web.Request) -> web.Response:
        return web.Response(body=b" " * 2_000_000, headers={"Content-Type": AP})

    server = await serve({"/doc": big})
    with pytest.raises(ResponseTooLargeError):
        await make_fetcher().fetch_object(server.url("/doc"))


async def test_streamed_oversize_body_is_aborted_at_the_limit(serve, make_fetcher) -> None:
    finished = asyncio.Event()

    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": AP})
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b"[" + b" " * 1_100_000)
        # The second megabyte would come only much later: the fetch must not wait for it.
        await asyncio.sleep(30)
        await response.write(b" " * 1_000_000 + b"]")
        finished.set()
        return response

    server = await serve({"/doc": stream})
    started = time.monotonic()
    with pytest.raises(ResponseTooLargeError):
        await make_fetcher(timeout=5.0).fetch_object(server.url("/doc"))
    assert time.monotonic() - started < 2.0
    assert not finished.is_set()


async def test_slow_trickle_is_stopped_by_the_timeout(serve, make_fetcher) -> None:
    async def trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": AP})
        await response.prepare(request)
        await response.write(b'{"id": "')
        for _ in range(200):
            await response.write(b"x")
            await asyncio.sleep(0.05)
        return response

    server = await serve({"/doc": trickle})
    started = time.monotonic()
    with pytest.raises(FetchTimeoutError):
        await make_fetcher(timeout=0.5).fetch_object(server.url("/doc"))
    assert 0.4 < time.monotonic() - started < 1.5


async def test_host_under_invalid_fails_fast_within_the_timeout(make_fetcher) -> None:
    started = time.monotonic()
    with pytest.raises(FetchNetworkError):
        await make_fetcher(allow_private=False, timeout=1.0).fetch_object("https://nothing.invalid/actor")
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        b"[1, 2, 3]",
        b'"just a string"',
        b"{not json",
        b'{"id": NaN}',
        b"\xff\xfe\x00garbage",
    ],
)
async def test_body_that_is_not_a_json_object_is_refused(serve, make_fetcher, body: bytes) -> None:
    async def doc(_request: web.Request) -> web.Response:
        return web.Response(body=body, headers={"Content-Type": AP})

    server = await serve({"/doc": doc})
    with pytest.raises(InvalidDocumentError):
        await make_fetcher().fetch_object(server.url("/doc"))


# --- the id rule (CVE-2024-23832) ------------------------------------------------------------


async def test_document_claiming_another_origin_is_refetched_from_it(
    serve, ap_response, make_fetcher
) -> None:
    origin = await self_describing(serve, ap_response, content="the real one")

    async def forged(_request: web.Request) -> web.Response:
        return ap_response({"id": origin.url("/doc"), "content": "forged"})

    attacker = await serve({"/doc": forged}, host="127.0.0.2")
    document = await make_fetcher().fetch_object(attacker.url("/doc"))
    assert document == {"id": origin.url("/doc"), "type": "Note", "content": "the real one"}
    assert origin.paths == ["/doc"]


async def test_refetched_document_that_mismatches_again_is_refused(serve, ap_response, make_fetcher) -> None:
    async def elsewhere(request: web.Request) -> web.Response:
        return ap_response({"id": f"http://127.0.0.2:{request.url.port}/third"})

    origin = await serve({"/doc": elsewhere})

    async def forged(_request: web.Request) -> web.Response:
        return ap_response({"id": origin.url("/doc")})

    attacker = await serve({"/doc": forged}, host="127.0.0.2")
    with pytest.raises(IdMismatchError):
        await make_fetcher().fetch_object(attacker.url("/doc"))
    assert origin.paths == ["/doc"]


async def test_refetch_that_redirects_is_refused(serve, ap_response, make_fetcher) -> None:
    async def moved(_request: web.Request) -> web.Response:
        raise web.HTTPFound("/doc2")

    async def doc2(request: web.Request) -> web.Response:
        return ap_response({"id": str(request.url)})

    origin = await serve({"/doc": moved, "/doc2": doc2})

    async def forged(_request: web.Request) -> web.Response:
        return ap_response({"id": origin.url("/doc")})

    attacker = await serve({"/doc": forged}, host="127.0.0.2")
    with pytest.raises(IdMismatchError):
        await make_fetcher().fetch_object(attacker.url("/doc"))


async def test_same_origin_alias_is_refetched_from_its_id(serve, ap_response, make_fetcher) -> None:
    # GoToSocial serves /users/x/main-key as a stub of the actor, whose id is /users/x.
    async def stub(request: web.Request) -> web.Response:
        return ap_response({"id": str(request.url.with_path("/users/x")), "stub": True})

    async def actor(request: web.Request) -> web.Response:
        return ap_response({"id": str(request.url), "type": "Person"})

    server = await serve({"/users/x/main-key": stub, "/users/x": actor})
    document = await make_fetcher().fetch_object(server.url("/users/x/main-key"))
    assert document == {"id": server.url("/users/x"), "type": "Person"}


@pytest.mark.parametrize("document", [{"type": "Note"}, {"id": 7}, {"id": None}])
async def test_document_without_string_id_is_refused(
    serve, ap_response, make_fetcher, document: dict
) -> None:
    async def doc(_request: web.Request) -> web.Response:
        return ap_response(document)

    server = await serve({"/doc": doc})
    with pytest.raises(IdMismatchError):
        await make_fetcher().fetch_object(server.url("/doc"))


async def test_document_whose_id_is_a_forbidden_address_is_not_refetched(
    serve, ap_response, tripwire, make_fetcher
) -> None:
    wire = await tripwire("127.0.0.1")

    async def forged(_request: web.Request) -> web.Response:
        return ap_response({"id": wire.url("/admin")})

    attacker = await serve({"/doc": forged}, host="127.0.0.2")
    fetcher = make_fetcher(allow_private=False, is_allowed=only_127_0_0_2)
    with pytest.raises(ForbiddenAddressError):
        await fetcher.fetch_object(attacker.url("/doc"))
    assert wire.connections == 0


# --- fetch_json ------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["application/jrd+json", "application/json; charset=utf-8"])
async def test_fetch_json_accepts_jrd_and_json(serve, ap_response, make_fetcher, content_type: str) -> None:
    async def jrd(_request: web.Request) -> web.Response:
        return ap_response({"subject": "acct:a@b", "links": []}, content_type)

    server = await serve({"/.well-known/webfinger": jrd})
    document = await make_fetcher().fetch_json(server.url("/.well-known/webfinger"), accept=JRD_ACCEPT)
    assert document["subject"] == "acct:a@b"
    assert server.requests[0].headers["Accept"] == JRD_ACCEPT


async def test_fetch_json_refuses_other_content_types(serve, make_fetcher) -> None:
    async def html(_request: web.Request) -> web.Response:
        return web.Response(text="{}", content_type="text/html")

    server = await serve({"/x": html})
    with pytest.raises(ContentTypeError):
        await make_fetcher().fetch_json(server.url("/x"), accept=JRD_ACCEPT)


async def test_fetch_json_refuses_forbidden_address(tripwire, make_fetcher) -> None:
    wire = await tripwire("127.0.0.1")
    with pytest.raises(ForbiddenAddressError):
        await make_fetcher(allow_private=False).fetch_json(wire.url("/x"), accept=JRD_ACCEPT)
    assert wire.connections == 0


# --- post ------------------------------------------------------------------------------------


async def test_post_returns_status_retry_after_and_body(serve, make_fetcher) -> None:
    received: list[bytes] = []

    async def inbox(request: web.Request) -> web.Response:
        received.append(await request.read())
        return web.Response(status=429, text="slow down", headers={"Retry-After": "120"})

    server = await serve({"/inbox": inbox})
    result = await make_fetcher().post(server.url("/inbox"), b'{"type": "Create"}', {"Content-Type": AP})
    assert result == PostResult(429, "120", b"slow down")
    assert received == [b'{"type": "Create"}']
    assert server.requests[0].headers["Content-Type"] == AP


async def test_post_reads_at_most_64_kib_of_the_answer(serve, make_fetcher) -> None:
    async def inbox(_request: web.Request) -> web.Response:
        return web.Response(status=202, body=b"x" * 1_000_000)

    server = await serve({"/inbox": inbox})
    result = await make_fetcher().post(server.url("/inbox"), b"{}", {})
    assert result.status == 202
    assert len(result.body) == 65_536
    assert result.retry_after is None


async def test_post_does_not_follow_redirects(serve, make_fetcher) -> None:
    async def inbox(_request: web.Request) -> web.Response:
        raise web.HTTPFound("/elsewhere")

    async def elsewhere(_request: web.Request) -> web.Response:
        return web.Response(status=202)

    server = await serve({"/inbox": inbox, "/elsewhere": elsewhere})
    result = await make_fetcher().post(server.url("/inbox"), b"{}", {})
    assert result.status == 302
    assert server.paths == ["/inbox"]


async def test_post_to_forbidden_address_is_refused_without_connecting(tripwire, make_fetcher) -> None:
    wire = await tripwire("127.0.0.1")
    with pytest.raises(ForbiddenAddressError):
        await make_fetcher(allow_private=False).post(wire.url("/inbox"), b"{}", {})
    with pytest.raises(ForbiddenAddressError):
        await make_fetcher(allow_private=False).post(f"http://localhost:{wire.port}/", b"{}", {})
    assert wire.connections == 0


async def test_post_network_failure_and_timeout_are_fetch_errors(serve, tripwire, make_fetcher) -> None:
    wire = await tripwire("127.0.0.1")
    with pytest.raises(FetchNetworkError):
        await make_fetcher().post(wire.url("/inbox"), b"{}", {})

    async def stuck(_request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.Response(status=202)

    server = await serve({"/inbox": stuck})
    started = time.monotonic()
    with pytest.raises(FetchTimeoutError):
        await make_fetcher(timeout=0.3).post(server.url("/inbox"), b"{}", {})
    assert time.monotonic() - started < 1.0
