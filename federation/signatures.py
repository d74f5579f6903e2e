"""HTTP signatures, draft-cavage (as Mastodon verifies and sends it) and RFC 9421: pure functions.

Theory of operation. The inbox first calls `signature_key_id` (cheap, no crypto) to learn which
key to load, then `verify_request` with that key. When a `signature-input` header is present the
request is RFC 9421 (Mastodon 4.5+, fedify 2.x); otherwise it is draft-cavage. Both are held to
Mastodon's rules (INTEROP 3.1): what must be covered, SHA-256 body digests, and one time window
(created no more than 1 h ahead; no older than min(expires or created + 5 min, created + 12 h)
plus 1 h). Every refusal is a `SignatureError` with a precise message. Outgoing requests are
signed draft-cavage rsa-sha256 exactly as Mastodon sends them; `sign_request_rfc9421` exists for
tests and a later double-knock fallback.

Inputs are plain values: the method, the full target URL as the node's public base URL sees it,
a mapping of lower-case header names to values, the raw body, a key object and the time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from email.utils import formatdate, parsedate_to_datetime
from functools import lru_cache
from types import MappingProxyType
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from federation.keys import PrivateKey, PublicKey

CLOCK_SKEW_SECONDS = 3600
DEFAULT_VALIDITY_SECONDS = 300
EXPIRATION_LIMIT_SECONDS = 12 * 3600

_DRAFT_ALGORITHMS = ("rsa-sha256", "hs2019")
_RFC9421_DERIVED = (
    "@method",
    "@target-uri",
    "@authority",
    "@scheme",
    "@request-target",
    "@path",
    "@query",
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class SignatureError(Exception):
    """A request signature is missing, malformed, too weak, outside its time window or invalid."""


def body_digest(body: bytes) -> str:
    """Return the draft-cavage `Digest` value of a body: "SHA-256=<base64>"."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def content_digest(body: bytes) -> str:
    """Return the RFC 9530 `Content-Digest` value of a body: "sha-256=:<base64>:"."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"


def signature_key_id(headers: Mapping[str, str]) -> str:
    """Return the keyId a request claims (RFC 9421 first, else draft-cavage); no crypto involved."""
    if "signature-input" in headers:
        _label, _components, params = _first_signature_input(headers["signature-input"])
        return _rfc9421_key_id(params)
    params = _parse_cavage(_cavage_header(headers))
    key_id = params.get("keyId")
    if not key_id:
        raise SignatureError("signature has no keyId")
    return key_id


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
    target = _split_target(url)
    if "signature-input" in headers:
        _verify_rfc9421(method, target, headers, body or b"", public_key, now)
    else:
        _verify_cavage(method, target, headers, body or b"", public_key, now)


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
    target = _split_target(url)
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
        f'keyId="{_quotable(key_id)}",algorithm="rsa-sha256",headers="{" ".join(names)}",'
        f'signature="{base64.b64encode(raw).decode("ascii")}"'
    )
    return out


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
    target = _split_target(url)
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
    params: dict[str, _Bare] = {
        "created": int(time.time() if now is None else now),
        "keyid": _quotable(key_id),
        "alg": alg,
    }
    members = [(name, {}) for name in components]
    signature_params = _serialize_inner_list(members, params)
    base = _signature_base(method, target, values, components, signature_params)
    if isinstance(private_key, rsa.RSAPrivateKey):
        raw = private_key.sign(base, padding.PKCS1v15(), hashes.SHA256())
    else:
        raw = private_key.sign(base)
    out["signature-input"] = "sig1=" + signature_params
    out["signature"] = "sig1=:" + base64.b64encode(raw).decode("ascii") + ":"
    return out


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
    target = _split_target(url)
    lines = []
    for name in signed_headers:
        if name == "(request-target)":
            path = target.path_and_query if include_query else target.path
            value = f"{method.lower()} {path}"
        elif name in ("(created)", "(expires)"):
            value = created if name == "(created)" else expires
            if value is None:
                raise SignatureError(f"{name} is signed but its parameter is missing")
        elif name in headers:
            value = _header_value(headers, name)
        elif name == "host":
            value = target.authority
        else:
            raise SignatureError(f"signed header {name!r} is missing from the request")
        lines.append(f"{name}: {value}")
    return "\n".join(lines)


# --- draft-cavage ---------------------------------------------------------------------------

# RFC 7230 token and quoted-string, separated by commas: the syntax of draft-cavage section 4.
_TOKEN = r"[0-9A-Za-z!#$%&'*+.^_`|~-]+"
# The quoted string is written unrolled (runs of plain characters, then one escape): a base64
# signature of 344 characters is then one step, not one alternation per character.
_CAVAGE_PARAM = re.compile(
    rf'[ \t]*({_TOKEN})[ \t]*=[ \t]*(?:({_TOKEN})|"([^"\\]*(?:\\.[^"\\]*)*)")[ \t]*(,|$)', re.DOTALL
)
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)


def _cavage_header(headers: Mapping[str, str]) -> str:
    if "signature" in headers:
        return headers["signature"]
    authorization = headers.get("authorization", "")
    if authorization[:10].lower() == "signature ":
        return authorization[10:]
    raise SignatureError("request is not signed (no Signature header)")


@lru_cache(maxsize=64)  # the inbox reads the keyId first, then verifies: one parse for both
def _parse_cavage(raw: str) -> Mapping[str, str]:
    # Old node-http-signature prefixed the header value with "Signature "; Mastodon tolerates it.
    if raw[:10].lower() == "signature ":
        raw = raw[10:]
    params: dict[str, str] = {}
    pos = 0
    while True:
        match = _CAVAGE_PARAM.match(raw, pos)
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


def _verify_cavage(
    method: str,
    target: _Target,
    headers: Mapping[str, str],
    body: bytes,
    public_key: PublicKey,
    now: float,
) -> None:
    params = _parse_cavage(_cavage_header(headers))
    if not params.get("keyId") or not params.get("signature"):
        raise SignatureError("signature needs both keyId and signature parameters")
    algorithm = params.get("algorithm", "hs2019")
    if algorithm not in _DRAFT_ALGORITHMS:
        raise SignatureError(f"unsupported signature algorithm {algorithm!r}")
    default = "(created)" if algorithm == "hs2019" else "date"
    signed = params.get("headers", default).lower().split()
    if ("(created)" in signed or "(expires)" in signed) and algorithm != "hs2019":
        raise SignatureError("(created) and (expires) may only be signed with hs2019")
    _check_cavage_strength(method, signed)
    _check_window(*_cavage_times(params, signed, headers), now)
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
            public_key.verify(signature, _encode(text), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            continue
        return
    raise SignatureError("signature does not match the request and key")


def _check_cavage_strength(method: str, signed: Sequence[str]) -> None:
    if "date" not in signed and "(created)" not in signed:
        raise SignatureError("the Date header or (created) must be signed")
    if "(request-target)" not in signed and "digest" not in signed:
        raise SignatureError("(request-target) or the Digest header must be signed")
    if method.upper() == "GET" and "host" not in signed:
        raise SignatureError("a GET must sign the Host header")
    if method.upper() == "POST" and "digest" not in signed:
        raise SignatureError("a POST must sign the Digest header")


def _cavage_times(
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


# --- RFC 9421 -------------------------------------------------------------------------------


def _verify_rfc9421(
    method: str,
    target: _Target,
    headers: Mapping[str, str],
    body: bytes,
    public_key: PublicKey,
    now: float,
) -> None:
    label, components, params = _first_signature_input(headers["signature-input"])
    _rfc9421_key_id(params)
    if "signature" not in headers:
        raise SignatureError("signature-input without a Signature header")
    signatures = _SFParser(headers["signature"]).dictionary()
    if label not in signatures or not isinstance(signatures[label][0], bytes):
        raise SignatureError(f"no byte-sequence signature labelled {label!r}")
    signature = signatures[label][0]
    names = []
    for value, component_params in components:
        if not isinstance(value, str) or isinstance(value, _Token):
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
    _check_window(float(created), None if expires is None else float(expires), True, now)
    if "content-digest" in names:
        _check_content_digest(headers, body)
    base = _signature_base(
        method, target, headers, names, _serialize_inner_list(components, params)
    )
    _verify_rfc9421_crypto(params.get("alg"), public_key, signature, base)


def _verify_rfc9421_crypto(
    alg: object, public_key: PublicKey, signature: bytes, base: bytes
) -> None:
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


def _first_signature_input(raw: str) -> tuple[str, list[_Item], dict[str, _Bare]]:
    # Mastodon verifies a single signature; like it, we take the first label and ignore others.
    inputs = _SFParser(raw).dictionary()
    if not inputs:
        raise SignatureError("empty Signature-Input header")
    label, (components, params) = next(iter(inputs.items()))
    if not isinstance(components, list):
        raise SignatureError(f"Signature-Input {label!r} is not an inner list")
    return label, components, params


def _rfc9421_key_id(params: Mapping[str, _Bare]) -> str:
    key_id = params.get("keyid")
    if not isinstance(key_id, str) or isinstance(key_id, _Token) or not key_id:
        raise SignatureError("Signature-Input has no keyid string")
    return key_id


def _check_content_digest(headers: Mapping[str, str], body: bytes) -> None:
    if "content-digest" not in headers:
        raise SignatureError("content-digest is covered but missing")
    digests = _SFParser(headers["content-digest"]).dictionary()
    if "sha-256" not in digests:
        raise SignatureError(f"only sha-256 Content-Digest is accepted; offered {list(digests)}")
    if digests["sha-256"][0] != hashlib.sha256(body).digest():
        raise SignatureError("the Content-Digest header does not match the body")


def _signature_base(
    method: str,
    target: _Target,
    headers: Mapping[str, str],
    names: Sequence[str],
    signature_params: str,
) -> bytes:
    lines = []
    for name in names:
        if name.startswith("@"):
            value = _derived_component(name, method, target)
        elif name != name.lower():
            raise SignatureError(f"component {name!r} must be lower-case")
        elif name in headers:
            value = _header_value(headers, name)
        else:
            raise SignatureError(f"covered header {name!r} is missing from the request")
        lines.append(f'"{name}": {value}')
    lines.append(f'"@signature-params": {signature_params}')
    return _encode("\n".join(lines))


def _derived_component(name: str, method: str, target: _Target) -> str:
    # RFC 9421 section 2.2: @query keeps its "?" and @request-target is the path and query only
    # (fedify 2.3 renders both differently, but never covers them by default).
    if name not in _RFC9421_DERIVED:
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


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- shared ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Target:
    scheme: str
    authority: str
    path: str
    query: str

    @property
    def path_and_query(self) -> str:
        return self.path + ("?" + self.query if self.query else "")

    @property
    def uri(self) -> str:
        return f"{self.scheme}://{self.authority}{self.path_and_query}"


def _split_target(url: str) -> _Target:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise SignatureError(f"invalid target URL {url!r}") from exc
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _DEFAULT_PORTS or not host:
        raise SignatureError(f"target URL {url!r} is not absolute http(s)")
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    return _Target(scheme, host, parts.path or "/", parts.query)


def _check_window(created: float, expires: float | None, expires_signed: bool, now: float) -> None:
    if created > now + CLOCK_SKEW_SECONDS:
        raise SignatureError("signature created more than an hour in the future")
    if expires is not None and now > expires:
        raise SignatureError("signature expired")
    # An unsigned expires may only shorten the window, never stretch it.
    stretch = expires if expires_signed else None
    validity = created + DEFAULT_VALIDITY_SECONDS if stretch is None else stretch
    deadline = min(validity, created + EXPIRATION_LIMIT_SECONDS) + CLOCK_SKEW_SECONDS
    if now > deadline:
        raise SignatureError("signature too old")


def _header_value(headers: Mapping[str, str], name: str) -> str:
    value = headers[name]
    # A line break inside a value could splice a forged line into the signing string.
    if "\n" in value or "\r" in value:
        raise SignatureError(f"header {name!r} contains a line break")
    return value.strip()


def _encode(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as exc:
        raise SignatureError("header values are not encodable") from exc


def _b64decode(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("signature is not valid base64") from exc


def _quotable(value: str) -> str:
    if not value.isprintable() or not value.isascii() or '"' in value or "\\" in value:
        raise SignatureError(f"key id {value!r} cannot be written in a signature header")
    return value


# --- RFC 8941 structured fields (the subset signatures use) ---------------------------------


class _Token(str):
    """An RFC 8941 token: serialized bare, unlike a string."""

    __slots__ = ()


_Bare = int | float | str | bytes | bool
_Item = tuple[_Bare, dict[str, _Bare]]
_Member = tuple[_Bare | list[_Item], dict[str, _Bare]]

_KEY = re.compile(r"[a-z*][a-z0-9_.*-]*")
_SF_TOKEN = re.compile(r"[A-Za-z*][0-9A-Za-z!#$%&'*+.^_`|~:/-]*")
_SF_NUMBER = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,3})?")
_SF_BYTES = re.compile(r":([A-Za-z0-9+/=]*):")


class _SFParser:
    """Parses an RFC 8941 Dictionary; every syntax error is a SignatureError."""

    def __init__(self, text: str) -> None:
        self.text = text.strip(" ")
        self.pos = 0

    def dictionary(self) -> dict[str, _Member]:
        result: dict[str, _Member] = {}
        while self.pos < len(self.text):
            key = self._key()
            if self._peek() == "=":
                self.pos += 1
                result[key] = self._inner_list() if self._peek() == "(" else self._item()
            else:
                result[key] = (True, self._params())
            self._skip(" \t")
            if self.pos == len(self.text):
                break
            self._expect(",")
            self._skip(" \t")
            if self.pos == len(self.text):
                raise SignatureError("structured field ends with a comma")
        return result

    def _inner_list(self) -> _Member:
        self._expect("(")
        items: list[_Item] = []
        while True:
            self._skip(" ")
            if self._peek() == ")":
                self.pos += 1
                return items, self._params()
            items.append(self._item())
            if self._peek() not in (" ", ")"):
                raise SignatureError("malformed inner list in structured field")

    def _item(self) -> _Item:
        return self._bare(), self._params()

    def _params(self) -> dict[str, _Bare]:
        params: dict[str, _Bare] = {}
        while self._peek() == ";":
            self.pos += 1
            self._skip(" ")
            key = self._key()
            if self._peek() == "=":
                self.pos += 1
                params[key] = self._bare()
            else:
                params[key] = True
        return params

    def _bare(self) -> _Bare:
        char = self._peek()
        if char == '"':
            return self._string()
        if char == ":":
            match = _SF_BYTES.match(self.text, self.pos)
            if match is None:
                raise SignatureError("malformed byte sequence in structured field")
            self.pos = match.end()
            return _b64decode(match.group(1))
        if char == "?":
            value = self.text[self.pos + 1 : self.pos + 2]
            if value not in ("0", "1"):
                raise SignatureError("malformed boolean in structured field")
            self.pos += 2
            return value == "1"
        number = _SF_NUMBER.match(self.text, self.pos)
        if number is not None:
            self.pos = number.end()
            text = number.group(0)
            return float(text) if number.group(1) else int(text)
        token = _SF_TOKEN.match(self.text, self.pos)
        if token is not None:
            self.pos = token.end()
            return _Token(token.group(0))
        raise SignatureError(f"unexpected character at offset {self.pos} in structured field")

    def _string(self) -> str:
        self.pos += 1
        chars = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            self.pos += 1
            if char == "\\":
                escaped = self.text[self.pos : self.pos + 1]
                if escaped not in ('"', "\\"):
                    raise SignatureError("invalid escape in structured-field string")
                chars.append(escaped)
                self.pos += 1
            elif char == '"':
                return "".join(chars)
            elif not " " <= char <= "~":
                raise SignatureError("invalid character in structured-field string")
            else:
                chars.append(char)
        raise SignatureError("unterminated structured-field string")

    def _key(self) -> str:
        match = _KEY.match(self.text, self.pos)
        if match is None:
            raise SignatureError(f"expected a key at offset {self.pos} in structured field")
        self.pos = match.end()
        return match.group(0)

    def _peek(self) -> str:
        return self.text[self.pos : self.pos + 1]

    def _skip(self, chars: str) -> None:
        while self._peek() and self._peek() in chars:
            self.pos += 1

    def _expect(self, char: str) -> None:
        if self._peek() != char:
            raise SignatureError(f"expected {char!r} at offset {self.pos} in structured field")
        self.pos += 1


def _serialize_inner_list(items: Sequence[_Item], params: Mapping[str, _Bare]) -> str:
    inner = " ".join(_serialize_bare(value) + _serialize_params(p) for value, p in items)
    return f"({inner}){_serialize_params(params)}"


def _serialize_params(params: Mapping[str, _Bare]) -> str:
    return "".join(
        f";{key}" if value is True else f";{key}={_serialize_bare(value)}"
        for key, value in params.items()
    )


def _serialize_bare(value: _Bare) -> str:
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = f"{value:.3f}".rstrip("0")
        return text + "0" if text.endswith(".") else text
    if isinstance(value, bytes):
        return ":" + base64.b64encode(value).decode("ascii") + ":"
    if isinstance(value, _Token):
        return str(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
