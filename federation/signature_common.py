"""What draft-cavage and RFC 9421 share: the refusal, the target, the time window, header values.

Both schemes are held to Mastodon's rules: SHA-256 body digests and one time window (created no
more than 1 h ahead; no older than min(expires or created + 5 min, created + 12 h) plus 1 h).
Every refusal is a `SignatureError` with a precise message. `federation.signatures` re-exports
the public names; the scheme modules (`cavage`, `rfc9421`) build on the rest.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

CLOCK_SKEW_SECONDS = 3600
DEFAULT_VALIDITY_SECONDS = 300
EXPIRATION_LIMIT_SECONDS = 12 * 3600

_DEFAULT_PORTS = {"http": 80, "https": 443}


class SignatureError(Exception):
    """A request signature is missing, malformed, too weak, outside its time window or invalid."""


def body_digest(body: bytes) -> str:
    """Return the draft-cavage `Digest` value of a body: "SHA-256=<base64>"."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def content_digest(body: bytes) -> str:
    """Return the RFC 9530 `Content-Digest` value of a body: "sha-256=:<base64>:"."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"


@dataclass(frozen=True, slots=True)
class Target:
    """The request's target URL, split the way both signature schemes cover it."""

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


def split_target(url: str) -> Target:
    """Split an absolute http(s) URL; the authority omits the scheme's default port."""
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
    return Target(scheme, host, parts.path or "/", parts.query)


def check_window(created: float, expires: float | None, expires_signed: bool, now: float) -> None:
    """Refuse a signature outside Mastodon's time window (see the module docstring)."""
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


def header_value(headers: Mapping[str, str], name: str) -> str:
    """A covered header's value, stripped; refused if it holds a line break."""
    value = headers[name]
    # A line break inside a value could splice a forged line into the signing string.
    if "\n" in value or "\r" in value:
        raise SignatureError(f"header {name!r} contains a line break")
    return value.strip()


def encode(text: str) -> bytes:
    """The bytes of a signing string or signature base (header bytes kept as they came)."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as exc:
        raise SignatureError("header values are not encodable") from exc


def quotable(value: str) -> str:
    """A key id that can be written inside a quoted signature parameter, else SignatureError."""
    if not value.isprintable() or not value.isascii() or '"' in value or "\\" in value:
        raise SignatureError(f"key id {value!r} cannot be written in a signature header")
    return value
