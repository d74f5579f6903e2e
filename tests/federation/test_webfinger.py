"""WebFinger: handle parsing, our JRD, and lookups against loopback JRD servers."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

import pytest
from aiohttp import web

from federation.fetch import FetchNetworkError, ForbiddenAddressError, HTTPStatusError
from federation.webfinger import (
    JRD_ACCEPT,
    InvalidHandleError,
    WebFingerError,
    build_jrd,
    lookup,
    parse_handle,
)

JRD = "application/jrd+json"


def only_127_0_0_2(ip: Any) -> bool:
    """An is_allowed predicate: 127.0.0.2 plays a public host, everything else is refused."""
    return ip == ipaddress.ip_address("127.0.0.2")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@alice@example.com", ("alice", "example.com")),
        ("alice@example.com", ("alice", "example.com")),
        ("acct:alice@example.com", ("alice", "example.com")),
        ("ACCT:Alice@Example.COM.", ("Alice", "example.com")),
        ("  barrio_norte@assembly.example  ", ("barrio_norte", "assembly.example")),
        ("alice@127.0.0.1:8080", ("alice", "127.0.0.1:8080")),
        ("alice@[::1]:8080", ("alice", "[::1]:8080")),
    ],
)
def test_parse_handle(text: str, expected: tuple[str, str]) -> None:
    assert parse_handle(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "alice",
        "@alice",
        "alice@",
        "@@example.com",
        "a@b@c",
        "alice@exa mple.com",
        "alice@example.com/path",
        "alice@example.com?x=1",
        "https://example.com/users/alice",
        "acct:",
        "alice@example.com:port",
    ],
)
def test_parse_handle_refuses_non_handles(text: str) -> None:
    with pytest.raises(InvalidHandleError):
        parse_handle(text)
    with pytest.raises(ValueError):
        parse_handle(text)


def test_build_jrd_has_mastodon_shape() -> None:
    aliases = ["https://assembly.example/@barrio-norte"]
    jrd = build_jrd(
        "acct:barrio-norte@assembly.example",
        "https://assembly.example/groups/barrio-norte",
        "https://assembly.example/@barrio-norte",
        aliases,
    )
    assert jrd == {
        "subject": "acct:barrio-norte@assembly.example",
        "aliases": ["https://assembly.example/@barrio-norte"],
        "links": [
            {
                "rel": "http://webfinger.net/rel/profile-page",
                "type": "text/html",
                "href": "https://assembly.example/@barrio-norte",
            },
            {
                "rel": "self",
                "type": "application/activity+json",
                "href": "https://assembly.example/groups/barrio-norte",
            },
        ],
    }
    assert jrd["aliases"] is not aliases


async def jrd_server(serve, ap_response, answer, host: str = "127.0.0.1"):
    """A WebFinger endpoint; `answer(resource, base_url)` returns the JRD to serve."""
    base: list[str] = []

    async def webfinger(request: web.Request) -> web.Response:
        return ap_response(answer(request.query["resource"], base[0]), JRD)

    server = await serve({"/.well-known/webfinger": webfinger}, host=host)
    base.append(server.url("").rstrip("/"))
    return server


async def test_lookup_round_trip_over_loopback(serve, ap_response, make_fetcher) -> None:
    def answer(resource: str, base: str) -> Mapping[str, Any]:
        user = resource.removeprefix("acct:").split("@")[0]
        return build_jrd(resource, f"{base}/people/{user}", f"{base}/@{user}", [])

    server = await jrd_server(serve, ap_response, answer)
    handle = f"@alice@127.0.0.1:{server.port}"
    assert await lookup(make_fetcher(), handle) == server.url("/people/alice")
    request = server.requests[0]
    assert request.query["resource"] == f"acct:alice@127.0.0.1:{server.port}"
    assert request.headers["Accept"] == JRD_ACCEPT


async def test_ld_json_self_link_is_accepted(serve, ap_response, make_fetcher) -> None:
    ld = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'

    def answer(resource: str, base: str) -> Mapping[str, Any]:
        return {"subject": resource, "links": [{"rel": "self", "type": ld, "href": f"{base}/a"}]}

    server = await jrd_server(serve, ap_response, answer)
    assert await lookup(make_fetcher(), f"a@127.0.0.1:{server.port}") == server.url("/a")


@pytest.mark.parametrize(
    "links",
    [
        [],
        [{"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": "{base}/@a"}],
        [{"rel": "self", "type": "text/html", "href": "{base}/a"}],
        [{"rel": "self", "href": "{base}/a"}],
        [{"rel": "self", "type": "application/activity+json"}],
        "not a list",
    ],
)
async def test_missing_activitypub_self_link_is_refused(serve, ap_response, make_fetcher, links: Any) -> None:
    def answer(resource: str, base: str) -> Mapping[str, Any]:
        if isinstance(links, list):
            filled = [{k: v.format(base=base) for k, v in link.items()} for link in links]
            return {"subject": resource, "links": filled}
        return {"subject": resource, "links": links}

    server = await jrd_server(serve, ap_response, answer)
    with pytest.raises(WebFingerError):
        await lookup(make_fetcher(), f"a@127.0.0.1:{server.port}")


async def test_jrd_without_subject_is_refused(serve, ap_response, make_fetcher) -> None:
    def answer(_resource: str, base: str) -> Mapping[str, Any]:
        return {"links": [{"rel": "self", "type": "application/activity+json", "href": base}]}

    server = await jrd_server(serve, ap_response, answer)
    with pytest.raises(WebFingerError):
        await lookup(make_fetcher(), f"a@127.0.0.1:{server.port}")


@pytest.mark.parametrize(
    "href",
    ["http://127.0.0.1:{trip}/users/a", "http://169.254.169.254/latest/meta-data/", "http://[::1]/a"],
)
async def test_self_link_at_a_private_address_is_refused(
    serve, ap_response, tripwire, make_fetcher, href: str
) -> None:
    wire = await tripwire("127.0.0.1")

    def answer(resource: str, _base: str) -> Mapping[str, Any]:
        return build_jrd(resource, href.format(trip=wire.port), "https://x.example/@a", [])

    server = await jrd_server(serve, ap_response, answer, host="127.0.0.2")
    # Private addresses stay refused; only the WebFinger server's own address is allowed.
    fetcher = make_fetcher(allow_private=True, is_allowed=only_127_0_0_2)
    with pytest.raises(WebFingerError):
        await lookup(fetcher, f"a@127.0.0.2:{server.port}")
    assert wire.connections == 0


@pytest.mark.parametrize("href", ["acct:a@example.com", "javascript:alert(1)", "/people/a"])
async def test_self_link_that_is_not_an_http_url_is_refused(
    serve, ap_response, make_fetcher, href: str
) -> None:
    def answer(resource: str, _base: str) -> Mapping[str, Any]:
        return build_jrd(resource, href, "https://x.example/@a", [])

    server = await jrd_server(serve, ap_response, answer)
    with pytest.raises(WebFingerError):
        await lookup(make_fetcher(), f"a@127.0.0.1:{server.port}")


async def test_no_http_fallback_when_private_addresses_are_disallowed(
    serve, ap_response, make_fetcher
) -> None:
    def answer(resource: str, base: str) -> Mapping[str, Any]:
        return build_jrd(resource, f"{base}/people/a", f"{base}/@a", [])

    server = await jrd_server(serve, ap_response, answer, host="127.0.0.2")
    fetcher = make_fetcher(allow_private=False, is_allowed=only_127_0_0_2)
    with pytest.raises(FetchNetworkError):
        await lookup(fetcher, f"a@127.0.0.2:{server.port}")
    assert server.requests == []


async def test_unknown_account_is_a_fetch_error(serve, make_fetcher) -> None:
    async def not_found(_request: web.Request) -> web.Response:
        return web.Response(status=404)

    server = await serve({"/.well-known/webfinger": not_found})
    with pytest.raises(HTTPStatusError) as caught:
        await lookup(make_fetcher(), f"nobody@127.0.0.1:{server.port}")
    assert caught.value.status == 404


async def test_webfinger_host_at_a_private_address_is_refused(tripwire, make_fetcher) -> None:
    wire = await tripwire("127.0.0.1")
    with pytest.raises(ForbiddenAddressError):
        await lookup(make_fetcher(allow_private=False), f"a@127.0.0.1:{wire.port}")
    assert wire.connections == 0
