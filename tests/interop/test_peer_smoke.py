"""Smoke tests of the fedify 2.3.6 peer itself, against a tiny aiohttp server written here.

They pin down what a real fedify sends (signature specs, double knock, FEP-8b32 proof) so our own
verifier can be tested against it, and they keep ``fixtures/fedify_*.json`` honest: one real
fedify-signed delivery (both signature specs) and bob's actor document, checked offline.

Regenerate the fixture files with ``FEDASSEMBLY_REGEN_FIXTURES=1 pytest tests/interop``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from .conftest import AP_JSON, FIXTURES_DIR, FedifyPeer, free_port

AS_PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
REQUEST_FIXTURE = FIXTURES_DIR / "fedify_signed_create_note.json"
ACTOR_FIXTURE = FIXTURES_DIR / "fedify_bob_actor.json"


# ---------------------------------------------------------------------------------------------
class TinyServer:
    """One Mastodon-like actor, ``alice``, with an RSA key; WebFinger for itself; records every
    request. ``inbox_status(request_record) -> int`` decides what the inbox answers."""

    def __init__(self, inbox_status: Callable[[dict[str, Any]], int] = lambda r: 202) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.actor = f"{self.base}/users/alice"
        self.inbox = f"{self.actor}/inbox"
        self.inbox_status = inbox_status
        self.requests: list[dict[str, Any]] = []
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        app = web.Application()
        app.router.add_get("/users/alice", self.actor_doc)
        app.router.add_get("/.well-known/webfinger", self.webfinger)
        app.router.add_post("/users/alice/inbox", self.post_inbox)
        self.runner = web.AppRunner(app)

    def actor_document(self) -> dict[str, Any]:
        return {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.actor, "type": "Person", "preferredUsername": "alice",
            "inbox": self.inbox, "outbox": f"{self.actor}/outbox",
            "followers": f"{self.actor}/followers", "url": self.actor,
            "publicKey": {"id": f"{self.actor}#main-key", "owner": self.actor,
                          "publicKeyPem": self.public_pem},
        }

    def _record(self, request: web.Request, body: bytes) -> dict[str, Any]:
        record = {
            "method": request.method, "url": str(request.url), "path": request.path_qs,
            "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in request.raw_headers],
            "body": body.decode(), "status": None,
        }
        self.requests.append(record)
        return record

    async def actor_doc(self, request: web.Request) -> web.Response:
        self._record(request, b"")["status"] = 200
        return web.json_response(self.actor_document(), content_type=AP_JSON)

    async def webfinger(self, request: web.Request) -> web.Response:
        record = self._record(request, b"")
        if request.query.get("resource") not in (self.actor, f"acct:alice@127.0.0.1:{self.port}"):
            record["status"] = 404
            return web.Response(status=404)
        record["status"] = 200
        return web.json_response({
            "subject": f"acct:alice@127.0.0.1:{self.port}", "aliases": [self.actor],
            "links": [{"rel": "self", "type": AP_JSON, "href": self.actor}],
        }, content_type="application/jrd+json")

    async def post_inbox(self, request: web.Request) -> web.Response:
        record = self._record(request, await request.read())
        record["status"] = self.inbox_status(record)
        return web.Response(status=record["status"])

    def posts(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == "POST"]

    async def __aenter__(self) -> TinyServer:
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()


def header(record: dict[str, Any], name: str) -> str | None:
    values = [v for k, v in record["headers"] if k.lower() == name.lower()]
    return ", ".join(values) if values else None


# ---------------------------------------------------------------------------------------------
# Verification helpers: independent of fedify, used to prove the fixture files are real.
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58decode(s: str) -> bytes:
    n = 0
    for c in s:
        n = n * 58 + B58.index(c)
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return b"\0" * (len(s) - len(s.lstrip("1"))) + raw


def jcs(value: Any) -> bytes:
    """RFC 8785 canonical JSON, sufficient for documents without floats."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def ed25519_key(actor_doc: dict[str, Any], key_id: str) -> ed25519.Ed25519PublicKey:
    methods = actor_doc["assertionMethod"]
    [method] = [m for m in (methods if isinstance(methods, list) else [methods]) if m["id"] == key_id]
    raw = b58decode(method["publicKeyMultibase"].removeprefix("z"))
    assert raw[:2] == b"\xed\x01", "not an ed25519-pub multikey"
    return ed25519.Ed25519PublicKey.from_public_bytes(raw[2:])


def verify_eddsa_jcs_2022(body: dict[str, Any], actor_doc: dict[str, Any]) -> None:
    """FEP-8b32 / eddsa-jcs-2022 as fedify makes it: the document hashed is the body without
    ``proof`` and without the LD ``signature`` (fedify adds that after the proof)."""
    proof = dict(body["proof"])
    signature = b58decode(proof.pop("proofValue").removeprefix("z"))
    unsecured = {k: v for k, v in body.items() if k not in ("proof", "signature")}
    config = {"@context": body["@context"], **proof}
    data = hashlib.sha256(jcs(config)).digest() + hashlib.sha256(jcs(unsecured)).digest()
    ed25519_key(actor_doc, proof["verificationMethod"]).verify(signature, data)


def rsa_key(actor_doc: dict[str, Any]) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(actor_doc["publicKey"]["publicKeyPem"].encode())
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def verify_cavage(record: dict[str, Any], actor_doc: dict[str, Any]) -> dict[str, str]:
    params = dict(re.findall(r'(\w+)="([^"]*)"', header(record, "signature") or ""))
    lines = []
    for name in params["headers"].split():
        if name == "(request-target)":
            lines.append(f"(request-target): {record['method'].lower()} {record['path']}")
        else:
            lines.append(f"{name}: {header(record, name)}")
    rsa_key(actor_doc).verify(base64.b64decode(params["signature"]), "\n".join(lines).encode(),
                              padding.PKCS1v15(), hashes.SHA256())
    return params


def verify_rfc9421(record: dict[str, Any], actor_doc: dict[str, Any]) -> tuple[list[str], str]:
    """RFC 9421 with the components fedify signs (derived components and plain header fields)."""
    sig_input = header(record, "signature-input") or ""
    label, params = sig_input.split("=", 1)
    components = re.findall(r'"([^"]+)"', params.split(")", 1)[0])
    url = record["url"]
    derived = {
        "@method": record["method"], "@target-uri": url,
        "@authority": header(record, "host"), "@path": record["path"].split("?")[0],
    }
    lines = [f'"{c}": {derived[c] if c.startswith("@") else header(record, c)}' for c in components]
    lines.append(f'"@signature-params": {params}')
    signature = re.search(rf"{re.escape(label)}=:([^:]+):", header(record, "signature") or "")
    assert signature, header(record, "signature")
    rsa_key(actor_doc).verify(base64.b64decode(signature.group(1)), "\n".join(lines).encode(),
                              padding.PKCS1v15(), hashes.SHA256())
    return components, params


def check_digests(record: dict[str, Any]) -> None:
    body = record["body"].encode()
    sha = base64.b64encode(hashlib.sha256(body).digest()).decode()
    if header(record, "content-digest") is not None:
        assert header(record, "content-digest") == f"sha-256=:{sha}:"
    if header(record, "digest") is not None:
        assert header(record, "digest") == f"SHA-256={sha}"


# ---------------------------------------------------------------------------------------------
async def test_actor_document_is_activity_json_with_rsa_and_ed25519_keys(fedify_peer: FedifyPeer):
    async with fedify_peer.session.get(fedify_peer.actor, headers={"Accept": AP_JSON}) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].split(";")[0] == AP_JSON
        doc = await resp.json(content_type=None)
    assert doc["id"] == fedify_peer.actor
    assert doc["type"] == "Person"
    assert doc["preferredUsername"] == "bob"
    assert doc["inbox"] == fedify_peer.inbox
    assert doc["endpoints"]["sharedInbox"] == fedify_peer.shared_inbox
    assert doc["publicKey"]["id"] == f"{fedify_peer.actor}#main-key"
    assert doc["publicKey"]["owner"] == fedify_peer.actor
    assert rsa_key(doc).key_size == 2048
    # assertionMethod lists every key as a Multikey; the Ed25519 one (z6Mk…) signs proofs
    ed = [m for m in doc["assertionMethod"] if m["publicKeyMultibase"].startswith("z6Mk")]
    assert len(ed) == 1
    assert ed[0]["type"] == "Multikey"
    assert ed[0]["controller"] == fedify_peer.actor
    ed25519_key(doc, ed[0]["id"])


async def test_webfinger_answers_actor_url_and_acct(fedify_peer: FedifyPeer):
    for resource in (fedify_peer.actor, f"acct:bob@127.0.0.1:{fedify_peer.port}"):
        url = f"{fedify_peer.base}/.well-known/webfinger"
        async with fedify_peer.session.get(url, params={"resource": resource}) as resp:
            assert resp.status == 200, resource
            assert resp.headers["Content-Type"].split(";")[0] == "application/jrd+json"
            jrd = await resp.json(content_type=None)
        assert jrd["subject"] == resource
        assert {"rel": "self", "href": fedify_peer.actor, "type": AP_JSON} in jrd["links"]


async def test_lookup_parses_a_remote_actor(fedify_peer: FedifyPeer):
    async with TinyServer() as server:
        found = await fedify_peer.lookup(server.actor)
        assert found["type"] == "Person"
        assert found["summary"]["inbox"] == server.inbox
        assert found["summary"]["publicKeys"] == [f"{server.actor}#main-key"]
        # a handle goes through WebFinger (the peer rewrites fedify's https to http on loopback)
        by_handle = await fedify_peer.lookup(f"@alice@127.0.0.1:{server.port}")
        assert by_handle["id"] == server.actor
    webfinger = [r for r in server.requests if r["path"].startswith("/.well-known/webfinger")]
    assert webfinger and "resource=acct" in webfinger[0]["path"]


async def test_note_delivery_is_rfc9421_signed_with_eddsa_proof(fedify_peer: FedifyPeer):
    async with TinyServer() as server:
        answer = await fedify_peer.send("note", to=server.actor, text="hi alice")
    assert answer["inbox"] == server.inbox
    # fedify fetched our actor (unsigned GET, Accept: AS2) before delivering
    [get] = [r for r in server.requests if r["method"] == "GET"]
    assert get["path"] == "/users/alice"
    assert AP_JSON in (header(get, "accept") or "")
    assert header(get, "signature") is None

    [post] = server.posts()  # accepted on the first knock: one POST
    assert post["path"] == "/users/alice/inbox"
    assert header(post, "content-type") == AP_JSON
    assert header(post, "date")
    assert header(post, "digest") is None  # RFC 9421 uses Content-Digest instead
    check_digests(post)
    sig_input = header(post, "signature-input")
    assert sig_input and sig_input.startswith("sig1=(")
    assert f'keyid="{fedify_peer.actor}#main-key"' in sig_input
    assert 'alg="rsa-v1_5-sha256"' in sig_input
    assert re.fullmatch(r"sig1=:[A-Za-z0-9+/=]+:", header(post, "signature") or "")

    body = json.loads(post["body"])
    assert body["type"] == "Create"
    assert body["id"] == answer["sent"]
    assert body["actor"] == fedify_peer.actor
    assert body["to"] == server.actor  # a single recipient is a string, not a list
    assert body["object"]["type"] == "Note"
    assert body["object"]["content"] == "<p>hi alice</p>"
    assert body["object"]["attributedTo"] == fedify_peer.actor
    proof = body["proof"]
    assert proof["type"] == "DataIntegrityProof"
    assert proof["cryptosuite"] == "eddsa-jcs-2022"
    assert proof["proofPurpose"] == "assertionMethod"
    assert proof["verificationMethod"] == f"{fedify_peer.actor}#multikey-2"
    assert proof["proofValue"].startswith("z")
    assert body["signature"]["type"] == "RsaSignature2017"  # and an LD signature on top

    async with fedify_peer.session.get(fedify_peer.actor, headers={"Accept": AP_JSON}) as resp:
        actor_doc = await resp.json(content_type=None)
    verify_eddsa_jcs_2022(body, actor_doc)
    components, _ = verify_rfc9421(post, actor_doc)
    assert {"@method", "@target-uri", "@authority", "content-digest"} <= set(components)


async def test_double_knock_falls_back_to_draft_cavage_on_401(fedify_peer: FedifyPeer):
    def only_cavage(record: dict[str, Any]) -> int:
        return 401 if header(record, "signature-input") else 202

    async with TinyServer(inbox_status=only_cavage) as server:
        await fedify_peer.send("note", to=server.actor, text="second knock")
        # fedify remembers the spec that worked for this origin: the next POST skips RFC 9421
        await fedify_peer.send("note", to=server.actor, text="remembered")
    first, second, third = server.posts()
    assert (first["status"], second["status"], third["status"]) == (401, 202, 202)
    assert header(first, "signature-input") and first["body"] == second["body"]
    for cavage in (second, third):
        assert header(cavage, "signature-input") is None
        assert header(cavage, "digest")
        check_digests(cavage)
    async with fedify_peer.session.get(fedify_peer.actor, headers={"Accept": AP_JSON}) as resp:
        actor_doc = await resp.json(content_type=None)
    params = verify_cavage(second, actor_doc)
    assert params["keyId"] == f"{fedify_peer.actor}#main-key"
    assert params["algorithm"] == "rsa-sha256"
    assert params["headers"] == "(request-target) content-type date digest host"
    verify_rfc9421(first, actor_doc)  # the refused first knock was validly signed too
    verify_eddsa_jcs_2022(json.loads(second["body"]), actor_doc)

    if os.environ.get("FEDASSEMBLY_REGEN_FIXTURES") == "1":
        save_fixtures(actor_doc, first, second)


async def test_first_knock_env_skips_rfc9421(fedify_peer_factory):
    peer = await fedify_peer_factory(FIRST_KNOCK="draft-cavage-http-signatures-12")
    async with TinyServer() as server:
        await peer.send("note", to=server.actor)
    [post] = server.posts()
    assert header(post, "signature-input") is None
    assert 'headers="(request-target) content-type date digest host"' in (header(post, "signature") or "")


# ---------------------------------------------------------------------------------------------
# Saved fixtures: one real fedify-signed delivery and the actor that signed it.
def save_fixtures(actor_doc: dict[str, Any], rfc9421: dict[str, Any], cavage: dict[str, Any]) -> None:
    FIXTURES_DIR.mkdir(exist_ok=True)
    ACTOR_FIXTURE.write_text(json.dumps(actor_doc, indent=2) + "\n")

    def entry(record: dict[str, Any], spec: str, status: int) -> dict[str, Any]:
        return {"spec": spec, "answered": status, "method": record["method"], "url": record["url"],
                "headers": record["headers"], "body": record["body"]}

    body = json.loads(cavage["body"])
    created = re.search(r"created=(\d+)", header(rfc9421, "signature-input") or "")
    assert created is not None, "the RFC 9421 knock has no created= parameter"
    REQUEST_FIXTURE.write_text(json.dumps({
        "about": (
            "One Create(Note) that @fedify/fedify 2.3.6 (Node 22) delivered to a test inbox at "
            f"{cavage['url']}, captured byte-for-byte: first knock signed with RFC 9421 (the "
            "inbox answered 401), then the same body signed with draft-cavage-http-signatures-12 "
            "(answered 202). The body carries a FEP-8b32 proof (eddsa-jcs-2022, Ed25519 key "
            "#multikey-2) and an RsaSignature2017 LD signature. The signer's actor document is "
            "fedify_bob_actor.json (RSA key #main-key). Replaying: the signatures are old, so "
            "verify with the time window disabled or a clock fixed at signed_at."),
        "signed_at": {"date_header": header(cavage, "date"),
                      "rfc9421_created": created[1],
                      "proof_created": body["proof"]["created"]},
        "actor": body["actor"],
        "requests": [entry(rfc9421, "rfc9421", 401),
                     entry(cavage, "draft-cavage-http-signatures-12", 202)],
    }, indent=2) + "\n")


def test_saved_fixture_request_verifies_offline():
    if not REQUEST_FIXTURE.exists():
        pytest.fail("the saved fedify capture is missing: run with FEDASSEMBLY_REGEN_FIXTURES=1")
    saved = json.loads(REQUEST_FIXTURE.read_text())
    actor_doc = json.loads(ACTOR_FIXTURE.read_text())
    assert saved["actor"] == actor_doc["id"]
    rfc9421, cavage = saved["requests"]
    assert rfc9421["body"] == cavage["body"]
    for record in (rfc9421, cavage):
        url = urlsplit(record["url"])
        record["path"] = url.path + (f"?{url.query}" if url.query else "")
        check_digests(record)
    verify_rfc9421(rfc9421, actor_doc)
    verify_cavage(cavage, actor_doc)
    verify_eddsa_jcs_2022(json.loads(cavage["body"]), actor_doc)
    assert saved["signed_at"]["date_header"] == header(cavage, "date")


# ---------------------------------------------------------------------------------------------
# The peer's inbox side: what the listeners record.
async def test_unsigned_post_is_refused_and_recorded_raw(fedify_peer: FedifyPeer):
    activity = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Follow",
                "id": "http://127.0.0.1:9/follows/1", "actor": "http://127.0.0.1:9/users/x",
                "object": fedify_peer.actor}
    async with fedify_peer.session.post(fedify_peer.inbox, json=activity,
                                        headers={"Content-Type": AP_JSON}) as resp:
        assert resp.status == 401
    [raw] = await fedify_peer.received_raw()
    assert raw["path"] == "/users/bob/inbox"
    assert raw["status"] == 401
    assert raw["json"] == activity
    assert raw["headers"]["content-type"] == AP_JSON
    assert await fedify_peer.received() == []
    await fedify_peer.reset()
    assert await fedify_peer.received_raw() == []


async def test_update_question_is_parsed_with_mastodon_poll_fields(fedify_peer_factory):
    peer = await fedify_peer_factory(SKIP_SIG="1")  # no signer in this test: skip verification
    async with TinyServer() as server:
        question = {
            "id": f"{server.base}/objects/q/1", "type": "Question", "attributedTo": server.actor,
            "to": [AS_PUBLIC], "content": "<p>Repaint?</p>",
            "endTime": "2030-05-08T10:00:00Z", "closed": "2030-05-08T10:00:00Z", "votersCount": 7,
            "oneOf": [{"type": "Note", "name": n, "replies": {"type": "Collection", "totalItems": c}}
                      for n, c in (("Yes", 5), ("No", 2))],
        }
        update = {
            "@context": ["https://www.w3.org/ns/activitystreams",
                         {"toot": "http://joinmastodon.org/ns#", "votersCount": "toot:votersCount"}],
            "id": f"{question['id']}#updates/1", "type": "Update", "actor": server.actor,
            "to": [AS_PUBLIC], "object": question,
        }
        async with peer.session.post(peer.inbox, data=json.dumps(update),
                                     headers={"Content-Type": AP_JSON}) as resp:
            assert resp.status == 202, await resp.text()
        [entry] = await peer.wait_for(lambda e: e["type"] == "Update")
    assert entry["actor"] == server.actor
    assert entry["objType"] == "Question"
    q = entry["object"]
    assert q["oneOf"] == [{"name": "Yes", "type": "Note", "totalItems": 5},
                          {"name": "No", "type": "Note", "totalItems": 2}]
    assert q["anyOf"] == []
    assert q["votersCount"] == 7
    assert q["closed"] == "2030-05-08T10:00:00Z"
    assert q["endTime"] == "2030-05-08T10:00:00Z"


async def test_two_peers_follow_accept_mention_question_votes_undo(fedify_peer, fedify_peer_factory):
    alice = fedify_peer
    carol = await fedify_peer_factory()
    follow = await alice.send("follow", to=carol.actor)
    [accept] = await alice.wait_for(lambda e: e["type"] == "Accept")
    assert accept["objectId"] == follow["sent"] and accept["acceptsOurFollow"]
    assert accept["object"]["type"] == "Follow" and accept["object"]["actor"] == alice.actor

    await alice.send("mention", to=carol.actor, text=f"delegate @bob@127.0.0.1:{alice.port}",
                     mention=alice.actor)
    q = await alice.send("question", to=carol.actor, choice=["Yes", "No"])
    votes = await carol.send("votes", to=alice.actor, question=q["json"]["object"]["id"],
                             choice=["Yes", "No"])
    assert [v["object"]["name"] for v in votes["json"]] == ["Yes", "No"]
    await alice.send("undo-follow", to=carol.actor)

    mention, question = await carol.wait_for(lambda e: e["type"] == "Create", count=2)
    assert mention["to"] == [carol.actor, alice.actor]
    assert [(t["type"], t["href"]) for t in mention["tags"]] == [
        ("Mention", carol.actor), ("Mention", alice.actor)]
    assert mention["links"] == [carol.actor, alice.actor]
    assert mention["content"].count('class="u-url mention"') == 2
    assert "</span></a></span> delegate <span" in mention["content"]
    assert [o["name"] for o in question["oneOf"]] == ["Yes", "No"]
    [undo] = await carol.wait_for(lambda e: e["type"] == "Undo")
    assert undo["object"] == {"type": "Follow", "id": follow["sent"], "actor": alice.actor,
                              "object": carol.actor, "to": []}
    got = await alice.wait_for(lambda e: e["type"] == "Create" and e["inReplyTo"], count=2)
    assert [(v["name"], v["content"], v["to"]) for v in got] == [
        ("Yes", None, [alice.actor]), ("No", None, [alice.actor])]
