"""Key material: generation, memoized PEM loading, and FEP-521a Multikey encoding.

Actors carry an RSA-2048 key for draft-cavage HTTP signatures (what Mastodon verifies) and groups
an Ed25519 key for FEP-8b32 object proofs, published as a Multikey (`publicKeyMultibase`,
"z6Mk…"). Nothing here does I/O.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey

# Multicodec "ed25519-pub" (0xed) as an unsigned varint: the two bytes FEP-521a prefixes.
_ED25519_PUB_PREFIX = b"\xed\x01"
_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58_ALPHABET)}
# Parsing cost is paid once per distinct PEM; 4096 covers every actor a busy node talks to.
_CACHE_SIZE = 4096


class KeyFormatError(Exception):
    """A key could not be parsed, or is of a type we do not use (only RSA and Ed25519)."""


def generate_rsa_private_pem() -> str:
    """Return a new RSA-2048 private key (e = 65537) as PKCS#8 PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _private_pem(key)


def generate_ed25519_private_pem() -> str:
    """Return a new Ed25519 private key as PKCS#8 PEM."""
    return _private_pem(ed25519.Ed25519PrivateKey.generate())


def public_pem_of(private_pem: str) -> str:
    """Return the SubjectPublicKeyInfo PEM of the public half of a private key PEM."""
    public = load_private_key(private_pem).public_key()
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


@lru_cache(maxsize=_CACHE_SIZE)
def load_private_key(pem: str) -> PrivateKey:
    """Parse one of our RSA or Ed25519 private key PEMs (memoized); KeyFormatError otherwise."""
    try:
        # Private keys are only ever our own, made by the generators above; OpenSSL's RSA
        # consistency check would cost ~30 ms per key on every cold load.
        key = serialization.load_pem_private_key(
            pem.encode("ascii"), password=None, unsafe_skip_rsa_key_validation=True
        )
    except (ValueError, TypeError, UnicodeEncodeError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError(f"unparseable private key PEM: {exc}") from exc
    if not isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise KeyFormatError(f"unsupported private key type {type(key).__name__}")
    return key


@lru_cache(maxsize=_CACHE_SIZE)
def load_public_key(pem: str) -> PublicKey:
    """Parse an RSA or Ed25519 public key PEM, SPKI or PKCS#1 (memoized); else KeyFormatError."""
    try:
        key = serialization.load_pem_public_key(pem.strip().encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError(f"unparseable public key PEM: {exc}") from exc
    if not isinstance(key, rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
        raise KeyFormatError(f"unsupported public key type {type(key).__name__}")
    return key


def ed25519_public_multibase(public_key: ed25519.Ed25519PublicKey) -> str:
    """Encode an Ed25519 public key as a FEP-521a `publicKeyMultibase` ("z6Mk…")."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "z" + base58btc_encode(_ED25519_PUB_PREFIX + raw)


def ed25519_public_from_multibase(value: str) -> ed25519.Ed25519PublicKey:
    """Decode a FEP-521a Ed25519 `publicKeyMultibase`; KeyFormatError if it is anything else."""
    if not value.startswith("z"):
        raise KeyFormatError("publicKeyMultibase must be base58btc (prefix 'z')")
    try:
        data = base58btc_decode(value[1:])
    except ValueError as exc:
        raise KeyFormatError(str(exc)) from exc
    if len(data) != 34 or not data.startswith(_ED25519_PUB_PREFIX):
        raise KeyFormatError("publicKeyMultibase is not an ed25519-pub multikey")
    return ed25519.Ed25519PublicKey.from_public_bytes(data[2:])


def base58btc_encode(data: bytes) -> str:
    """Encode bytes in the Bitcoin base58 alphabet, one '1' per leading zero byte."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, remainder = divmod(number, 58)
        digits.append(_B58_ALPHABET[remainder])
    return "1" * zeros + "".join(reversed(digits))


def base58btc_decode(text: str) -> bytes:
    """Decode Bitcoin base58 text; ValueError on a character outside the alphabet."""
    number = 0
    for char in text:
        try:
            number = number * 58 + _B58_INDEX[char]
        except KeyError:
            raise ValueError(f"invalid base58 character {char!r}") from None
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return b"\0" * zeros + body


def _private_pem(key: PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
