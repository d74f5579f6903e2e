"""Resolve a signature's keyId to a public key that its owner actor provably claims.

A key is accepted only through a two-way binding, fetched from its own origin (never taken from
the request or the activity): either the actor document served at the keyId lists a key with
exactly that id, or the keyId is a key document whose id is exactly the keyId, whose owner is on
the key's origin, and whose owner actor lists that key id in turn. Anything looser would let one
server sign as actors that another hosts. Everything else is a KeyResolutionError.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from yarl import URL

from federation.addresses import same_origin
from federation.fetch import FetchError, SafeFetcher
from federation.keys import base58btc_decode

_ED25519_PUB = b"\xed\x01"  # multicodec ed25519-pub, varint-encoded
_RSA_PUB = b"\x85\x24"  # multicodec rsa-pub (0x1205), varint-encoded; PKCS#1 DER follows
# An RSA-4096 Multikey is about 720 characters; the cap keeps the quadratic base58 decoding of
# an attacker's megabyte-long string off the event loop.
_MAX_MULTIBASE_CHARS = 1024


class KeyResolutionError(FetchError):
    """The keyId does not lead to a key that its owner actor claims."""


@dataclass(frozen=True, slots=True)
class RemoteKey:
    """A verified key binding; `actor` is the owner's document when it was fetched."""

    key_id: str
    owner: str
    public_key_pem: str
    actor: dict[str, Any] | None
    # Set when the key came from an assertionMethod Multikey (FEP-521a); the PEM is derived.
    public_key_multibase: str | None = None


async def resolve_key(fetcher: SafeFetcher, key_id: str) -> RemoteKey:
    """Fetch `key_id` from its origin and return it only if its owner actor claims it."""
    try:
        key_url = URL(key_id)
    except (TypeError, ValueError) as exc:
        raise KeyResolutionError(f"unparsable keyId {key_id!r}") from exc
    if key_url.scheme not in ("http", "https"):
        # acct: and other schemes have no document to bind the key to (discourse #327).
        raise KeyResolutionError(f"keyId {key_id!r} is not an http(s) URL")
    document = await fetcher.fetch_object(str(key_url.with_fragment(None)))
    found = _find_key(document, key_id)
    if found is not None:
        return _from_actor(document, key_id, found)
    owner = document.get("owner", document.get("controller"))
    if document.get("id") != key_id or not isinstance(owner, str):
        raise KeyResolutionError(f"{key_id} is neither an actor listing it nor its key document")
    return await _from_key_document(fetcher, document, owner, key_id)


def _from_actor(actor: dict[str, Any], key_id: str, entry: dict[str, Any]) -> RemoteKey:
    """The key embedded in an actor document, if it is on the actor's origin and owned by it."""
    owner = actor.get("id")
    if not isinstance(owner, str) or not same_origin(owner, key_id):
        raise KeyResolutionError(f"{key_id} is listed by {owner!r}, on another origin")
    declared = entry.get("owner", entry.get("controller", owner))
    if declared != owner:
        raise KeyResolutionError(f"{key_id} in {owner} declares the owner {declared!r}")
    pem, multibase = _key_material(entry, key_id)
    return RemoteKey(key_id, owner, pem, actor, multibase)


async def _from_key_document(
    fetcher: SafeFetcher, key_document: dict[str, Any], owner: str, key_id: str
) -> RemoteKey:
    """A standalone key document, accepted only when its owner actor lists the same key id."""
    if not same_origin(owner, key_id):
        raise KeyResolutionError(f"{key_id} names the owner {owner} on another origin")
    pem, multibase = _key_material(key_document, key_id)
    actor = await fetcher.fetch_object(owner)
    if actor.get("id") != owner:
        raise KeyResolutionError(f"{owner} is served as {actor.get('id')!r}")
    listed = _find_key(actor, key_id)
    if listed is None:
        raise KeyResolutionError(f"owner {owner} does not list the key {key_id}")
    listed_pem = listed.get("publicKeyPem")
    if isinstance(listed_pem, str) and listed_pem.strip() != pem.strip():
        raise KeyResolutionError(f"{owner} and {key_id} disagree about the key material")
    return RemoteKey(key_id, owner, pem, actor, multibase)


def _find_key(document: dict[str, Any], key_id: str) -> dict[str, Any] | None:
    """The publicKey or assertionMethod entry whose id is exactly `key_id` (a bare id: {id})."""
    for entry in (*_entries(document.get("publicKey")), *_entries(document.get("assertionMethod"))):
        if isinstance(entry, str) and entry == key_id:
            return {"id": entry}
        if isinstance(entry, dict) and entry.get("id") == key_id:
            return entry
    return None


def _entries(value: object) -> list[object]:
    """A JSON-LD property value as a list: absent → [], single value → [value]."""
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


def _key_material(entry: dict[str, Any], key_id: str) -> tuple[str, str | None]:
    """(PEM, multibase or None) from a publicKeyPem or a Multikey publicKeyMultibase."""
    pem = entry.get("publicKeyPem")
    if isinstance(pem, str) and pem.strip():
        return pem, None
    multibase = entry.get("publicKeyMultibase")
    if entry.get("type") == "Multikey" and isinstance(multibase, str):
        return _multibase_to_pem(multibase, key_id), multibase
    raise KeyResolutionError(f"{key_id} carries no publicKeyPem or Multikey")


def _multibase_to_pem(multibase: str, key_id: str) -> str:
    """Convert an Ed25519 or RSA Multikey (base58btc, 'z' prefix) to an SPKI PEM."""
    if len(multibase) > _MAX_MULTIBASE_CHARS:
        raise KeyResolutionError(f"{key_id}: Multikey longer than {_MAX_MULTIBASE_CHARS}")
    if not multibase.startswith("z"):
        raise KeyResolutionError(f"{key_id}: only base58btc multibase keys are supported")
    try:
        raw = base58btc_decode(multibase[1:])
        if raw.startswith(_ED25519_PUB) and len(raw) == 34:
            key: PublicKeyTypes = Ed25519PublicKey.from_public_bytes(raw[2:])
        elif raw.startswith(_RSA_PUB):
            key = serialization.load_der_public_key(raw[2:])
        else:
            raise KeyResolutionError(f"{key_id}: unsupported Multikey type")
    except ValueError as exc:
        raise KeyResolutionError(f"{key_id}: malformed Multikey") from exc
    spki = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return spki.decode()
