"""WebFinger, host-meta and NodeInfo 2.0/2.1."""

from __future__ import annotations

import json

from aiohttp import web

from fedassembly.app import queries
from fedassembly.app.urls import Urls
from fedassembly.web.common import json_response, node_of
from federation.webfinger import build_jrd

SOFTWARE_VERSION = "0.1.0"


async def webfinger(request: web.Request) -> web.Response:
    """``acct:NAME@HOST`` (host compared case-insensitively) or an actor URL → its JRD."""
    node = node_of(request)
    resource = request.query.get("resource", "")
    name = _name_from_resource(node.urls, resource)
    actor = await queries.webfinger_actor(node, name) if name else None
    if actor is None:
        return web.json_response(
            {"error": "not found"}, status=404, headers={"Access-Control-Allow-Origin": "*"}
        )
    actor_url = node.urls.actor(actor.kind, actor.name)
    subject = f"acct:{actor.name}@{node.urls.host}"
    jrd = build_jrd(subject, actor_url, actor_url, [actor_url])
    return web.json_response(
        jrd, content_type="application/jrd+json", headers={"Access-Control-Allow-Origin": "*"}
    )


def _name_from_resource(urls: Urls, resource: str) -> str | None:
    if resource.lower().startswith("acct:"):
        user, _, domain = resource[5:].lstrip("@").rpartition("@")
        return user if user and domain.lower() == urls.host.lower() else None
    if resource == urls.actor("instance", "actor"):
        return "actor"
    found = urls.actor_name(resource)
    return found[1] if found is not None else None


async def host_meta(request: web.Request) -> web.Response:
    """The LRDD template pointing at our WebFinger (Mastodon's fallback after a WebFinger 404)."""
    base = node_of(request).urls.base
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template="{base}/.well-known/webfinger?resource={{uri}}"/>\n'
        "</XRD>\n"
    )
    return web.Response(
        text=xml, content_type="application/xrd+xml", headers={"Access-Control-Allow-Origin": "*"}
    )


async def nodeinfo_links(request: web.Request) -> web.Response:
    """The NodeInfo discovery document, offering 2.0 and 2.1."""
    base = node_of(request).urls.base
    return json_response(
        {
            "links": [
                {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.0", "href": f"{base}/nodeinfo/2.0"},
                {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": f"{base}/nodeinfo/2.1"},
            ]
        }
    )


async def nodeinfo(request: web.Request) -> web.Response:
    """NodeInfo 2.0 or 2.1 with usage counts and assembly/council counts."""
    node = node_of(request)
    version = request.match_info["version"]
    if version not in ("2.0", "2.1"):
        return json_response({"error": "unknown NodeInfo version"}, 404)
    counts, posts = await queries.usage(node)
    software = {"name": "fedassembly", "version": SOFTWARE_VERSION}
    if version == "2.1":
        software["repository"] = "https://github.com/fedassembly/fedassembly"
    people = counts.get("person", 0)
    doc = {
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": False,
        "usage": {
            "users": {"total": people, "activeMonth": people, "activeHalfyear": people},
            "localPosts": posts,
        },
        "metadata": {"assemblies": counts.get("assembly", 0), "councils": counts.get("council", 0)},
    }
    profile = f"http://nodeinfo.diaspora.software/ns/schema/{version}#"
    return web.Response(
        body=json.dumps(doc).encode(), headers={"Content-Type": f'application/json; profile="{profile}"'}
    )
