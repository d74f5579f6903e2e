"""Address allow-list, host normalisation and origin comparison (pure, no event loop)."""

from ipaddress import ip_address

import pytest

from federation.addresses import is_public_address, normalize_host, same_origin

REFUSED = [
    # IPv4 special-purpose space
    "0.0.0.0",
    "0.1.2.3",
    "10.0.0.1",
    "100.64.0.1",
    "100.127.255.254",
    "127.0.0.1",
    "127.0.0.2",
    "169.254.169.254",
    "172.16.0.1",
    "172.31.255.255",
    "192.0.0.1",
    "192.0.0.9",
    "192.0.2.1",
    "192.168.1.1",
    "198.18.0.1",
    "198.19.255.255",
    "198.51.100.7",
    "203.0.113.9",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    # IPv6 special-purpose space
    "::",
    "::1",
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "fe80::1%eth0",
    "fec0::1",
    "ff02::1",
    "ff0e::1",
    "100::1",
    "64:ff9b::7f00:1",
    "64:ff9b::808:808",
    "64:ff9b:1::1",
    "2001::1",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "2001:2::1",
    "2001:db8::1",
    "2002::1",
    "2002:7f00:1::1",
    "3fff::1",
    # IPv4 embedded in IPv6 is judged by the IPv4 address
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::127.0.0.1",
    "::10.0.0.1",
]

ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "100.63.255.255",
    "100.128.0.1",
    "172.15.255.255",
    "172.32.0.1",
    "198.17.255.255",
    "223.255.255.254",
    "2001:4860:4860::8888",
    "2606:4700:4700::1111",
    "2a00:1450:4001:82b::200e",
    "::ffff:8.8.8.8",
]

# Ranges where Python 3.11's ip.is_global says True although the address must be refused: the
# reason the allow-list is ours and not the standard library's alone.
STDLIB_GAPS = [
    "224.0.0.1",
    "192.88.99.1",
    "2002::1",
    "64:ff9b::808:808",
    "64:ff9b:1::1",
    "3fff::1",
    "ff02::1",
    "fec0::1",
]


@pytest.mark.parametrize("text", REFUSED)
def test_special_purpose_addresses_are_refused(text: str) -> None:
    assert is_public_address(ip_address(text)) is False


@pytest.mark.parametrize("text", ALLOWED)
def test_global_unicast_addresses_are_allowed(text: str) -> None:
    assert is_public_address(ip_address(text)) is True


@pytest.mark.parametrize("text", STDLIB_GAPS)
def test_ranges_the_stdlib_calls_global_are_still_refused(text: str) -> None:
    address = ip_address(text)
    if not address.is_global:
        pytest.fail(f"{text} is no longer a stdlib gap; move it to REFUSED")
    assert is_public_address(address) is False


def test_normalize_host_lowercases_and_strips_one_trailing_dot() -> None:
    assert normalize_host("EXAMPLE.com.") == "example.com"
    assert normalize_host("example.com..") == "example.com."


def test_normalize_host_keeps_slashes_and_everything_else() -> None:
    # CVE-2023-42451: stripping every "/" turned mastodon.so/cial into mastodon.social.
    assert normalize_host("mastodon.so/cial") == "mastodon.so/cial"


def test_same_origin_ignores_case_and_trailing_dot() -> None:
    assert same_origin("https://EXAMPLE.com./a", "https://example.com/b")


def test_same_origin_compares_effective_ports() -> None:
    assert same_origin("https://example.com:443/a", "https://example.com/b")
    assert not same_origin("https://example.com:8443/a", "https://example.com/b")


def test_same_origin_compares_schemes() -> None:
    assert not same_origin("http://example.com/a", "https://example.com/a")


def test_lookalike_host_is_another_origin() -> None:
    assert not same_origin("https://mastodon.so/cial/users/x", "https://mastodon.social/users/x")
    assert not same_origin("https://example.com.evil.net/", "https://example.com/")


def test_same_origin_is_false_for_relative_or_malformed_urls() -> None:
    assert not same_origin("/users/x", "/users/x")
    assert not same_origin("acct:x@example.com", "acct:x@example.com")
    assert not same_origin("http://[::1", "http://[::1]/")
