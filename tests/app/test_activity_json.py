"""activity_json writes exactly what json.dumps writes, with the context serialized once; and our
@context expands as docs/protocol.md describes, the group's proof key included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from pyld import jsonld

from fedassembly.app.activities import activity, activity_json, to_ap_actor
from fedassembly.app.urls import Urls
from fedassembly.app.vocab import CONTEXT, INLINE_CONTEXT
from federation.keys import ed25519_public_multibase
from federation.proofs import sign_object
from storage.actors import LocalActor


def test_same_bytes_as_json_dumps() -> None:
    reply = activity("https://n.example/activities/1", "Create", "https://n.example/groups/g",
                     {"type": "Note", "content": "your vote for “sí” is counted"}, to=["https://r.example/u"])
    for doc in (reply, {"@context": CONTEXT}, {"@context": list(CONTEXT), "id": "x"}, {"id": "x"}):
        assert activity_json(doc) == json.dumps(doc)


# ---------------------------------------------------------------------------------------------
# What a JSON-LD processor makes of our context (pyld, offline, with the real context documents
# fedify preloads: tests/interop/fixtures/jsonld_contexts.json).

SEC = "https://w3id.org/security#"
FA = "https://w3id.org/fedassembly#"
_CONTEXTS_FILE = Path(__file__).resolve().parent.parent / "interop" / "fixtures" / "jsonld_contexts.json"
_CONTEXTS = json.loads(_CONTEXTS_FILE.read_text(encoding="utf-8"))["contexts"]


def _loader(url: str, options: dict[str, Any]) -> dict[str, Any]:
    return {"contextUrl": None, "documentUrl": url, "document": _CONTEXTS[url]}


def _expand(doc: dict[str, Any]) -> dict[str, Any]:
    [node] = jsonld.expand(doc, {"documentLoader": _loader})
    assert isinstance(node, dict)
    return node


def _group_document() -> dict[str, Any]:
    urls = Urls("https://n.example")
    group = LocalActor(1, "barrio", "assembly", "Barrio", "", {}, "2025-01-01T00:00:00Z")
    multibase = ed25519_public_multibase(ed25519.Ed25519PrivateKey.generate().public_key())
    return to_ap_actor(urls, group, rsa_public_pem="-----BEGIN PUBLIC KEY-----…", ed25519_multibase=multibase)


def test_the_groups_proof_key_expands_to_security_iris() -> None:
    doc = _group_document()
    node = _expand(doc)
    actor = "https://n.example/groups/barrio"
    assert node["@id"] == actor
    [key] = node[SEC + "assertionMethod"]
    assert key["@id"] == f"{actor}#ed25519-key"
    assert key["@type"] == [SEC + "Multikey"]
    assert key[SEC + "controller"] == [{"@id": actor}]
    assert key[SEC + "publicKeyMultibase"] == [{"@value": doc["assertionMethod"][0]["publicKeyMultibase"]}]
    # The RSA key of HTTP signatures still comes from security/v1.
    [rsa] = node[SEC + "publicKey"]
    assert rsa["@id"] == f"{actor}#main-key" and rsa[SEC + "owner"] == [{"@id": actor}]
    assert node[FA + "kind"] == [{"@value": "assembly"}]


def test_structured_and_reference_terms() -> None:
    schulze = {"options": ["A", "B"], "d": [[0, 3], [2, 0]], "p": [[0, 3], [0, 0]], "beats": [["A", "B"]]}
    rule = {"name": "majority", "memberShare": {"moreThan": "1/2"}}
    node = _expand({"@context": CONTEXT, "id": "https://n.example/proposals/1/decision",
                    "type": "fa:Decision", "fa:schulze": schulze, "fa:councilRule": rule,
                    "fa:councilQuestion": "https://c.example/questions/7"})
    assert node["@type"] == [FA + "Decision"]
    assert node[FA + "schulze"] == [{"@type": "@json", "@value": schulze}]
    assert node[FA + "councilRule"] == [{"@type": "@json", "@value": rule}]
    assert node[FA + "councilQuestion"] == [{"@id": "https://c.example/questions/7"}]


def test_a_signed_documents_proof_expands() -> None:
    # The proof carries a copy of our @context inside data-integrity/v1's protected scope.
    doc = {"@context": CONTEXT, "id": "https://n.example/proposals/1/decision", "type": "fa:Decision",
           "attributedTo": "https://n.example/groups/barrio"}
    signed = sign_object(doc, ed25519.Ed25519PrivateKey.generate(),
                         verification_method="https://n.example/groups/barrio#ed25519-key",
                         created="2025-01-01T00:00:00Z")
    [proof_graph] = _expand(signed)[SEC + "proof"]
    [proof] = proof_graph["@graph"]
    assert proof["@type"] == [SEC + "DataIntegrityProof"]
    assert proof[SEC + "proofPurpose"] == [{"@id": SEC + "assertionMethod"}]
    assert proof[SEC + "verificationMethod"] == [{"@id": "https://n.example/groups/barrio#ed25519-key"}]


def test_no_protected_term_is_redefined() -> None:
    # The check has teeth: pyld refuses a different definition of a protected term ...
    for term, definition in (("proof", "sec:proof"), ("DataIntegrityProof", "sec:DataIntegrityProof")):
        broken = [*CONTEXT[:-1], {**INLINE_CONTEXT, term: definition}]
        with pytest.raises(jsonld.JsonLdError, match="protected term"):
            jsonld.expand({"@context": broken, "id": "https://n.example/x"}, {"documentLoader": _loader})
    # ... and would refuse our Multikey after security/multikey/v1 (why we do not list it).
    with_multikey = [*CONTEXT[:-1], "https://w3id.org/security/multikey/v1", INLINE_CONTEXT]
    with pytest.raises(jsonld.JsonLdError, match="protected term"):
        jsonld.expand({"@context": with_multikey, "id": "https://n.example/x"}, {"documentLoader": _loader})
    # Our inline terms touch none of the protected ones in the contexts we list.
    protected = {
        term for url in CONTEXT[:-1] for ctx in [_CONTEXTS[url]["@context"]]
        if ctx.get("@protected") for term in ctx if not term.startswith("@")
    }
    assert protected == {"id", "type", "digestMultibase", "proof", "DataIntegrityProof"}
    assert protected.isdisjoint(INLINE_CONTEXT)
