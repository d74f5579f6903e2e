"""One rule path for ballots: the same fault refused with the same reason code, whether the
ballot comes through the JSON API (the error body's ``reason``) or as a Mastodon-style vote
Note (the stored refusal and the reply's ``fa:reason``). Real node, real signatures, real
SQLite; refusals of votes answer 202, so the database is asserted."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from support.nodes import RunningNode
from support.remote import RemoteActor, RemoteServer, post_signed

from fedassembly.app import accounts, roster
from fedassembly.app import proposals as uc
from storage import ballots as ballot_repo

AS = "https://www.w3.org/ns/activitystreams"


class World:
    def __init__(self, running: RunningNode, remote: RemoteServer, tokens: dict[str, str]) -> None:
        self.running, self.remote, self.tokens = running, remote, tokens
        self.group_url = f"{running.base}/groups/barrio"

    async def propose(self, method: str, options: list[str]) -> int:
        node = self.running.node
        group = await accounts.get_actor(node, "barrio")
        fac = await accounts.get_actor(node, "fac")
        data = {"title": "Paint", "content": "", "method": method, "options": options,
                "closes_at": "2099-01-01T00:00:00Z"}
        return (await uc.create_proposal(node, group, fac, data)).id

    async def api_ballot(self, person: str, pid: int, ballot: dict[str, Any]) -> tuple[int, Any]:
        return await self.running.api("POST", f"/api/v1/proposals/{pid}/ballots", self.tokens[person], ballot)

    async def poll_vote(self, actor: RemoteActor, pid: int, option: str) -> str:
        """A vote Note as Mastodon sends it; the reason it was refused with (asserted in the db)."""
        note_id = f"{actor.id}#votes/{uuid.uuid4().hex}"
        note = {"id": note_id, "type": "Note", "name": option, "attributedTo": actor.id,
                "inReplyTo": f"{self.running.base}/proposals/{pid}", "to": self.group_url}
        create = {"@context": AS, "id": f"{note_id}/activity", "type": "Create", "actor": actor.id,
                  "to": self.group_url, "object": note}
        status, _ = await post_signed(f"{self.group_url}/inbox", create, actor)
        assert status == 202
        db = self.running.node.db.reader
        [refused] = [r for r in await ballot_repo.list_refused_ballots(db, pid) if r.voter == actor.id]
        assert [b for b in await ballot_repo.list_ballots(db, pid) if b.voter == actor.id] == []
        question = f"{self.running.base}/proposals/{pid}"
        [reply] = await self.remote.wait_for(
            lambda a: a.get("type") == "Create" and a["object"].get("to") == [actor.id]
            and a["object"].get("inReplyTo") == question
        )
        assert reply["object"]["fa:reason"] == refused.reason
        return refused.reason


@pytest.fixture
async def world(nodes, remote: RemoteServer) -> World:
    running = await nodes("a")
    await running.group("barrio")
    tokens = {}
    for name in ("fac", "ana", "zed"):
        tokens[name] = (await running.person(name))[1]
    node = running.node
    group = await accounts.get_actor(node, "barrio")
    await roster.add_member(node, group, "fac", facilitator=True)
    await roster.add_member(node, group, "ana")
    await roster.add_member(node, group, remote.actor("alice").id)
    remote.actor("mallory")  # exists on its server, on no roster here
    return World(running, remote, tokens)


async def test_not_a_member(world: World) -> None:
    pid = await world.propose("single", ["green", "blue"])
    status, body = await world.api_ballot("zed", pid, {"choice": "green"})
    assert (status, body["reason"]) == (403, "not_member")
    assert await world.poll_vote(world.remote.actor("mallory"), pid, "green") == "not_member"


async def test_unknown_option(world: World) -> None:
    pid = await world.propose("single", ["green", "blue"])
    status, body = await world.api_ballot("ana", pid, {"choice": "Green"})
    assert (status, body["reason"]) == (400, "unknown_option")
    assert await world.poll_vote(world.remote.actor("alice"), pid, "Green") == "unknown_option"


async def test_wrong_method(world: World) -> None:
    pid = await world.propose("score", ["green", "blue"])
    status, body = await world.api_ballot("ana", pid, {"choice": "green"})
    assert (status, body["reason"]) == (400, "wrong_method")
    assert await world.poll_vote(world.remote.actor("alice"), pid, "green") == "wrong_method"


async def test_closed(world: World) -> None:
    pid = await world.propose("single", ["green", "blue"])
    await uc.withdraw_proposal(world.running.node, pid)
    status, body = await world.api_ballot("ana", pid, {"choice": "green"})
    assert (status, body["reason"]) == (409, "closed")
    assert await world.poll_vote(world.remote.actor("alice"), pid, "green") == "closed"


async def test_accepted_the_same_way(world: World) -> None:
    """The control: the same ballot from both paths is one leaf each, nothing refused."""
    pid = await world.propose("single", ["green", "blue"])
    status, _ = await world.api_ballot("ana", pid, {"choice": "green"})
    assert status == 201
    alice = world.remote.actor("alice")
    note_id = f"{alice.id}#votes/1"
    note = {"id": note_id, "type": "Note", "name": "green", "attributedTo": alice.id,
            "inReplyTo": f"{world.running.base}/proposals/{pid}", "to": world.group_url}
    create = {"@context": AS, "id": f"{note_id}/activity", "type": "Create", "actor": alice.id,
              "to": world.group_url, "object": note}
    assert (await post_signed(f"{world.group_url}/inbox", create, alice))[0] == 202
    db = world.running.node.db.reader
    ballots = {(b.voter, b.source): b.ballot for b in await ballot_repo.list_ballots(db, pid)}
    assert ballots == {
        (f"{world.running.base}/people/ana", "api"): {"choice": "green"},
        (alice.id, "activitypub"): {"choice": "green"},
    }
    assert await ballot_repo.list_refused_ballots(db, pid) == []
