"""WebFinger (RFC 7033) as Mastodon uses it: parse handles, look actors up, build our JRD.

`lookup` only finds where an actor claims to live. Whoever uses the answer fetches the actor
from that URL and confirms the round trip, as Mastodon does (its preferredUsername@host
WebFingers back to the same id); the JRD alone proves nothing about the actor.
"""

from __future__ import annotations

import re
from typing import Any, TypedDict

from yarl import URL

from federation.addresses import normalize_host
from federation.fetch import FetchError, FetchNetworkError, SafeFetcher, is_activitypub_content_type

JRD_ACCEPT = "application/jrd+json, application/json"
PROFILE_PAGE_REL = "http://webfinger.net/rel/profile-page"

_USER = re.compile(r"[^\s/?#@:\\]+")
_HOST = re.compile(r"(?P<name>\[[0-9A-Fa-f:.]+\]|[^\s/?#@\[\]:\\]+)(?::(?P<port>[0-9]{1,5}))?")


class WebFingerError(FetchError):
    """The WebFinger answer does not name an ActivityPub actor we may fetch."""


class InvalidHandleError(WebFingerError, ValueError):
    """The text is not a `user@host` handle."""


def parse_handle(text: str) -> tuple[str, str]:
    """Split `@user@host`, `user@host` or `acct:user@host` into (user, normalized host[:port])."""
    value = text.strip()
    if value[:5].lower() == "acct:":
        value = value[5:]
    elif value.startswith("@"):
        value = value[1:]
    user, _, host = value.partition("@")
    host_match = _HOST.fullmatch(host)
    if not _USER.fullmatch(user) or host_match is None:
        raise InvalidHandleError(f"{text!r} is not a user@host handle")
    port = host_match["port"]
    return user, normalize_host(host_match["name"]) + (f":{port}" if port else "")


async def lookup(fetcher: SafeFetcher, handle: str) -> str:
    """The actor URL that `handle`'s WebFinger `self` link names; it passes the fetcher's checks."""
    user, host = parse_handle(handle)
    jrd = await _fetch_jrd(fetcher, host, f"acct:{user}@{host}")
    subject = jrd.get("subject")
    if not isinstance(subject, str) or not subject.strip():
        raise WebFingerError(f"WebFinger for {handle} has no subject")
    links = jrd.get("links")
    for link in links if isinstance(links, list) else []:
        if not isinstance(link, dict):
            continue
        href = link.get("href")
        is_self = link.get("rel") == "self" and is_activitypub_content_type(link.get("type"))
        if is_self and isinstance(href, str):
            try:
                fetcher.check_url(href)
            except FetchError as exc:
                # fedify CVE-2026-62857: a discovery document may point anywhere, loopback too.
                raise WebFingerError(f"{handle}: self link {href!r} refused: {exc}") from exc
            return href
    raise WebFingerError(f"WebFinger for {handle} has no ActivityPub self link")


async def _fetch_jrd(fetcher: SafeFetcher, host: str, resource: str) -> dict[str, Any]:
    """GET the JRD over https, and over http too when private addresses are allowed."""
    try:
        return await fetcher.fetch_json(_webfinger_url("https", host, resource), accept=JRD_ACCEPT)
    except FetchNetworkError:
        # Plain http only where private addresses are allowed (tests and demos on loopback):
        # a production node never downgrades a lookup to http.
        if not fetcher.policy.allow_private_addresses:
            raise
    return await fetcher.fetch_json(_webfinger_url("http", host, resource), accept=JRD_ACCEPT)


def _webfinger_url(scheme: str, host: str, resource: str) -> str:
    return str(
        URL.build(
            scheme=scheme,
            authority=host,
            path="/.well-known/webfinger",
            query={"resource": resource},
        )
    )


class JRDLink(TypedDict):
    """One link of a JRD."""

    rel: str
    type: str
    href: str


class JRD(TypedDict):
    """The JSON Resource Descriptor we answer WebFinger queries with."""

    subject: str
    aliases: list[str]
    links: list[JRDLink]


def build_jrd(subject: str, actor_url: str, profile_url: str, aliases: list[str]) -> JRD:
    """The JRD we answer for one actor, shaped as Mastodon's: a profile page and `self` as activity+json."""
    return {
        "subject": subject,
        "aliases": list(aliases),
        "links": [
            {"rel": PROFILE_PAGE_REL, "type": "text/html", "href": profile_url},
            {"rel": "self", "type": "application/activity+json", "href": actor_url},
        ],
    }
