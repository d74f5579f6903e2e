"""The inbox limit for strangers, per remote host, on a real node and real signed requests.

Strangers (actors on no roster of the node) beyond their host's burst get 429 with Retry-After,
and nothing of theirs is fetched or stored; strangers of another host, and members of the
flooded host, are not hindered. The limits are set tight here, so that a limit which counted
members would refuse nearly all of them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from support.clock import SteppedClock
from support.nodes import RunningNode
from support.remote import RemoteActor, RemoteServer, post_signed, signed_headers

from fedassembly.app import accounts, roster_import
from fedassembly.app import proposals as proposal_uc
from fedassembly.app.clock import now_iso
from fedassembly.app.roster_index import FRESH_SECONDS
from storage import ballots as ballot_repo
from storage import inbox as inbox_repo
from storage import members as member_repo
from storage.members import Member

AS = "https://www.w3.org/ns/activitystreams"


class Assembly:
    """An assembly "barrio" with one open proposal, on a node whose clock the test steps."""

    def __init__(self, running: RunningNode, clock: SteppedClock, proposal: int) -> None:
        self.running, self.clock, self.proposal = running, clock, proposal
        self.group_url = f"{running.base}/groups/barrio"
        self.inbox = f"{self.group_url}/inbox"

    def vote(self, actor: RemoteActor, option: str = "green") -> dict[str, Any]:
        note_id = f"{actor.id}#votes/{uuid.uuid4().hex}"
        note = {"id": note_id, "type": "Note", "name": option, "attributedTo": actor.id,
                "inReplyTo": f"{self.running.base}/proposals/{self.proposal}", "to": self.group_url}
        return {"@context": AS, "id": f"{note_id}/activity", "type": "Create", "actor": actor.id,
                "to": self.group_url, "object": note}

    async def recorded(self, activity: dict[str, Any]) -> bool:
        return await inbox_repo.count_inbox_activities(self.running.node.db.reader, activity["id"]) == 1

    async def voters(self) -> set[str]:
        return {b.voter for b in await ballot_repo.list_ballots(self.running.node.db.reader, self.proposal)}

    async def refused_voters(self) -> list[str]:
        rows = await ballot_repo.list_refused_ballots(self.running.node.db.reader, self.proposal)
        return [r.voter for r in rows]

    async def add_member(self, actor: RemoteActor) -> None:
        """Straight into the roster table, as another process would: the node must notice."""
        node = self.running.node
        group = await accounts.get_actor(node, "barrio")
        async with node.db.transaction() as conn:
            await member_repo.put_member(conn, Member(group.id, actor.id, None, False, now_iso()))


async def assembly_on(running: RunningNode, clock: SteppedClock) -> Assembly:
    node = running.node
    await running.group("barrio")
    await running.person("fac")
    group, fac = await accounts.get_actor(node, "barrio"), await accounts.get_actor(node, "fac")
    async with node.db.transaction() as conn:
        fac_iri = f"{running.base}/people/fac"
        await member_repo.put_member(conn, Member(group.id, fac_iri, fac.id, True, now_iso()))
    proposal = await proposal_uc.create_proposal(node, group, fac, {
        "title": "Repaint?", "content": "Which colour.", "method": "single",
        "options": ["green", "blue"], "closes_at": "2099-01-01T00:00:00Z",
    })
    return Assembly(running, clock, proposal.id)


@pytest.fixture
async def other_host():
    """A second remote server, on another loopback address: another host for the limit."""
    server = await RemoteServer(host="127.0.0.2").start()
    yield server
    await server.stop()


async def post(inbox: str, activity: dict[str, Any], actor: RemoteActor) -> tuple[int, str | None]:
    """POST signed; (status, Retry-After)."""
    body = json.dumps(activity).encode()
    async with aiohttp.ClientSession() as session, session.post(
        inbox, data=body, headers=signed_headers(actor, inbox, body)
    ) as response:
        await response.read()
        return response.status, response.headers.get("Retry-After")


async def test_strangers_beyond_their_hosts_burst_wait_and_nobody_else_does(
    nodes, remote: RemoteServer, other_host: RemoteServer, caplog: pytest.LogCaptureFixture,
) -> None:
    clock = SteppedClock()
    running = await nodes("a", clock=clock, stranger_burst=3, stranger_rate_per_host=0.5)
    assembly = await assembly_on(running, clock)
    member = remote.actor("rita")
    await assembly.add_member(member)
    strangers = [remote.actor(f"s{i}") for i in range(10)]
    votes = [assembly.vote(s) for s in strangers]
    caplog.set_level(logging.WARNING, logger="fedassembly.app.strangers")

    answers = [await post(assembly.inbox, vote, s) for vote, s in zip(votes, strangers, strict=True)]
    assert answers == [(202, None)] * 3 + [(429, "2")] * 7  # 2 s until the next token, at 0.5/s
    # The refused cost nothing: no key fetched, no activity recorded, no refused ballot kept.
    assert [remote.fetched[f"/users/s{i}"] for i in range(10)] == [1, 1, 1] + [0] * 7
    assert [await assembly.recorded(v) for v in votes] == [True] * 3 + [False] * 7
    assert await assembly.refused_voters() == [s.id for s in strangers[:3]]
    lines = [r for r in caplog.records if r.name == "fedassembly.app.strangers"]
    assert len(lines) == 1 and "127.0.0.1" in lines[0].getMessage(), "one line per host per window"

    # Another host's strangers have a bucket of their own.
    far = other_host.actor("far")
    assert await post(assembly.inbox, assembly.vote(far), far) == (202, None)
    # A member of the flooded host votes during the flood.
    assert await post(assembly.inbox, assembly.vote(member), member) == (202, None)
    # So does one added during it by another writer: the rosters are read again before a refusal
    # (at most every FRESH_SECONDS; the background catch-up only comes every second).
    newcomer = remote.actor("tom")
    await assembly.add_member(newcomer)
    await asyncio.sleep(FRESH_SECONDS)
    assert await post(assembly.inbox, assembly.vote(newcomer), newcomer) == (202, None)
    assert await assembly.voters() == {member.id, newcomer.id}
    late = remote.actor("s10")
    assert (await post(assembly.inbox, assembly.vote(late), late))[0] == 429

    clock.step(2)  # Retry-After later, one token is back
    assert (await post(assembly.inbox, assembly.vote(late), late))[0] == 202
    assert (await post(assembly.inbox, assembly.vote(late), late))[0] == 429
    assert await running.node.db.integrity_check() == "ok"


async def test_a_meeting_of_200_members_of_one_server_votes_within_a_minute_unhindered(
    nodes, remote: RemoteServer, tmp_path: Path,
) -> None:
    clock = SteppedClock()
    running = await nodes("a", clock=clock, stranger_burst=5, stranger_rate_per_host=1.0)
    assembly = await assembly_on(running, clock)
    members = [remote.actor(f"m{i}") for i in range(200)]
    sheet = tmp_path / "roster.csv"
    sheet.write_text("name,actor\n" + "".join(f"m{i},{m.id}\n" for i, m in enumerate(members)))
    group = await accounts.get_actor(running.node, "barrio")
    imported = await roster_import.import_members(running.node, group, sheet, None)
    assert imported.added == 200

    signed = []
    for i, member in enumerate(members):
        body = json.dumps(assembly.vote(member, ["green", "blue"][i % 2])).encode()
        signed.append((body, signed_headers(member, assembly.inbox, body)))
    statuses: list[int] = []
    started = time.monotonic()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=8)) as session:

        async def send(body: bytes, headers: dict[str, str]) -> None:
            async with session.post(assembly.inbox, data=body, headers=headers) as response:
                await response.read()
                statuses.append(response.status)

        await asyncio.gather(*(send(body, headers) for body, headers in signed))
    elapsed = time.monotonic() - started
    assert statuses == [202] * 200
    assert elapsed < 60
    assert await assembly.voters() == {m.id for m in members}
    assert await ballot_repo.count_ballots(running.node.db.reader, assembly.proposal) == 200


async def test_a_stranger_naming_a_member_is_not_limited_but_refused_by_the_signature(
    nodes, remote: RemoteServer,
) -> None:
    clock = SteppedClock()
    running = await nodes("a", clock=clock, stranger_burst=1, stranger_rate_per_host=0.1)
    assembly = await assembly_on(running, clock)
    member, liar = remote.actor("rita"), remote.actor("mallory", key_index=1)
    await assembly.add_member(member)
    # Membership reaches the limit at its next look at the rosters: every second, or before a
    # refusal once 0.1 s (real time) have passed since the last look.
    await asyncio.sleep(FRESH_SECONDS * 1.5)
    assert (await post(assembly.inbox, assembly.vote(liar), liar))[0] == 202  # the host's one token
    forged = assembly.vote(member)
    body = json.dumps(forged).encode()
    headers = signed_headers(RemoteActor(member.id, member.name, liar.private_pem), assembly.inbox, body)
    status, _ = await post_signed(assembly.inbox, forged, member, body=body, headers=headers)
    assert status == 401  # past the limit as a member, stopped by the member's real key
    assert not await assembly.recorded(forged) and await assembly.voters() == set()
    assert await post(assembly.inbox, assembly.vote(member), member) == (202, None)


async def test_requests_refused_before_the_limit_spend_nothing_of_it(
    nodes, remote: RemoteServer, other_host: RemoteServer,
) -> None:
    clock = SteppedClock()
    running = await nodes("a", clock=clock, stranger_burst=1, stranger_rate_per_host=0.1)
    assembly = await assembly_on(running, clock)
    stranger, elsewhere = remote.actor("s0"), other_host.actor("e0")
    vote = assembly.vote(stranger)
    body = json.dumps(vote).encode()
    async with aiohttp.ClientSession() as session:
        for _ in range(3):  # unsigned
            async with session.post(assembly.inbox, data=body) as response:
                assert response.status == 401
    for _ in range(3):  # a keyId on another host than the actor it claims
        headers = signed_headers(elsewhere, assembly.inbox, body)
        assert (await post_signed(assembly.inbox, vote, stranger, body=body, headers=headers))[0] == 401
    assert await post(assembly.inbox, vote, stranger) == (202, None)  # the host's one token is still there
