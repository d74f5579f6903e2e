"""draft-cavage HTTP signatures as Mastodon verifies and sends them: parse, signing string, verify,
sign.

Mastodon's rules: only rsa-sha256 and hs2019; the Date header or (created) must be signed, and
(request-target) or Digest; a GET signs Host, a POST signs Digest; only a signed time counts.
A signed ``host`` is checked against the target URL's authority, never the header that arrived.
A query string may or may not have been signed with the path, so both are tried. Outgoing
requests are signed rsa-sha256 exactly as Mastodon sends them.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Mapping, Sequence
from datetime import UTC
from email.utils import formatdate, parsedate_to_datetime
from functools import lru_cache
from types import MappingProxyType

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from federation.keys import PrivateKey, PublicKey
from federation.signature_common import (
    SignatureError,
    Target,
    body_digest,
    check_window,
    encode,
    header_value,
    quotable,
    split_target,
)

_ALGORITHMS = ("rsa-sha256", "hs2019")

# RFC 7230 token and quoted-string, separated by commas: the syntax of draft-cavage section 4.
_TOKEN = r"[0-9A-Za-z!#$%&'*+.^_`|~-]+"
# The quoted string is written unrolled (runs of plain characters, then one escape): a base64
# signature of 344 characters is then one step, not one alternation per character.
_PARAM = re.compile(
    rf'[ \t]*({_TOKEN})[ \t]*=[ \t]*(?:({_TOKEN})|"([^"\\]*(?:\\.[^"\\]*)*)")[ \t]*(,|$)', re.DOTALL
)
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)


def cavage_key_id(headers: Mapping[str, str]) -> str:
    """The keyId a draft-cavage signature claims; no crypto involved."""
    params = parse_cavage(cavage_header(headers))
    key_id = params.get("keyId")
    if not key_id:
        raise SignatureError("signature has no keyId")
    return key_id


def cavage_header(headers: Mapping[str, str]) -> str:
    """The raw signature parameters: the Signature header, or `Authorization: Signature …`."""
    if "signature" in headers:
        return headers["signature"]
    authorization = headers.get("authorization", "")
    if authorization[:10].lower() == "signature ":
        return authorization[10:]
    raise SignatureError("request is not signed (no Signature header)")


@lru_cache(maxsize=64)  # the inbox reads the keyId first, then verifies: one parse for both
def parse_cavage(raw: str) -> Mapping[str, str]:
    """The signature parameters (keyId, algorithm, headers, signature, …), read-only."""
    # Old node-http-signature prefixed the header value with "Signature "; Mastodon tolerates it.
    if raw[:10].lower() == "signature ":
        raw = raw[10:]
    params: dict[str, str] = {}
    pos = 0
    while True:
        match = _PARAM.match(raw, pos)
        if match is None:
            raise SignatureError(f"unparseable Signature header at offset {pos}")
        key, token, quoted, separator = match.groups()
        if key in params:
            raise SignatureError(f"duplicate signature parameter {key!r}")
        params[key] = token if token is not None else _QUOTED_PAIR.sub(r"\1", quoted)
        pos = match.end()
        if separator == "":
            if pos != len(raw):
                raise SignatureError("unparseable Signature header")
            return MappingProxyType(params)


def cavage_signing_string(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    signed_headers: Sequence[str],
    created: str | None = None,
    expires: str | None = None,
    include_query: bool = True,
) -> str:
    """Build the draft-cavage signing string for the given covered header names."""
    target = split_target(url)
    lines = []
    for name in signed_headers:
        if name == "(request-target)":
            path = target.path_and_query if include_query else target.path
            value = f"{method.lower()} {path}"
        elif name in ("(created)", "(expires)"):
            parameter = created if name == "(created)" else expires
            if parameter is None:
                raise SignatureError(f"{name} is signed but its parameter is missing")
            value = parameter
        elif name == "host":
            # The host the request was signed for must be ours: the target URL's authority, not
            # the Host header that arrived (a replay signed for another server, a proxy's rewrite).
            value = target.authority
        elif name in headers:
            value = header_value(headers, name)
        else:
            raise SignatureError(f"signed header {name!r} is missing from the request")
        lines.append(f"{name}: {value}")
    return "\n".join(lines)


def verify_cavage(
    method: str,
    target: Target,
    headers: Mapping[str, str],
    body: bytes,
    public_key: PublicKey,
    now: float,
) -> None:
    """Verify a draft-cavage signature by Mastodon's rules; return None or raise SignatureError."""
    params = parse_cavage(cavage_header(headers))
    if not params.get("keyId") or not params.get("signature"):
        raise SignatureError("signature needs both keyId and signature parameters")
    algorithm = params.get("algorithm", "hs2019")
    if algorithm not in _ALGORITHMS:
        raise SignatureError(f"unsupported signature algorithm {algorithm!r}")
    default = "(created)" if algorithm == "hs2019" else "date"
    signed = params.get("headers", default).lower().split()
    if ("(created)" in signed or "(expires)" in signed) and algorithm != "hs2019":
        raise SignatureError("(created) and (expires) may only be signed with hs2019")
    _check_strength(method, signed)
    check_window(*_times(params, signed, headers), now)
    if "digest" in signed:
        _check_digest(headers, body)
    signature = _b64decode(params["signature"])
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise SignatureError("draft-cavage signatures are verified with RSA keys only")
    options = [True, False] if target.query else [True]
    for include_query in options:
        text = cavage_signing_string(
            method=method,
            url=target.uri,
            headers=headers,
            signed_headers=signed,
            created=params.get("created"),
            expires=params.get("expires"),
            include_query=include_query,
        )
        try:
            public_key.verify(signature, encode(text), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            continue
        return
    raise SignatureError("signature does not match the request and key")


def sign_request(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    key_id: str,
    private_key: PrivateKey,
    now: float | None = None,
) -> dict[str, str]:
    """Sign draft-cavage rsa-sha256 as Mastodon does; return host, date, digest and signature.

    POSTs (and any request with a body) sign `(request-target) host date digest`, plus
    `content-type` when given; GETs sign `(request-target) host date`, plus `accept` when given.
    The caller sends these headers along with its own.
    """
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise SignatureError("draft-cavage signing needs an RSA private key")
    target = split_target(url)
    out = {
        "host": target.authority,
        "date": formatdate(time.time() if now is None else now, usegmt=True),
    }
    lines = [
        f"(request-target): {method.lower()} {target.path_and_query}",
        f"host: {out['host']}",
        f"date: {out['date']}",
    ]
    names = ["(request-target)", "host", "date"]
    if body is None and method.upper() == "POST":
        body = b""
    if body is not None:
        out["digest"] = body_digest(body)
        lines.append(f"digest: {out['digest']}")
        names.append("digest")
        extra = "content-type"
    else:
        extra = "accept"
    if extra in headers:
        lines.append(f"{extra}: {headers[extra].strip()}")
        names.append(extra)
    raw = private_key.sign("\n".join(lines).encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    out["signature"] = (
        f'keyId="{quotable(key_id)}",algorithm="rsa-sha256",headers="{" ".join(names)}",'
        f'signature="{base64.b64encode(raw).decode("ascii")}"'
    )
    return out


def _check_strength(method: str, signed: Sequence[str]) -> None:
    if "date" not in signed and "(created)" not in signed:
        raise SignatureError("the Date header or (created) must be signed")
    if "(request-target)" not in signed and "digest" not in signed:
        raise SignatureError("(request-target) or the Digest header must be signed")
    if method.upper() == "GET" and "host" not in signed:
        raise SignatureError("a GET must sign the Host header")
    if method.upper() == "POST" and "digest" not in signed:
        raise SignatureError("a POST must sign the Digest header")


def _times(
    params: Mapping[str, str], signed: Sequence[str], headers: Mapping[str, str]
) -> tuple[float, float | None, bool]:
    # Only a signed time counts: Mastodon reads an unsigned `created` too, which lets a replay
    # refresh it. The strength check guarantees (created) or date is signed.
    if "(created)" in signed:
        created = _integer_param(params, "created")
    else:
        if "date" not in headers:
            raise SignatureError("the Date header is signed but missing")
        created = _http_date(headers["date"])
    expires = _integer_param(params, "expires") if "expires" in params else None
    return created, expires, "(expires)" in signed


def _check_digest(headers: Mapping[str, str], body: bytes) -> None:
    if "digest" not in headers:
        raise SignatureError("the Digest header is signed but missing")
    offered = {}
    for part in headers["digest"].split(","):
        algorithm, _, value = part.partition("=")
        offered[algorithm.strip().lower()] = value.strip()
    if "sha-256" not in offered:
        raise SignatureError(f"only SHA-256 digests are accepted; offered {sorted(offered)}")
    if "SHA-256=" + offered["sha-256"] != body_digest(body):
        raise SignatureError("the Digest header does not match the body")


def _integer_param(params: Mapping[str, str], name: str) -> float:
    value = params.get(name, "")
    if not value.isascii() or not value.isdigit():
        raise SignatureError(f"signature parameter {name!r} must be a Unix time in seconds")
    return float(value)


def _http_date(value: str) -> float:
    try:
        moment = parsedate_to_datetime(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    except (TypeError, ValueError, IndexError, OverflowError) as exc:
        raise SignatureError(f"invalid Date header {value!r}") from exc


def _b64decode(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("signature is not valid base64") from exc
