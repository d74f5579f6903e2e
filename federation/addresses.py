"""Which network addresses a federated fetch may reach; how hosts, origins and block lists compare.

Pure functions, no I/O. `is_public_address` is an allow-list: an address is public only when it
lies in globally routable unicast space *and* outside every special-purpose block we know of.
Deny-lists that named only the "obvious" private ranges were the root of Mastodon
CVE-2026-22245/46348 and fedify CVE-2026-50131, so an address not known to be public is refused.

An origin is a URL's scheme, host and effective port (RFC 6454), the unit of authority over
ids: a server speaks only for the ids on its own origin (`is_on_origin_of`).
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from functools import lru_cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from urllib.parse import urlsplit

from yarl import URL

_V4_REFUSED: tuple[IPv4Network, ...] = tuple(
    IPv4Network(block)
    for block in (
        "0.0.0.0/8",  # "this network", including the unspecified 0.0.0.0
        "10.0.0.0/8",  # RFC 1918 private
        "100.64.0.0/10",  # RFC 6598 carrier-grade NAT: often the cloud's internal network
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local, where cloud metadata services live
        "172.16.0.0/12",  # RFC 1918 private
        "192.0.0.0/24",  # IETF protocol assignments (DS-Lite, NAT64 discovery, …)
        "192.0.2.0/24",  # TEST-NET-1 documentation
        "192.88.99.0/24",  # deprecated 6to4 relay anycast
        "192.168.0.0/16",  # RFC 1918 private
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # TEST-NET-2 documentation
        "203.0.113.0/24",  # TEST-NET-3 documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, including the limited broadcast 255.255.255.255
    )
)

# IPv6 starts from the other end: only 2000::/3 is global unicast. Everything outside it is
# refused outright (::, ::1, fc00::/7, fe80::/10, ff00::/8, 64:ff9b::/96, 64:ff9b:1::/48,
# 100::/64, fec0::/10 …), except the IPv4-embedding ::/96 and ::ffff:0:0/96 handled below.
_V6_GLOBAL_UNICAST = IPv6Network("2000::/3")
_V6_REFUSED: tuple[IPv6Network, ...] = tuple(
    IPv6Network(block)
    for block in (
        "2001::/23",  # IETF protocol assignments: Teredo 2001::/32, benchmarking, ORCHID
        "2001:db8::/32",  # documentation
        "2002::/16",  # 6to4: the embedded IPv4 address is reached through a relay
        "3fff::/20",  # documentation (RFC 9637)
    )
)


def is_public_address(ip: IPv4Address | IPv6Address) -> bool:
    """True only for globally routable unicast addresses a federated fetch may connect to."""
    if isinstance(ip, IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return is_public_address(embedded)
        if ip not in _V6_GLOBAL_UNICAST or any(ip in block for block in _V6_REFUSED):
            return False
    elif any(ip in block for block in _V4_REFUSED):
        return False
    # The stdlib table follows the IANA registry and changes between Python releases; requiring
    # both means a block missing from either list is still refused.
    return ip.is_global


def _embedded_ipv4(ip: IPv6Address) -> IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d) or -compatible (::a.b.c.d) one."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if int(ip) >> 32 == 0:
        # ::/96 also holds :: and ::1, whose "embedded" 0.0.0.0 and 0.0.0.1 are refused too.
        return IPv4Address(int(ip))
    return None


def normalize_host(host: str) -> str:
    """Lower-case a host name and strip one trailing dot; nothing else (CVE-2023-42451)."""
    host = host.lower()
    return host[:-1] if host.endswith(".") else host


def same_origin(url_a: str, url_b: str) -> bool:
    """True when both absolute URLs share scheme, normalized host and effective port."""
    try:
        a, b = URL(url_a), URL(url_b)
    except (TypeError, ValueError):
        return False
    if not (a.absolute and b.absolute) or a.raw_host is None or b.raw_host is None:
        return False
    return (
        a.scheme.lower() == b.scheme.lower()
        and normalize_host(a.raw_host) == normalize_host(b.raw_host)
        and a.port == b.port
    )


_DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]  # scheme, normalized host, effective port


def origin_of(url: str) -> Origin | None:
    """The origin of an absolute http(s) URL; None when it is not one or carries userinfo.

    Userinfo is refused outright: ``https://social.example@evil.example/`` is on evil.example,
    and no id of ours or of a peer's needs it.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme, parts.hostname  # urlsplit lower-cases both
    if scheme not in _DEFAULT_PORTS or not host or "@" in parts.netloc:
        return None
    return scheme, normalize_host(host), _DEFAULT_PORTS[scheme] if port is None else port


@lru_cache(maxsize=4096)  # actors repeat; the ids checked against them do not
def _origin_and_prefix(owner: str) -> tuple[Origin, str | None] | None:
    """The owner's origin, and the ``scheme://authority`` its string starts with when written
    plainly (the fast path of ``is_on_origin_of``)."""
    origin = origin_of(owner)
    if origin is None:
        return None
    parts = urlsplit(owner)
    prefix = f"{parts.scheme}://{parts.netloc}"
    return origin, prefix if owner.startswith(prefix) else None


def is_on_origin_of(url: str, owner: str) -> bool:
    """True when ``url`` is an http(s) URL without userinfo on the origin of ``owner``'s URL.

    Cheap for the inbox's hot path: an id spelled with the owner's own ``scheme://authority``
    followed by ``/``, ``?``, ``#`` or nothing is decided by a string comparison; anything else
    (another case, an explicit default port, a trailing dot) is parsed and compared.
    """
    found = _origin_and_prefix(owner)
    if found is None:
        return False
    origin, prefix = found
    if prefix is not None and url.startswith(prefix):
        rest = url[len(prefix) : len(prefix) + 1]
        if rest in ("", "/", "?", "#"):
            return True
    return origin_of(url) == origin


@lru_cache(maxsize=4096)  # urlsplit costs ~5 us; the inbox asks three times per activity
def host_of(url: str) -> str:
    """The lower-cased host of a URL, with one trailing dot removed ('' when unparseable)."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.rstrip(".").lower()


def is_blocked(host: str, blocked: AbstractSet[str]) -> bool:
    """True when ``host`` is a blocked domain or one of its subdomains."""
    if not host or not blocked:
        return False
    parts = host.split(".")
    return any(".".join(parts[i:]) in blocked for i in range(len(parts)))
