"""FEP-8b32 Object Integrity Proofs with the W3C vc-di-eddsa cryptosuite `eddsa-jcs-2022`.

The signed bytes are SHA-256(JCS(proof config)) ‖ SHA-256(JCS(document without proof)); the
proof config is the proof without `proofValue`, carrying the document's `@context`.

Two generations of signers disagree on where that `@context` lives, and we accept both:
- the current spec (and the FEP's own test vector) copies it into the proof itself; a verifier
  then checks that the document's `@context` starts with the proof's and hashes the document
  with the proof's `@context`;
- fedify 2.3 (`sig/proof.ts`), following the 2023 draft, leaves it out of the proof but still
  hashes the config with the document's `@context`.
We sign the first way, which fedify also verifies, since it always takes the document's context.
"""

from __future__ import annotations

import copy
import hashlib
import re
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from federation.keys import base58btc_decode, base58btc_encode

CRYPTOSUITE = "eddsa-jcs-2022"
PROOF_TYPE = "DataIntegrityProof"

# The form fedify's Temporal.Instant.toString() gives back: fedify re-serializes `created`
# before hashing, so "…00.000Z" or "+00:00" would verify here but fail there.
_CREATED = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d*[1-9])?Z")
_XSD_DATETIME = re.compile(r"-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")


class ProofError(Exception):
    """An integrity proof is missing, malformed, of an unsupported kind, or does not verify."""


def sign_object(
    document: dict[str, Any],
    private_key: ed25519.Ed25519PrivateKey,
    *,
    verification_method: str,
    created: str,
    proof_purpose: str = "assertionMethod",
) -> dict[str, Any]:
    """Return a copy of `document` with an eddsa-jcs-2022 `proof` (created: "…T…Z", UTC)."""
    if not isinstance(private_key, ed25519.Ed25519PrivateKey):
        raise ProofError("eddsa-jcs-2022 proofs need an Ed25519 private key")
    if "proof" in document:
        raise ProofError("document already carries a proof")
    if not _CREATED.fullmatch(created):
        raise ProofError(f"created {created!r} must be UTC like 2023-02-24T23:36:38Z")
    proof: dict[str, Any] = {}
    if "@context" in document:
        proof["@context"] = copy.deepcopy(document["@context"])
    proof.update(
        type=PROOF_TYPE,
        cryptosuite=CRYPTOSUITE,
        verificationMethod=verification_method,
        proofPurpose=proof_purpose,
    )
    proof["created"] = created
    signature = private_key.sign(_hash_data(proof, document))
    proof["proofValue"] = "z" + base58btc_encode(signature)
    return {**copy.deepcopy(document), "proof": proof}


def proof_verification_method(document: dict[str, Any]) -> str:
    """Return the `verificationMethod` of the document's single proof (the key to fetch)."""
    method = _single_proof(document).get("verificationMethod")
    if not isinstance(method, str) or not method:
        raise ProofError("proof has no verificationMethod")
    return method


def verify_object(
    document: dict[str, Any],
    public_key: ed25519.Ed25519PublicKey,
    *,
    proof_purpose: str = "assertionMethod",
) -> None:
    """Verify the document's single eddsa-jcs-2022 proof with `public_key`, or raise ProofError."""
    proof = _single_proof(document)
    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        raise ProofError("only DataIntegrityProof with eddsa-jcs-2022 is supported")
    if proof.get("proofPurpose") != proof_purpose:
        raise ProofError(f"proofPurpose must be {proof_purpose!r}")
    created = proof.get("created")
    if created is not None and not (isinstance(created, str) and _XSD_DATETIME.fullmatch(created)):
        raise ProofError("proof created is not an XML Schema dateTime")
    value = proof.get("proofValue")
    if not isinstance(value, str) or not value.startswith("z"):
        raise ProofError("proofValue must be a base58btc multibase string")
    try:
        signature = base58btc_decode(value[1:])
    except ValueError as exc:
        raise ProofError(f"proofValue: {exc}") from exc
    if not isinstance(public_key, ed25519.Ed25519PublicKey):
        raise ProofError("eddsa-jcs-2022 proofs are verified with an Ed25519 key")
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    # FEP-8b32: a Linked Data signature added after the proof is not part of what it signed.
    if isinstance(unsecured.get("signature"), dict):
        del unsecured["signature"]
    if "@context" in options:
        if not _starts_with(unsecured.get("@context"), options["@context"]):
            raise ProofError("document @context does not start with the proof's @context")
        unsecured["@context"] = options["@context"]
    try:
        public_key.verify(signature, _hash_data(options, unsecured))
    except InvalidSignature:
        raise ProofError("proof does not match the document and key") from None


def _hash_data(proof_options: dict[str, Any], unsecured: dict[str, Any]) -> bytes:
    config = dict(proof_options)
    if "@context" not in config and "@context" in unsecured:
        config["@context"] = unsecured["@context"]
    return (
        hashlib.sha256(_canonical(config)).digest() + hashlib.sha256(_canonical(unsecured)).digest()
    )


def _canonical(value: dict[str, Any]) -> bytes:
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError, RecursionError) as exc:
        raise ProofError(f"document cannot be canonicalized: {exc}") from exc


def _single_proof(document: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(document, dict) or "proof" not in document:
        raise ProofError("document has no proof")
    proof = document["proof"]
    if isinstance(proof, list):
        if len(proof) != 1:
            raise ProofError("exactly one proof is supported")
        proof = proof[0]
    if not isinstance(proof, dict):
        raise ProofError("proof must be an object")
    return proof


def _starts_with(context: object, prefix: object) -> bool:
    whole = context if isinstance(context, list) else [context]
    head = prefix if isinstance(prefix, list) else [prefix]
    return len(head) <= len(whole) and whole[: len(head)] == head
