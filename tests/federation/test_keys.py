"""Key generation, memoized loading and FEP-521a Multikey encoding."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from hypothesis import given
from hypothesis import strategies as st

from federation import keys

# FEP-521a / vc-di-eddsa example key pair (tests/federation/vectors/vc-di-eddsa-jcs-2022.json).
SECRET_MULTIBASE = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"
PUBLIC_MULTIBASE = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"


def test_rsa_pem_is_pkcs8_2048_and_its_public_half_is_spki() -> None:
    private_pem = keys.generate_rsa_private_pem()
    assert private_pem.startswith("-----BEGIN PRIVATE KEY-----")
    key = keys.load_private_key(private_pem)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    public_pem = keys.public_pem_of(private_pem)
    assert public_pem.startswith("-----BEGIN PUBLIC KEY-----")
    public = keys.load_public_key(public_pem)
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.public_numbers() == key.public_key().public_numbers()


def test_ed25519_pem_round_trips() -> None:
    private_pem = keys.generate_ed25519_private_pem()
    key = keys.load_private_key(private_pem)
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    public = keys.load_public_key(keys.public_pem_of(private_pem))
    assert isinstance(public, ed25519.Ed25519PublicKey)


def test_loading_is_memoized() -> None:
    private_pem = keys.generate_ed25519_private_pem()
    assert keys.load_private_key(private_pem) is keys.load_private_key(private_pem)
    public_pem = keys.public_pem_of(private_pem)
    assert keys.load_public_key(public_pem) is keys.load_public_key(public_pem)


def test_pkcs1_rsa_public_pem_is_accepted() -> None:
    # Some servers publish "BEGIN RSA PUBLIC KEY" (PKCS#1); Mastodon reads those too.
    pkcs1 = (
        "-----BEGIN RSA PUBLIC KEY-----\n"
        "MIGJAoGBAMIUQ0bDffIaKHL3akONlCGXQLfqs8mP4K99ILz6rbyHEDXrVAU1R3Xf\n"
        "C4JNRyrRB3aqwF7/aEXJzYMIkmDSHUvvz7pnhQxHsQ5yl91QT0d/eb+Gz4VRHjm4\n"
        "El4MrUdIUcPxscoPqS/wU8Z8lOi1z7bGMnChiL7WGqnV8h6RrGzJAgMBAAE=\n"
        "-----END RSA PUBLIC KEY-----\n"
    )
    assert isinstance(keys.load_public_key(pkcs1), rsa.RSAPublicKey)


@pytest.mark.parametrize(
    "pem",
    [
        "",
        "not a key",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        "-----BEGIN PUBLIC KEY-----\nMIIBIjANé\n-----END PUBLIC KEY-----\n",
    ],
)
def test_garbage_public_pem_is_a_key_format_error(pem: str) -> None:
    with pytest.raises(keys.KeyFormatError):
        keys.load_public_key(pem)


def test_garbage_private_pem_is_a_key_format_error() -> None:
    with pytest.raises(keys.KeyFormatError):
        keys.load_private_key("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")


def test_multibase_matches_the_fep_521a_example_key() -> None:
    secret = keys.base58btc_decode(SECRET_MULTIBASE[1:])
    assert secret[:2] == b"\x80\x26"  # multicodec ed25519-priv
    private = ed25519.Ed25519PrivateKey.from_private_bytes(secret[2:])
    assert keys.ed25519_public_multibase(private.public_key()) == PUBLIC_MULTIBASE
    decoded = keys.ed25519_public_from_multibase(PUBLIC_MULTIBASE)
    assert decoded.public_bytes_raw() == private.public_key().public_bytes_raw()


@pytest.mark.parametrize(
    "value",
    [
        "6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",  # no multibase prefix
        "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ",  # truncated
        "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ0",  # '0' is not base58
        "z" + keys.base58btc_encode(b"\x12\x00" + bytes(32)),  # another multicodec
    ],
)
def test_bad_multibase_is_a_key_format_error(value: str) -> None:
    with pytest.raises(keys.KeyFormatError):
        keys.ed25519_public_from_multibase(value)


@given(st.binary(max_size=80))
def test_base58_round_trips_with_leading_zeros(data: bytes) -> None:
    assert keys.base58btc_decode(keys.base58btc_encode(data)) == data


def test_base58_known_answer() -> None:
    # Bitcoin's base58 test vector ("Hello World!" → 2NEpo7TZRRrLZSi2U).
    assert keys.base58btc_encode(b"Hello World!") == "2NEpo7TZRRrLZSi2U"
    assert keys.base58btc_encode(b"\0\0\x01") == "112"
