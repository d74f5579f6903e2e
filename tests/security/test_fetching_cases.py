"""Attack cases 17, 19, 35, 36, 38–41 (see README.md here): the origin of fetched documents and
outbound fetching. Through a real node where a node can show it: a signed POST whose key must be
fetched from a hostile server is 401, nothing is stored, and a forbidden address is never
connected to."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from support.loopback import Loopback, Tripwire
from support.nodes import RunningNode
from support.remote import RemoteActor, RemoteServer, post_signed
from support.scene import AS, Scene

from federation.fetch import ForbiddenAddressError, SafeFetcher
from federation.keys import public_pem_of
from federation.webfinger import WebFingerError, lookup

Serve = Callable[..., Awaitable[Loopback]]
StartTripwire = Callable[..., Awaitable[Tripwire]]
MakeFetcher = Callable[..., SafeFetcher]
AP = "application/activity+json"


def only_127_0_0_2(ip: Any) -> bool:
    """An is_allowed predicate: 127.0.0.2 plays a public host, everything else is refused."""
    return bool(ip == ipaddress.ip_address("127.0.0.2"))


def actor_doc(actor: str, pem: str, **fields: Any) -> dict[str, Any]:
    return {"@context": AS, "id": actor, "type": "Person", "inbox": f"{actor}/inbox",
            "publicKey": {"id": f"{actor}#main-key", "owner": actor, "publicKeyPem": pem}, **fields}


async def follow_as(scene: Scene, actor_url: str, signer: RemoteActor) -> int:
    """A Follow by ``actor_url``, signed with ``signer``'s key under ``actor_url#main-key``."""
    actor = RemoteActor(actor_url, "x", signer.private_pem)
    follow = {"@context": AS, "id": f"{actor_url}/follows/{time.monotonic_ns()}", "type": "Follow",
              "actor": actor_url, "object": scene.group_url}
    status, _ = await post_signed(scene.inbox, follow, actor)
    return status


async def test_case_17_a_document_claiming_another_origin_is_refetched_from_it(
    scene: Scene, serve: Serve
) -> None:
    signer = scene.actor("mallory", key_index=1)

    async def real(request: web.Request) -> web.Response:
        return web.json_response(actor_doc(str(request.url), "the victim's own key"), content_type=AP)

    origin = await serve({"/users/victim": real})
    victim = origin.url("/users/victim")

    async def forged(_request: web.Request) -> web.Response:
        return web.json_response(actor_doc(victim, public_pem_of(signer.private_pem)), content_type=AP)

    attacker = await serve({"/users/x": forged}, host="127.0.0.2")
    before = await scene.counts()
    assert await follow_as(scene, attacker.url("/users/x"), signer) == 401
    assert origin.paths == ["/users/victim"]  # refetched from the id's origin, once
    assert await scene.counts() == before  # neither the forged key nor the victim was kept


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "text/html"])
async def test_case_19_an_actor_served_as_plain_json_is_no_actor(
    scene: Scene, serve: Serve, content_type: str
) -> None:
    signer = scene.actor("alice")

    async def plain(request: web.Request) -> web.Response:
        doc = actor_doc(str(request.url), public_pem_of(signer.private_pem))
        return web.Response(body=json.dumps(doc).encode(), headers={"Content-Type": content_type})

    server = await serve({"/users/x": plain})
    before = await scene.counts()
    assert await follow_as(scene, server.url("/users/x"), signer) == 401
    assert await scene.counts() == before


async def test_case_35_special_purpose_addresses_are_refused_before_connecting(
    nodes: Callable[..., Awaitable[RunningNode]], tripwire: StartTripwire, remote: RemoteServer
) -> None:
    running = await nodes("public", allow_private_addresses=False)
    group = await running.group("barrio")
    wires = [await tripwire("127.0.0.1"), await tripwire("::1")]
    hosts = [w.url("") for w in wires] + [
        f"http://{host}" for host in (
            "0.0.0.0", "10.0.0.1", "100.64.0.1", "169.254.169.254", "[::]", "[64:ff9b::7f00:1]",
            "[2002:7f00:1::1]", "[2001::1]",
        )
    ]
    signer = remote.actor("alice")
    for host in hosts:
        actor = RemoteActor(f"{host.rstrip('/')}/users/x", "x", signer.private_pem)
        follow = {"@context": AS, "id": f"{actor.id}/follows/1", "type": "Follow", "actor": actor.id,
                  "object": group}
        started = time.monotonic()
        status, _ = await post_signed(f"{group}/inbox", follow, actor)
        assert status == 401 and time.monotonic() - started < 2.0, host
    assert [w.connections for w in wires] == [0, 0]
    row = await running.node.db.fetchone("SELECT COUNT(*) FROM inbox_activities")
    assert row is not None and row[0] == 0


async def test_case_36_redirect_to_a_forbidden_address_is_refused_at_that_hop(
    serve: Serve, tripwire: StartTripwire, make_fetcher: MakeFetcher
) -> None:
    # A node's first hop to a loopback server is refused already: a fetcher whose policy lets
    # 127.0.0.2 play a public host shows the refusal at the redirect.
    wire = await tripwire("127.0.0.1")

    async def bounce(_request: web.Request) -> web.Response:
        raise web.HTTPFound(wire.url("/secret"))

    public = await serve({"/start": bounce}, host="127.0.0.2")
    fetcher = make_fetcher(allow_private=False, is_allowed=only_127_0_0_2)
    with pytest.raises(ForbiddenAddressError):
        await fetcher.fetch_object(public.url("/start"))
    assert public.paths == ["/start"]
    assert wire.connections == 0


async def test_case_38_redirect_loop_or_too_many_hops_fetching_a_key(scene: Scene, serve: Serve) -> None:
    signer = scene.actor("alice")

    async def a(_request: web.Request) -> web.Response:
        raise web.HTTPFound("/b")

    async def b(_request: web.Request) -> web.Response:
        raise web.HTTPFound("/users/loop")

    async def hop(request: web.Request) -> web.Response:
        index = int(request.match_info["n"])
        raise web.HTTPTemporaryRedirect(f"/chain/{index + 1}")

    server = await serve({"/users/loop": a, "/b": b, "/chain/{n}": hop})
    before = await scene.counts()
    assert await follow_as(scene, server.url("/users/loop"), signer) == 401
    assert server.paths == ["/users/loop", "/b"]
    assert await follow_as(scene, server.url("/chain/0"), signer) == 401
    assert "/chain/6" not in server.paths  # five redirects at most
    assert await scene.counts() == before


@pytest.mark.parametrize(
    "location", ["file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO", "data:application/activity+json,{}"]
)
async def test_case_39_key_url_redirecting_to_another_scheme(
    scene: Scene, serve: Serve, location: str
) -> None:
    # https → http is refused too, shown with a test CA that a node does not trust:
    # tests/federation/test_fetch.py::test_redirect_from_https_to_http_is_refused.
    async def escape(_request: web.Request) -> web.Response:
        raise web.HTTPFound(location)

    server = await serve({"/users/x": escape})
    before = await scene.counts()
    assert await follow_as(scene, server.url("/users/x"), scene.actor("alice")) == 401
    assert await scene.counts() == before


async def test_case_40_webfinger_link_to_a_private_address(
    serve: Serve, tripwire: StartTripwire, make_fetcher: MakeFetcher
) -> None:
    # We fetch no NodeInfo; WebFinger is fetched to add a member by handle.
    wire = await tripwire("127.0.0.1")

    async def webfinger(request: web.Request) -> web.Response:
        jrd = {"subject": request.query["resource"],
               "links": [{"rel": "self", "type": AP, "href": wire.url("/users/a")}]}
        return web.json_response(jrd, content_type="application/jrd+json")

    server = await serve({"/.well-known/webfinger": webfinger}, host="127.0.0.2")
    fetcher = make_fetcher(allow_private=True, is_allowed=only_127_0_0_2)
    with pytest.raises(WebFingerError):
        await lookup(fetcher, f"a@127.0.0.2:{server.port}")
    assert wire.connections == 0


async def test_case_41_key_document_over_a_megabyte_is_not_read_to_the_end(
    scene: Scene, serve: Serve
) -> None:
    # A slow trickle is cut by the fetch's total timeout (10 s on a node), shown in a second by
    # tests/federation/test_fetch.py::test_slow_trickle_is_stopped_by_the_timeout.
    finished = asyncio.Event()

    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": AP})
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b'{"id": "' + b"x" * 1_100_000)
        await asyncio.sleep(30)
        finished.set()
        return response

    server = await serve({"/users/x": stream})
    before = await scene.counts()
    started = time.monotonic()
    assert await follow_as(scene, server.url("/users/x"), scene.actor("alice")) == 401
    assert time.monotonic() - started < 3.0 and not finished.is_set()
    assert await scene.counts() == before
