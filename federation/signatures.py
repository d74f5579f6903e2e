"""HTTP signatures, draft-cavage (as Mastodon verifies and sends it) and RFC 9421: the public API.

Theory of operation. The inbox first calls `signature_key_id` (cheap, no crypto) to learn which
key to load, then `verify_request` with that key. When a `signature-input` header is present the
request is RFC 9421 (Mastodon 4.5+, fedify 2.x, see `federation.rfc9421`); otherwise it is
draft-cavage (`federation.cavage`). Both are held to Mastodon's rules: what must be covered,
SHA-256 body digests, and one time window (`federation.signature_common`). Every refusal is a
`SignatureError` with a precise message. Outgoing requests are signed in either scheme
(`sign_with`): draft-cavage rsa-sha256 exactly as Mastodon sends it, or RFC 9421 with the profile
Mastodon verifies; which one a host gets first is the delivery's business (`federation.posting`).

Inputs are plain values: the method, the full target URL as the node's public base URL sees it,
a mapping of lower-case header names to values, the raw body, a key object and the time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal

from federation.cavage import cavage_key_id, sign_request, verify_cavage
from federation.keys import PrivateKey, PublicKey
from federation.rfc9421 import rfc9421_key_id, sign_request_rfc9421, verify_rfc9421
from federation.signature_common import SignatureError, body_digest, content_digest, split_target

__all__ = [
    "CAVAGE",
    "RFC9421",
    "Scheme",
    "SignatureError",  # re-export from signature_common: callers outside federation/ import it here
    "body_digest",  # re-export from signature_common: part of this module's public API
    "content_digest",  # re-export from signature_common: part of this module's public API
    "sign_request",  # re-export from cavage: callers outside federation/ import it here
    "sign_request_rfc9421",  # re-export from rfc9421: callers outside federation/ import it here
    "sign_with",
    "signature_key_id",
    "the_other",
    "verify_request",
]

# The two schemes, named as `federation.inbox.VerifiedActivity.scheme` names what it verified.
Scheme = Literal["draft-cavage", "rfc9421"]
CAVAGE: Final = "draft-cavage"
RFC9421: Final = "rfc9421"


def the_other(scheme: Scheme) -> Scheme:
    """The scheme a double knock tries after ``scheme`` was refused."""
    return RFC9421 if scheme == CAVAGE else CAVAGE


def sign_with(
    scheme: Scheme,
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    key_id: str,
    private_key: PrivateKey,
    now: float | None = None,
) -> dict[str, str]:
    """The headers that sign the request in ``scheme``; the caller sends them with its own."""
    sign = sign_request_rfc9421 if scheme == RFC9421 else sign_request
    return sign(method=method, url=url, headers=headers, body=body, key_id=key_id,
                private_key=private_key, now=now)


def signature_key_id(headers: Mapping[str, str]) -> str:
    """Return the keyId a request claims (RFC 9421 first, else draft-cavage); no crypto involved."""
    if "signature-input" in headers:
        return rfc9421_key_id(headers)
    return cavage_key_id(headers)


def verify_request(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    public_key: PublicKey,
    now: float,
) -> None:
    """Verify a request's signature by Mastodon's rules; return None or raise SignatureError."""
    target = split_target(url)
    if "signature-input" in headers:
        verify_rfc9421(method, target, headers, body or b"", public_key, now)
    else:
        verify_cavage(method, target, headers, body or b"", public_key, now)
