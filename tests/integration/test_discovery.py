"""WebFinger, NodeInfo, host-meta and actor documents as Mastodon and fedify read them."""

from __future__ import annotations

import aiohttp
from multidict import CIMultiDictProxy
from pyld import jsonld


async def get(url: str, accept: str = "application/json") -> tuple[int, dict, CIMultiDictProxy[str]]:
    async with aiohttp.ClientSession() as session, session.get(url, headers={"Accept": accept}) as r:
        text = await r.text()
        return (
            r.status,
            (await r.json(content_type=None) if text.startswith("{") else {"text": text}),
            r.headers,
        )


async def test_webfinger_acct_and_actor_url(nodes) -> None:
    a = await nodes("a")
    group_url = await a.group("barrio")
    host = a.node.urls.host
    status, jrd, headers = await get(f"{a.base}/.well-known/webfinger?resource=acct:barrio@{host.upper()}")
    assert status == 200
    assert headers["Content-Type"].startswith("application/jrd+json")
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert jrd["subject"] == f"acct:barrio@{host}"
    selfs = [link for link in jrd["links"] if link["rel"] == "self"]
    assert selfs == [{"rel": "self", "type": "application/activity+json", "href": group_url}]
    status, by_url, _ = await get(f"{a.base}/.well-known/webfinger?resource={group_url}")
    assert status == 200 and by_url["subject"] == jrd["subject"]
    for unknown in ("acct:nobody@" + host, "acct:barrio@elsewhere.example", f"{a.base}/groups/nobody"):
        status, _, _ = await get(f"{a.base}/.well-known/webfinger?resource={unknown}")
        assert status == 404, unknown


async def test_nodeinfo_both_versions(nodes) -> None:
    a = await nodes("a")
    await a.group("barrio")
    await a.group("confed", "council")
    status, links, _ = await get(f"{a.base}/.well-known/nodeinfo")
    assert status == 200
    hrefs = {link["rel"].rsplit("/", 1)[1]: link["href"] for link in links["links"]}
    assert set(hrefs) == {"2.0", "2.1"}
    for version, href in hrefs.items():
        status, info, _ = await get(href)
        assert status == 200 and info["version"] == version
        assert info["software"]["name"] == "fedassembly"
        assert info["metadata"] == {"assemblies": 1, "councils": 1}
        assert info["protocols"] == ["activitypub"]
    status, xrd, _ = await get(f"{a.base}/.well-known/host-meta")
    assert status == 200 and "lrdd" in xrd["text"]


async def test_group_actor_document(nodes) -> None:
    a = await nodes("a")
    group_url = await a.group("barrio")
    status, doc, content_type = await a.get_ap(group_url)
    assert status == 200 and content_type == "application/activity+json"
    assert doc["type"] == "Group" and doc["preferredUsername"] == "barrio"
    assert doc["inbox"] == f"{group_url}/inbox"
    assert doc["endpoints"]["sharedInbox"] == f"{a.base}/inbox"
    assert doc["publicKey"]["id"] == f"{group_url}#main-key"
    assert doc["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert doc["assertionMethod"][0]["publicKeyMultibase"].startswith("z6Mk")
    assert doc["fa:kind"] == "assembly"
    # Our inline context makes fa: terms expand to our namespace and votersCount to Mastodon's.
    expanded = jsonld.expand(doc, {"documentLoader": _offline_loader})
    assert expanded[0]["https://w3id.org/fedassembly#kind"][0]["@value"] == "assembly"
    status, page, _ = await get(group_url, accept="text/html")
    assert status == 200 and "barrio" in page["text"]
    status, instance, _ = await a.get_ap(f"{a.base}/actor")
    assert status == 200 and instance["type"] == "Application"
    status, _, _ = await a.get_ap(f"{a.base}/groups/nobody")
    assert status == 404


async def test_collections_are_paged(nodes) -> None:
    from fedassembly.app import accounts, follows

    a = await nodes("a")
    group_url = await a.group("barrio")
    group = await accounts.get_actor(a.node, "barrio")
    for i in range(3):
        await follows.announce(a.node, group, f"news {i}")
    status, outbox, _ = await a.get_ap(f"{group_url}/outbox")
    assert status == 200 and outbox["type"] == "OrderedCollection" and outbox["totalItems"] == 3
    status, page, _ = await a.get_ap(outbox["first"])
    assert page["type"] == "OrderedCollectionPage"
    assert [item["object"]["content"] for item in page["orderedItems"]] == [
        "<p>news 2</p>",
        "<p>news 1</p>",
        "<p>news 0</p>",
    ]
    status, followers, _ = await a.get_ap(f"{group_url}/followers")
    assert status == 200 and followers["totalItems"] == 0


_CONTEXTS: dict[str, dict] = {}


def _offline_loader(url: str, options: dict) -> dict:
    """Minimal offline documents for the remote contexts (only the terms our test reads)."""
    documents = {
        "https://www.w3.org/ns/activitystreams": {
            "@context": {"as": "https://www.w3.org/ns/activitystreams#", "id": "@id", "type": "@type"}
        },
        "https://w3id.org/security/v1": {"@context": {"sec": "https://w3id.org/security#"}},
        "https://w3id.org/security/data-integrity/v1": {"@context": {"sec": "https://w3id.org/security#"}},
    }
    return {"contextUrl": None, "documentUrl": url, "document": documents[url]}
