"""RFC 9421 HTTP message signatures (Mastodon 4.5+, fedify 2.x): signature base, verify, sign.

Mastodon's rules: the first Signature-Input label is the one verified (others are ignored); it
must cover @method and @target-uri, a POST also content-digest (sha-256 only); `created` is
required, and the window is the one draft-cavage signatures get. Components are plain lower-case
names or derived components, without parameters. Algorithms: rsa-v1_5-sha256 and ed25519.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Mapping, Sequence
from typing import TypeGuard

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from federation.keys import PrivateKey, PublicKey
from federation.signature_common import (
    SignatureError,
    Target,
    check_window,
    content_digest,
    encode,
    header_value,
    quotable,
    split_target,
)
from federation.structured_fields import (
    Bare,
    Item,
    Member,
    StructuredFieldError,
    Token,
    parse_dictionary,
    serialize_inner_list,
)

_DERIVED = (
    "@method",
    "@target-uri",
    "@authority",
    "@scheme",
    "@request-target",
    "@path",
    "@query",
)


def rfc9421_key_id(headers: Mapping[str, str]) -> str:
    """The keyid the request's first Signature-Input claims; no crypto involved."""
    _label, _components, params = _first_signature_input(headers["signature-input"])
    return _key_id(params)


def verify_rfc9421(
    method: str,
    target: Target,
    headers: Mapping[str, str],
    body: bytes,
    public_key: PublicKey,
    now: float,
) -> None:
    """Verify the first RFC 9421 signature by Mastodon's rules; return None or raise SignatureError."""
    label, components, params = _first_signature_input(headers["signature-input"])
    _key_id(params)
    if "signature" not in headers:
        raise SignatureError("signature-input without a Signature header")
    signatures = _dictionary(headers["signature"])
    signature = signatures[label][0] if label in signatures else None
    if not isinstance(signature, bytes):
        raise SignatureError(f"no byte-sequence signature labelled {label!r}")
    names = []
    for value, component_params in components:
        if not isinstance(value, str) or isinstance(value, Token):
            raise SignatureError("covered components must be strings")
        if component_params:
            raise SignatureError(f"component parameters are not supported ({value!r})")
        if value in names:
            raise SignatureError(f"component {value!r} is covered twice")
        names.append(value)
    if "@method" not in names or "@target-uri" not in names:
        raise SignatureError("@method and @target-uri must be covered")
    if method.upper() == "POST" and "content-digest" not in names:
        raise SignatureError("a POST must cover content-digest")
    created = params.get("created")
    expires = params.get("expires")
    if not _is_int(created):
        raise SignatureError("the created parameter is required and must be an integer")
    if expires is not None and not _is_int(expires):
        raise SignatureError("the expires parameter must be an integer")
    check_window(float(created), None if expires is None else float(expires), True, now)
    if "content-digest" in names:
        _check_content_digest(headers, body)
    base = signature_base(method, target, headers, names, serialize_inner_list(components, params))
    _verify_crypto(params.get("alg"), public_key, signature, base)


def sign_request_rfc9421(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    key_id: str,
    private_key: PrivateKey,
    now: float | None = None,
) -> dict[str, str]:
    """Sign RFC 9421 (label sig1) covering @method, @target-uri and content-digest when a body.

    Returns `signature-input`, `signature` and, with a body, `content-digest`.
    """
    target = split_target(url)
    if isinstance(private_key, rsa.RSAPrivateKey):
        alg = "rsa-v1_5-sha256"
    elif isinstance(private_key, ed25519.Ed25519PrivateKey):
        alg = "ed25519"
    else:
        raise SignatureError("RFC 9421 signing needs an RSA or Ed25519 private key")
    if body is None and method.upper() == "POST":
        body = b""
    values = {**headers}
    components = ["@method", "@target-uri"]
    out: dict[str, str] = {}
    if body is not None:
        out["content-digest"] = values["content-digest"] = content_digest(body)
        components.append("content-digest")
    params: dict[str, Bare] = {
        "created": int(time.time() if now is None else now),
        "keyid": quotable(key_id),
        "alg": alg,
    }
    members: list[Item] = [(name, {}) for name in components]
    signature_params = serialize_inner_list(members, params)
    base = signature_base(method, target, values, components, signature_params)
    if isinstance(private_key, rsa.RSAPrivateKey):
        raw = private_key.sign(base, padding.PKCS1v15(), hashes.SHA256())
    else:
        raw = private_key.sign(base)
    out["signature-input"] = "sig1=" + signature_params
    out["signature"] = "sig1=:" + base64.b64encode(raw).decode("ascii") + ":"
    return out


def signature_base(
    method: str,
    target: Target,
    headers: Mapping[str, str],
    names: Sequence[str],
    signature_params: str,
) -> bytes:
    """The RFC 9421 signature base: one line per covered component, then @signature-params."""
    lines = []
    for name in names:
        if name.startswith("@"):
            value = _derived_component(name, method, target)
        elif name != name.lower():
            raise SignatureError(f"component {name!r} must be lower-case")
        elif name == "host":  # like @authority: the target's, never the header that arrived
            value = target.authority
        elif name in headers:
            value = header_value(headers, name)
        else:
            raise SignatureError(f"covered header {name!r} is missing from the request")
        lines.append(f'"{name}": {value}')
    lines.append(f'"@signature-params": {signature_params}')
    return encode("\n".join(lines))


def _verify_crypto(alg: object, public_key: PublicKey, signature: bytes, base: bytes) -> None:
    if alg is None:
        alg = "ed25519" if isinstance(public_key, ed25519.Ed25519PublicKey) else "rsa-v1_5-sha256"
    try:
        if alg == "rsa-v1_5-sha256":
            if not isinstance(public_key, rsa.RSAPublicKey):
                raise SignatureError("alg rsa-v1_5-sha256 needs an RSA key")
            public_key.verify(signature, base, padding.PKCS1v15(), hashes.SHA256())
        elif alg == "ed25519":
            if not isinstance(public_key, ed25519.Ed25519PublicKey):
                raise SignatureError("alg ed25519 needs an Ed25519 key")
            public_key.verify(signature, base)
        else:
            raise SignatureError(f"unsupported RFC 9421 alg {alg!r}")
    except InvalidSignature:
        raise SignatureError("signature does not match the request and key") from None


def _dictionary(raw: str) -> dict[str, Member]:
    try:
        return parse_dictionary(raw)
    except StructuredFieldError as exc:
        raise SignatureError(str(exc)) from exc


def _first_signature_input(raw: str) -> tuple[str, list[Item], dict[str, Bare]]:
    # Mastodon verifies a single signature; like it, we take the first label and ignore others.
    inputs = _dictionary(raw)
    if not inputs:
        raise SignatureError("empty Signature-Input header")
    label, (components, params) = next(iter(inputs.items()))
    if not isinstance(components, list):
        raise SignatureError(f"Signature-Input {label!r} is not an inner list")
    return label, components, params


def _key_id(params: Mapping[str, Bare]) -> str:
    key_id = params.get("keyid")
    if not isinstance(key_id, str) or isinstance(key_id, Token) or not key_id:
        raise SignatureError("Signature-Input has no keyid string")
    return key_id


def _check_content_digest(headers: Mapping[str, str], body: bytes) -> None:
    if "content-digest" not in headers:
        raise SignatureError("content-digest is covered but missing")
    digests = _dictionary(headers["content-digest"])
    if "sha-256" not in digests:
        raise SignatureError(f"only sha-256 Content-Digest is accepted; offered {list(digests)}")
    if digests["sha-256"][0] != hashlib.sha256(body).digest():
        raise SignatureError("the Content-Digest header does not match the body")


def _derived_component(name: str, method: str, target: Target) -> str:
    # RFC 9421 section 2.2: @query keeps its "?" and @request-target is the path and query only
    # (fedify 2.3 renders both differently, but never covers them by default).
    if name not in _DERIVED:
        raise SignatureError(f"unsupported derived component {name!r}")
    return {
        "@method": method.upper(),
        "@target-uri": target.uri,
        "@authority": target.authority,
        "@scheme": target.scheme,
        "@request-target": target.path_and_query,
        "@path": target.path,
        "@query": "?" + target.query,
    }[name]


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)
