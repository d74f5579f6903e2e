"""resolve_key against loopback actor and key servers: the keyId ↔ owner binding."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from federation.fetch import FetchError, ForbiddenAddressError
from federation.keyfetch import KeyResolutionError, RemoteKey, resolve_key
from federation.keys import base58btc_encode, ed25519_public_multibase


def _pem(public_key: Any) -> str:
    """SubjectPublicKeyInfo PEM of a public key."""
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


@pytest.fixture(scope="module")
def pem() -> str:
    return _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key())


@pytest.fixture(scope="module")
def other_pem() -> str:
    return _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key())


async def documents(serve, ap_response, docs: dict[str, Any], host: str = "127.0.0.1"):
    """Serve documents by path; a callable value gets the server's base URL."""
    base: list[str] = []

    def make(body: Any):
        async def handler(_request: web.Request) -> web.Response:
            return ap_response(body(base[0]) if callable(body) else body)

        return handler

    server = await serve({path: make(body) for path, body in docs.items()}, host=host)
    base.append(server.url("").rstrip("/"))
    return server


def actor(base: str, public_key: Any, **extra: Any) -> dict[str, Any]:
    """A Mastodon-shaped actor document for alice on `base` with the given publicKey value."""
    return {
        "id": f"{base}/users/alice",
        "type": "Person",
        "preferredUsername": "alice",
        "inbox": f"{base}/users/alice/inbox",
        "publicKey": public_key,
        **extra,
    }


async def test_key_embedded_in_actor(serve, ap_response, make_fetcher, pem: str) -> None:
    server = await documents(
        serve,
        ap_response,
        {
            "/users/alice": lambda b: actor(
                b, {"id": f"{b}/users/alice#main-key", "owner": f"{b}/users/alice", "publicKeyPem": pem}
            )
        },
    )
    key_id = server.url("/users/alice#main-key")
    key = await resolve_key(make_fetcher(), key_id)
    assert key == RemoteKey(key_id, server.url("/users/alice"), pem, key.actor)
    assert key.actor is not None and key.actor["preferredUsername"] == "alice"


async def test_key_in_a_list_of_public_keys(
    serve, ap_response, make_fetcher, pem: str, other_pem: str
) -> None:
    server = await documents(
        serve,
        ap_response,
        {
            "/users/alice": lambda b: actor(
                b,
                [
                    {"id": f"{b}/users/alice#old", "publicKeyPem": other_pem},
                    {"id": f"{b}/users/alice#new", "publicKeyPem": pem},
                ],
            )
        },
    )
    key = await resolve_key(make_fetcher(), server.url("/users/alice#new"))
    assert key.public_key_pem == pem


async def test_key_url_serving_an_actor_stub_like_gotosocial(
    serve, ap_response, make_fetcher, pem: str
) -> None:
    def stub(b: str) -> dict[str, Any]:
        key = {"id": f"{b}/users/alice/main-key", "owner": f"{b}/users/alice", "publicKeyPem": pem}
        return {"id": f"{b}/users/alice", "type": "Person", "publicKey": key}

    server = await documents(
        serve,
        ap_response,
        {"/users/alice/main-key": stub, "/users/alice": lambda b: {**stub(b), "inbox": "x"}},
    )
    key = await resolve_key(make_fetcher(), server.url("/users/alice/main-key"))
    assert key.owner == server.url("/users/alice")
    assert key.actor is not None and key.actor["inbox"] == "x"


@pytest.mark.parametrize("listing", ["bare id", "object"])
async def test_separate_key_document_with_owner(
    serve, ap_response, make_fetcher, pem: str, listing: str
) -> None:
    def key_doc(b: str) -> dict[str, Any]:
        return {"id": f"{b}/keys/1", "type": "Key", "owner": f"{b}/users/alice", "publicKeyPem": pem}

    server = await documents(
        serve,
        ap_response,
        {
            "/keys/1": key_doc,
            "/users/alice": lambda b: actor(b, f"{b}/keys/1" if listing == "bare id" else key_doc(b)),
        },
    )
    key = await resolve_key(make_fetcher(), server.url("/keys/1"))
    assert (key.key_id, key.owner, key.public_key_pem) == (
        server.url("/keys/1"),
        server.url("/users/alice"),
        pem,
    )
    assert server.paths == ["/keys/1", "/users/alice"]


async def test_owner_not_listing_the_key_is_refused(serve, ap_response, make_fetcher, pem: str) -> None:
    server = await documents(
        serve,
        ap_response,
        {
            "/keys/1": lambda b: {"id": f"{b}/keys/1", "owner": f"{b}/users/alice", "publicKeyPem": pem},
            "/users/alice": lambda b: actor(b, {"id": f"{b}/users/alice#main-key", "publicKeyPem": pem}),
        },
    )
    with pytest.raises(KeyResolutionError):
        await resolve_key(make_fetcher(), server.url("/keys/1"))


async def test_key_document_whose_id_is_not_the_key_id_is_refused(
    serve, ap_response, make_fetcher, pem: str
) -> None:
    def key_two(b: str) -> dict[str, Any]:
        return {"id": f"{b}/keys/2", "owner": f"{b}/users/alice", "publicKeyPem": pem}

    server = await documents(
        serve,
        ap_response,
        {
            "/keys/1": key_two,
            "/keys/2": key_two,
            "/users/alice": lambda b: actor(b, [f"{b}/keys/1", f"{b}/keys/2"]),
        },
    )
    with pytest.raises(KeyResolutionError):
        await resolve_key(make_fetcher(), server.url("/keys/1"))


async def test_key_document_and_owner_disagreeing_on_material_is_refused(
    serve, ap_response, make_fetcher, pem: str, other_pem: str
) -> None:
    server = await documents(
        serve,
        ap_response,
        {
            "/keys/1": lambda b: {"id": f"{b}/keys/1", "owner": f"{b}/users/alice", "publicKeyPem": pem},
            "/users/alice": lambda b: actor(b, {"id": f"{b}/keys/1", "publicKeyPem": other_pem}),
        },
    )
    with pytest.raises(KeyResolutionError):
        await resolve_key(make_fetcher(), server.url("/keys/1"))


async def test_key_document_owner_on_another_origin_is_refused(
    serve, ap_response, make_fetcher, pem: str
) -> None:
    urls: dict[str, str] = {}

    async def key_doc(_request: web.Request) -> web.Response:
        return ap_response({"id": urls["key"], "owner": urls["owner"], "publicKeyPem": pem})

    async def owner(_request: web.Request) -> web.Response:
        return ap_response({"id": urls["owner"], "type": "Person", "publicKey": urls["key"]})

    keys = await serve({"/keys/1": key_doc})
    victim = await serve({"/users/alice": owner}, host="127.0.0.2")
    urls.update(key=keys.url("/keys/1"), owner=victim.url("/users/alice"))
    with pytest.raises(KeyResolutionError):
        await resolve_key(make_fetcher(), urls["key"])
    assert victim.requests == []


async def test_actor_on_another_origin_listing_the_key_is_refused(
    serve, ap_response, make_fetcher, pem: str
) -> None:
    urls: dict[str, str] = {}

    async def forged(_request: web.Request) -> web.Response:
        return ap_response({"id": urls["actor"]})

    async def other_actor(_request: web.Request) -> web.Response:
        key = {"id": urls["key"], "owner": urls["actor"], "publicKeyPem": pem}
        return ap_response({"id": urls["actor"], "type": "Person", "publicKey": key})

    keys = await serve({"/k": forged})
    other = await serve({"/users/alice": other_actor}, host="127.0.0.2")
    urls.update(key=keys.url("/k#main-key"), actor=other.url("/users/alice"))
    with pytest.raises(KeyResolutionError):
        await resolve_key(make_fetcher(), urls["key"])


async def test_actor_not_listing_the_requested_key_is_refused(
    serve, ap_response, make_fetcher, pem: str
) -> None:
    server = await documents(
        serve,
        ap_response,
        {"/users/alice": lambda b: actor(b, {"id": f"{b}/users/alice#main-key", "publicKeyPem": pem})},
    )
    with pytest.raises(KeyResolutionError):
        await resolve_key(make_fetcher(), server.url("/users/alice#other-key"))


async def test_embedded_key_declaring_another_owner_is_refused(
    serve, ap_response, make_fetcher, pem: str
) -> None:
    server = await documents(
        serve,
        ap_response,
        {
            "/users/alice": lambda b: actor(
                b, {"id": f"{b}/users/alice#main-key", "owner": f"{b}/users/bob", "publicKeyPem": pem}
            )
        },
    )
    with pytest.raises(KeyResolutionError):
        await resolve_key(make_fetcher(), server.url("/users/alice#main-key"))


async def test_embedded_key_without_material_is_refused(serve, ap_response, make_fetcher) -> None:
    server = await documents(
        serve,
        ap_response,
        {"/users/alice": lambda b: actor(b, {"id": f"{b}/users/alice#main-key"})},
    )
    with pytest.raises(KeyResolutionError):
        await resolve_key(make_fetcher(), server.url("/users/alice#main-key"))


async def test_multikey_assertion_method(serve, ap_response, make_fetcher, pem: str) -> None:
    ed_public = ed25519.Ed25519PrivateKey.generate().public_key()
    multibase = ed25519_public_multibase(ed_public)

    def with_multikey(b: str) -> dict[str, Any]:
        method = {
            "id": f"{b}/users/alice#ed25519-key",
            "type": "Multikey",
            "controller": f"{b}/users/alice",
            "publicKeyMultibase": multibase,
        }
        return actor(b, {"id": f"{b}/users/alice#main-key", "publicKeyPem": pem}, assertionMethod=[method])

    server = await documents(serve, ap_response, {"/users/alice": with_multikey})
    key = await resolve_key(make_fetcher(), server.url("/users/alice#ed25519-key"))
    assert key.public_key_multibase == multibase
    assert key.public_key_pem == _pem(ed_public)


@pytest.mark.parametrize(
    "key_id", ["acct:alice@example.com", "did:key:z6Mkabc", "mailto:a@b", "/users/alice#main-key"]
)
async def test_non_http_key_ids_are_refused(make_fetcher, key_id: str) -> None:
    with pytest.raises(KeyResolutionError):
        await resolve_key(make_fetcher(), key_id)


async def test_key_id_at_a_private_address_is_refused_without_connecting(tripwire, make_fetcher) -> None:
    wire = await tripwire("127.0.0.1")
    with pytest.raises(ForbiddenAddressError):
        await resolve_key(make_fetcher(allow_private=False), wire.url("/users/a#main-key"))
    assert wire.connections == 0


async def test_unreachable_key_is_a_fetch_error(serve, make_fetcher) -> None:
    server = await serve({})
    with pytest.raises(FetchError):
        await resolve_key(make_fetcher(), server.url("/users/gone#main-key"))


async def test_owner_url_served_under_another_id_is_refused(
    serve, ap_response, make_fetcher, pem: str
) -> None:
    server = await documents(
        serve,
        ap_response,
        {
            "/keys/1": lambda b: {"id": f"{b}/keys/1", "owner": f"{b}/users/alice", "publicKeyPem": pem},
            "/users/alice": lambda b: {"id": f"{b}/users/alias"},
            "/users/alias": lambda b: {"id": f"{b}/users/alias", "publicKey": f"{b}/keys/1"},
        },
    )
    with pytest.raises(KeyResolutionError):
        await resolve_key(make_fetcher(), server.url("/keys/1"))


@pytest.mark.parametrize(
    "multibase",
    ["z0OIl", "mAAAA", "z" + "2" * 2000, "z6LSbysY2xFMRpGMhb7tFTLMpeuPRaqaWM1yECx2AtzE3KCc"],
)
async def test_malformed_or_unsupported_multikey_is_refused(
    serve, ap_response, make_fetcher, multibase: str
) -> None:
    def with_multikey(b: str) -> dict[str, Any]:
        method = {"id": f"{b}/users/alice#k", "type": "Multikey", "publicKeyMultibase": multibase}
        return actor(b, [], assertionMethod=method)

    server = await documents(serve, ap_response, {"/users/alice": with_multikey})
    with pytest.raises(KeyResolutionError):
        await resolve_key(make_fetcher(), server.url("/users/alice#k"))


async def test_rsa_multikey_is_converted_to_pem(serve, ap_response, make_fetcher, pem: str) -> None:
    public = serialization.load_pem_public_key(pem.encode())
    pkcs1 = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    multibase = "z" + base58btc_encode(b"\x85\x24" + pkcs1)

    def with_multikey(b: str) -> dict[str, Any]:
        method = {"id": f"{b}/users/alice#rsa", "type": "Multikey", "publicKeyMultibase": multibase}
        return actor(b, [], assertionMethod=[method])

    server = await documents(serve, ap_response, {"/users/alice": with_multikey})
    key = await resolve_key(make_fetcher(), server.url("/users/alice#rsa"))
    assert key.public_key_pem == pem
