"""FEP-8b32 proofs: the FEP's feature file, the vc-di-eddsa vectors, fedify 2.3.6 and apsig."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from apsig import ProofSigner, ProofVerifier
from cryptography.hazmat.primitives.asymmetric import ed25519

from federation import keys
from federation.proofs import ProofError, proof_verification_method, sign_object, verify_object

VECTORS = Path(__file__).parent / "vectors"
FEDIFY_FIXTURES = Path(__file__).parents[1] / "interop" / "fixtures"
VC = json.loads((VECTORS / "vc-di-eddsa-jcs-2022.json").read_text())


def private_from_multibase(value: str) -> ed25519.Ed25519PrivateKey:
    """An Ed25519 private key from a multibase ed25519-priv (multicodec 0x1300) value."""
    raw = keys.base58btc_decode(value[1:])
    assert raw[:2] == b"\x80\x26"
    return ed25519.Ed25519PrivateKey.from_private_bytes(raw[2:])


def feature_scenarios() -> dict[str, dict[str, Any]]:
    """Each scenario of fep-8b32.feature: step text → its quoted value or JSON doc string."""
    scenarios: dict[str, dict[str, Any]] = {}
    steps: dict[str, Any] = {}
    step = ""
    doc: list[str] | None = None
    for line in (VECTORS / "fep-8b32.feature").read_text().splitlines():
        text = line.strip()
        if doc is not None:
            if text == '"""':
                steps[step] = json.loads("\n".join(doc))
                doc = None
            else:
                doc.append(line)
        elif text.startswith("Scenario:"):
            steps = scenarios[text.removeprefix("Scenario:").strip()] = {}
        elif text == '"""':
            doc = []
        elif text.split(" ", 1)[0] in ("Given", "And", "When", "Then"):
            match = re.fullmatch(r'([^"]*?)\s*(?:"([^"]*)")?', text)
            assert match is not None, text  # a step: words, then at most one "quoted" value
            step = match.group(1)
            if match.group(2) is not None:
                steps[step] = match.group(2)
    return scenarios


FEATURE = feature_scenarios()


def test_feature_signing_scenario_yields_the_given_document() -> None:
    steps = FEATURE["Signing document"]
    key = private_from_multibase(steps["And Ed25519 secret key"])
    signed = sign_object(
        steps["Given document"],
        key,
        verification_method=steps["When Signing the document for key"],
        created=steps["And current time"],
    )
    assert signed == steps["Then The signed document is"]
    assert "proof" not in steps["Given document"]


def test_feature_verifying_scenario_is_valid_and_tampering_is_not() -> None:
    steps = FEATURE["Verifying a signature"]
    document = steps["Given The signed document is"]
    method = steps["And The actor"]["assertionMethod"][0]
    assert proof_verification_method(document) == method["id"]
    public = keys.ed25519_public_from_multibase(method["publicKeyMultibase"])
    verify_object(document, public)

    tampered = copy.deepcopy(document)
    tampered["object"]["content"] = "Hello world!"
    with pytest.raises(ProofError, match="does not match"):
        verify_object(tampered, public)
    retimed = copy.deepcopy(document)
    retimed["proof"]["created"] = "2023-02-24T23:36:39Z"
    with pytest.raises(ProofError, match="does not match"):
        verify_object(retimed, public)
    other = ed25519.Ed25519PrivateKey.generate().public_key()
    with pytest.raises(ProofError, match="does not match"):
        verify_object(document, other)


@pytest.mark.parametrize("case", VC["cases"], ids=["did-key", "https-method"])
def test_vc_di_eddsa_jcs_2022_vectors(case: dict[str, Any]) -> None:
    key = private_from_multibase(VC["keyPair"]["privateKeyMultibase"])
    assert keys.ed25519_public_multibase(key.public_key()) == VC["keyPair"]["publicKeyMultibase"]
    unsigned = VC["unsigned"]
    assert rfc8785.dumps(unsigned).decode() == VC["canonicalDocument"]
    signed = sign_object(
        unsigned, key, verification_method=case["verificationMethod"], created=case["created"]
    )
    assert signed["proof"]["proofValue"] == case["proofValue"]
    if "combinedHash" in case:
        config = {k: v for k, v in signed["proof"].items() if k != "proofValue"}
        assert rfc8785.dumps(config).decode() == case["canonicalProofConfig"]
        combined = (
            hashlib.sha256(rfc8785.dumps(config)).digest()
            + hashlib.sha256(rfc8785.dumps(unsigned)).digest()
        )
        assert combined.hex() == case["combinedHash"]
        assert keys.base58btc_decode(case["proofValue"][1:]).hex() == case["signatureHex"]
    verify_object(signed, key.public_key())


def test_fedify_2_3_6_proof_verifies() -> None:
    # A Create fedify delivered: its proof repeats the document's @context, `created` has
    # nanoseconds, and an RsaSignature2017 LD signature was added after the proof.
    capture = json.loads((FEDIFY_FIXTURES / "fedify_signed_create_note.json").read_text())
    actor = json.loads((FEDIFY_FIXTURES / "fedify_bob_actor.json").read_text())
    document = json.loads(capture["requests"][0]["body"])
    method = proof_verification_method(document)
    multikey = next(k for k in actor["assertionMethod"] if k["id"] == method)
    public = keys.ed25519_public_from_multibase(multikey["publicKeyMultibase"])
    assert document["proof"]["created"] == capture["signed_at"]["proof_created"]
    assert document["signature"]["type"] == "RsaSignature2017"
    verify_object(document, public)
    tampered = {**document, "to": "https://elsewhere.example/users/mallory"}
    with pytest.raises(ProofError):
        verify_object(tampered, public)


def test_proof_without_context_is_hashed_with_the_documents_context() -> None:
    # The 2023 draft (and fedify's proof config) keep @context out of the proof object while
    # hashing it in; a verifier that only followed today's text would refuse these proofs.
    key = ed25519.Ed25519PrivateKey.generate()
    document = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "https://a.example/1",
        "type": "Note",
    }
    config = {
        "@context": document["@context"],
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "verificationMethod": "https://a.example/actor#ed25519-key",
        "proofPurpose": "assertionMethod",
        "created": "2026-11-26T18:50:39.848039833Z",
    }
    signature = key.sign(
        hashlib.sha256(rfc8785.dumps(config)).digest()
        + hashlib.sha256(rfc8785.dumps(document)).digest()
    )
    proof = {k: v for k, v in config.items() if k != "@context"}
    proof["proofValue"] = "z" + keys.base58btc_encode(signature)
    verify_object({**document, "proof": proof}, key.public_key())
    verify_object({**document, "proof": [proof]}, key.public_key())


def test_proof_context_must_prefix_the_documents_context() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    document = {
        "@context": [
            "https://www.w3.org/ns/activitystreams",
            {"fa": "https://w3id.org/fedassembly#"},
        ],
        "type": "fa:Decision",
        "fa:tally": [{"name": "yes", "total": 3}],
    }
    signed = sign_object(
        document,
        key,
        verification_method="https://a.example/g#ed25519-key",
        created="2026-01-01T00:00:00Z",
    )
    assert signed["proof"]["@context"] == document["@context"]
    verify_object(signed, key.public_key())
    swapped = {**signed, "@context": ["https://example.org/evil", *document["@context"]]}
    with pytest.raises(ProofError, match="does not start with"):
        verify_object(swapped, key.public_key())


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"type": "Ed25519Signature2020"}, "only DataIntegrityProof"),
        ({"cryptosuite": "eddsa-rdfc-2022"}, "only DataIntegrityProof"),
        ({"proofPurpose": "authentication"}, "proofPurpose"),
        ({"proofValue": "u" + "A" * 86}, "base58btc"),
        ({"proofValue": "z0OIl"}, "invalid base58"),
        ({"proofValue": 12}, "base58btc"),
        ({"created": "yesterday"}, "dateTime"),
    ],
)
def test_malformed_proofs(change: dict[str, Any], reason: str) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    signed = sign_object(
        {"id": "https://a.example/1"},
        key,
        verification_method="https://a.example/k",
        created="2026-01-01T00:00:00Z",
    )
    signed["proof"].update(change)
    with pytest.raises(ProofError, match=reason):
        verify_object(signed, key.public_key())


def test_missing_or_multiple_proofs_and_wrong_keys() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    signed = sign_object(
        {"id": "https://a.example/1"},
        key,
        verification_method="https://a.example/k",
        created="2026-01-01T00:00:00.5Z",
    )
    with pytest.raises(ProofError, match="no proof"):
        verify_object({"id": "https://a.example/1"}, key.public_key())
    with pytest.raises(ProofError, match="exactly one"):
        verify_object({**signed, "proof": [signed["proof"], signed["proof"]]}, key.public_key())
    with pytest.raises(ProofError, match="must be an object"):
        verify_object({**signed, "proof": "z123"}, key.public_key())
    with pytest.raises(ProofError, match="no verificationMethod"):
        proof_verification_method({**signed, "proof": {"type": "DataIntegrityProof"}})
    rsa_key = keys.load_public_key(keys.public_pem_of(keys.generate_rsa_private_pem()))
    with pytest.raises(ProofError, match="Ed25519 key"):
        verify_object(signed, rsa_key)  # type: ignore[arg-type]  # the wrong key type is the test


def test_signing_refuses_what_fedify_would_misread() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    for created in ("2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00+00:00", "2026-01-01"):
        with pytest.raises(ProofError, match="must be UTC"):
            sign_object({}, key, verification_method="https://a.example/k", created=created)
    with pytest.raises(ProofError, match="already carries"):
        sign_object(
            {"proof": {}},
            key,
            verification_method="https://a.example/k",
            created="2026-01-01T00:00:00Z",
        )
    with pytest.raises(ProofError, match="cannot be canonicalized"):
        sign_object(
            {"n": 2**60},
            key,
            verification_method="https://a.example/k",
            created="2026-01-01T00:00:00Z",
        )


def test_apsig_cross_check() -> None:
    # apsig 0.6.0's ProofSigner/ProofVerifier: an independent eddsa-jcs-2022 implementation.
    key = ed25519.Ed25519PrivateKey.generate()
    document = {
        "@context": [
            "https://www.w3.org/ns/activitystreams",
            "https://w3id.org/security/data-integrity/v1",
        ],
        "id": "https://a.example/proposals/1/decision",
        "type": "Note",
        "content": "¿Sí? ✓",
    }
    ours = sign_object(
        document,
        key,
        verification_method="https://a.example/g#ed25519-key",
        created="2026-01-01T00:00:00Z",
    )
    result = ProofVerifier(key.public_key()).verify_proof(copy.deepcopy(ours), raise_on_fail=True)
    assert result is not None
    options = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "verificationMethod": "https://a.example/g#ed25519-key",
        "proofPurpose": "assertionMethod",
        "created": "2026-01-01T00:00:00Z",
    }
    theirs = ProofSigner(key).sign(document, options)
    verify_object(theirs, key.public_key())
    assert theirs["proof"]["proofValue"] == ours["proof"]["proofValue"]
