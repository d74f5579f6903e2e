"""One bad request never harms another, on a real node: a stranger's hostile activities among forty
members' votes, signed and posted at once; hostile text refused at the edge and never stored."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import aiohttp
from support.nodes import RunningNode
from support.remote import RemoteActor, RemoteServer, post_signed, signed_headers

from fedassembly.app import accounts
from fedassembly.app import proposals as uc
from fedassembly.app.clock import now_iso
from storage import ballots as ballot_repo
from storage import members as member_repo
from storage.members import Member

AS = "https://www.w3.org/ns/activitystreams"
MEMBERS = 40


async def assembly(running: RunningNode, members: list[RemoteActor]) -> tuple[str, int, str]:
    """barrio with ``members`` on its roster, an open proposal; (group URL, proposal id, token)."""
    group_url = await running.group("barrio")
    fac_url, token = await running.person("fac")
    node = running.node
    group = await accounts.get_actor(node, "barrio")
    fac = await accounts.get_actor(node, "fac")
    async with node.db.transaction() as conn:
        await member_repo.put_member(conn, Member(group.id, fac_url, fac.id, True, now_iso()))
        for actor in members:
            await member_repo.put_member(conn, Member(group.id, actor.id, None, False, now_iso()))
    data = {"title": "Repaint?", "content": "Which colour.", "method": "single",
            "options": ["green", "ñandú 🎨"], "closes_at": "2099-01-01T00:00:00Z"}
    proposal = await uc.create_proposal(node, group, fac, data)
    # Keys and documents known already, as on a busy node: the requests then reach the writer
    # together, in the same batches.
    for actor in members:
        await node.remote.get(actor.key_id)
        await node.remote.actor(actor.id)
    return group_url, proposal.id, token


def vote(base: str, group_url: str, actor: RemoteActor, proposal: int) -> dict[str, Any]:
    note_id = f"{actor.id}/statuses/{uuid.uuid4().hex}"
    note = {"id": note_id, "type": "Note", "name": "green", "attributedTo": actor.id,
            "inReplyTo": f"{base}/proposals/{proposal}", "to": group_url}
    return {"@context": AS, "id": f"{note_id}/activity", "type": "Create", "actor": actor.id,
            "to": group_url, "object": note}


def hostile_bodies(stranger: RemoteActor) -> list[bytes]:
    """A stranger's activities whose text no column can hold, each signed as sent."""
    base = {"@context": AS, "actor": stranger.id, "object": {"type": "Note", "content": "hi"}}

    def body(activity: dict[str, Any]) -> bytes:
        return json.dumps({**base, **activity}).encode()

    return [
        body({"id": f"{stranger.id}/a/1\ud800", "type": "Note"}),  # escaped lone surrogate in the id
        body({"id": f"{stranger.id}/a/2", "type": "Like\udfff"}),  # ... in the type
        body({"id": f"{stranger.id}/a/3", "type": "Create",
              "object": {"type": "Note", "content": "x", "tag": [{"name": "\udb00"}]}}),  # deep down
        body({"id": f"{stranger.id}/a/4", "type": "Create"}).replace(b'"hi"', b'"\xed\xa0\x80"'),
        body({"id": f"{stranger.id}/a/5", "type": "Create"}).replace(b'"hi"', b'"\xc3\x28"'),  # bad UTF-8
    ]


async def test_a_strangers_hostile_activities_among_forty_votes_harm_none(
    nodes, remote: RemoteServer
) -> None:
    running = await nodes("a")
    members = [remote.actor(f"m{i}") for i in range(MEMBERS)]
    stranger = remote.actor("stranger")
    group_url, proposal, _token = await assembly(running, members)
    await running.node.remote.get(stranger.key_id)
    inbox = f"{group_url}/inbox"

    async def post_raw(body: bytes) -> int:
        headers = signed_headers(stranger, inbox, body)
        async with aiohttp.ClientSession() as session, session.post(inbox, data=body, headers=headers) as r:
            return r.status

    votes = [post_signed(inbox, vote(running.base, group_url, m, proposal), m) for m in members]
    hostile = [post_raw(body) for body in hostile_bodies(stranger)]
    # Interleaved: a hostile request every eight votes.
    requests: list[Any] = []
    for i, request in enumerate(votes):
        requests.append(request)
        if i % 8 == 3 and hostile:
            requests.append(hostile.pop())
    requests.extend(hostile)
    results = await asyncio.gather(*requests)
    statuses = [r[0] if isinstance(r, tuple) else r for r in results]
    assert sorted(statuses) == sorted([202] * MEMBERS + [400] * 5), statuses

    db = running.node.db
    leaves = await ballot_repo.list_ballots(db.reader, proposal)
    assert sorted(leaf.voter for leaf in leaves) == sorted(m.id for m in members)
    assert [leaf.seq for leaf in leaves] == list(range(MEMBERS))
    # Nothing of the stranger's was stored.
    row = await db.fetchone("SELECT COUNT(*) FROM inbox_activities WHERE actor = ?", (stranger.id,))
    assert row is not None and row[0] == 0
    row = await db.fetchone("SELECT COUNT(*) FROM inbox_activities")
    assert row is not None and row[0] == MEMBERS
    assert await db.integrity_check() == "ok"


async def test_hostile_text_in_an_api_body_is_refused_and_never_stored(nodes, remote: RemoteServer) -> None:
    running = await nodes("a")
    _group_url, proposal, token = await assembly(running, [])
    path = f"/api/v1/proposals/{proposal}/ballots"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    bodies = [
        b'{"choice": "green\\ud800"}',
        b'{"choice": "green\xed\xa0\x80"}',
        b'{"choice": "green\xff"}',
        b'{"choice": NaN}',
        '{"choice": "green"}'.encode("utf-16"),
    ]
    async with aiohttp.ClientSession() as session:
        for body in bodies:
            async with session.post(running.base + path, data=body, headers=headers) as response:
                assert response.status == 400, body
                answer = await response.json()
                assert answer["error"].startswith("the body is not JSON"), answer
    assert await ballot_repo.list_ballots(running.node.db.reader, proposal) == []
    # Text that is not ASCII is fine, raw or escaped.
    for body in ('{"choice": "ñandú 🎨"}'.encode(), b'{"choice": "\\u00f1and\\u00fa \\ud83c\\udfa8"}'):
        async with (
            aiohttp.ClientSession() as session,
            session.post(running.base + path, data=body, headers=headers) as response,
        ):
            assert response.status == 201, await response.text()
    leaves = await ballot_repo.list_ballots(running.node.db.reader, proposal)
    assert [leaf.ballot for leaf in leaves] == [{"choice": "ñandú 🎨"}] * 2


ODD_IDS = ["9" * 19, str(2**63), str(2**64), "9" * 30, "9" * 5000, "٣", "¹", "-1", "1e3", "0x1", "1.0"]


async def test_every_route_with_a_numeric_id_answers_404_for_ids_that_cannot_be_ours(
    nodes, remote: RemoteServer
) -> None:
    running = await nodes("a")
    _group_url, proposal, token = await assembly(running, [])
    numeric = [
        (route.method, resource.get_info()["formatter"])
        for resource in running.runner.app.router.resources()
        for route in resource
        if "(?P<id>[0-9]+)" in str(resource.get_info().get("pattern", ""))
    ]
    assert len(numeric) >= 8, numeric  # the proposal API, the Question, receipts, decision, ballots
    leaf = "0" * 64
    for method, formatter in numeric:
        for odd in ODD_IDS:
            path = formatter.format(id=odd, leaf=leaf)
            status, body = await running.api(method, path, token, data=b"{}")
            assert status == 404, (method, path[:80], status, body)
        # The real id reaches the handler (whatever it then answers).
        status, _ = await running.api(method, formatter.format(id=proposal, leaf=leaf), token, data=b"{}")
        assert status != 404 or formatter.endswith(("receipt", "decision", "{leaf}")), (method, formatter)
