"""Votes from the fediverse on a real node, from a loopback remote
server whose actors are members; every refusal is answered 202, so the database is asserted."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from support.nodes import RunningNode
from support.remote import RemoteActor, RemoteServer, post_signed

from fedassembly.app import accounts
from fedassembly.app import proposals as uc
from fedassembly.app.clock import now_iso
from fedassembly.governance import ballot_log
from storage import ballots as ballot_repo
from storage import members as member_repo
from storage.members import Member

AS = "https://www.w3.org/ns/activitystreams"


class Assembly:
    def __init__(self, running: RunningNode, remote: RemoteServer) -> None:
        self.running = running
        self.remote = remote
        self.group_url = f"{running.base}/groups/barrio"

    @property
    def db(self):
        return self.running.node.db

    async def propose(self, method: str = "single", options: list[str] | None = None) -> int:
        node = self.running.node
        group = await accounts.get_actor(node, "barrio")
        fac = await accounts.get_actor(node, "fac")
        data = {"title": "Repaint?", "content": "Which colour.", "method": method,
                "options": ["green", "blue", "red"] if options is None else options,
                "closes_at": "2099-01-01T00:00:00Z"}
        return (await uc.create_proposal(node, group, fac, data)).id

    async def vote(self, actor: RemoteActor, pid: int, name: str, *, note_id: str | None = None,
                   activity_id: str | None = None, **note: Any) -> int:
        note_id = note_id or f"{actor.id}#votes/{uuid.uuid4().hex}"
        status, _ = await post_signed(f"{self.group_url}/inbox", self.create(actor, pid, name, note_id,
                                                                            activity_id, **note), actor)
        return status

    def create(self, actor: RemoteActor, pid: int, name: str, note_id: str, activity_id: str | None = None,
               **note: Any) -> dict[str, Any]:
        obj = {"id": note_id, "type": "Note", "name": name, "attributedTo": actor.id,
               "inReplyTo": f"{self.running.base}/proposals/{pid}", "to": self.group_url, **note}
        return {"@context": AS, "id": activity_id or f"{note_id}/activity", "type": "Create",
                "actor": actor.id, "to": self.group_url, "object": obj}

    async def leaves(self, pid: int) -> list[tuple[str, dict[str, Any]]]:
        return [(b.voter, b.ballot) for b in await ballot_repo.list_ballots(self.db.reader, pid)]

    async def refused(self, pid: int) -> list[tuple[str, str]]:
        return [(r.voter, r.reason) for r in await ballot_repo.list_refused_ballots(self.db.reader, pid)]

    async def replies(self, pid: int) -> list[tuple[str, str]]:
        rows = await ballot_repo.list_vote_replies(self.db.reader, pid)
        return [(voter, reason) for voter, reason, _ in rows]

    def replies_received(self, actor: RemoteActor) -> list[dict[str, Any]]:
        return [a for a in self.remote.received
                if a.get("type") == "Create" and a["object"].get("to") == [actor.id]]


async def start(running: RunningNode, remote: RemoteServer, members: list[RemoteActor]) -> Assembly:
    """An assembly with a local facilitator and ``members`` from the remote server."""
    await running.group("barrio")
    await running.person("fac")
    node = running.node
    group = await accounts.get_actor(node, "barrio")
    fac = await accounts.get_actor(node, "fac")
    async with node.db.transaction() as conn:
        fac_iri = node.urls.actor("person", "fac")
        await member_repo.put_member(conn, Member(group.id, fac_iri, fac.id, True, now_iso()))
        for actor in members:
            await member_repo.put_member(conn, Member(group.id, actor.id, None, False, now_iso()))
    return Assembly(running, remote)


@pytest.fixture
async def assembly(nodes, remote):
    remote.actor("eve")
    return await start(await nodes("a"), remote, [remote.actor("alice"), remote.actor("bob")])


async def test_accepted_vote_gets_one_receipt_reply(assembly: Assembly) -> None:
    pid = await assembly.propose()
    alice = assembly.remote.actor("alice")
    assert await assembly.vote(alice, pid, "green") == 202
    assert await assembly.leaves(pid) == [(alice.id, {"choice": "green"})]
    [reply] = await assembly.remote.wait_for(lambda a: a in assembly.replies_received(alice))
    note = reply["object"]
    assert reply["actor"] == note["attributedTo"] == assembly.group_url
    assert note["inReplyTo"] == f"{assembly.running.base}/proposals/{pid}" and "cc" not in reply
    assert note["content"].startswith(f"@alice@127.0.0.1:{assembly.remote.port} ")
    handle = f"@alice@127.0.0.1:{assembly.remote.port}"
    assert note["tag"] == [{"type": "Mention", "href": alice.id, "name": handle}]
    assert "fa:reason" not in note
    [leaf] = await ballot_repo.list_ballots(assembly.db.reader, pid)
    receipt_url = f"{assembly.running.base}/proposals/{pid}/receipts/{leaf.leaf_hash}"
    assert receipt_url in note["content"]
    status, receipt = await assembly.running.api("GET", receipt_url.removeprefix(assembly.running.base))
    assert status == 200 and receipt["leaf_hash"] == leaf.leaf_hash and ballot_log.verify_receipt(receipt)
    assert await assembly.replies(pid) == [(alice.id, "accepted")]


async def test_no_receipt_reply_when_the_assembly_turned_receipts_off(assembly: Assembly) -> None:
    from fedassembly.app import roster

    node = assembly.running.node
    await roster.update_settings(node, await accounts.get_actor(node, "barrio"), vote_receipts=False)
    pid = await assembly.propose()
    alice = assembly.remote.actor("alice")
    assert await assembly.vote(alice, pid, "green") == 202
    assert await assembly.leaves(pid) == [(alice.id, {"choice": "green"})]
    await asyncio.sleep(0.6)
    assert assembly.replies_received(alice) == []
    assert await assembly.replies(pid) == []


async def test_single_choice_replaces(assembly: Assembly) -> None:
    pid = await assembly.propose()
    alice = assembly.remote.actor("alice")
    for name in ("green", "blue", "blue"):
        assert await assembly.vote(alice, pid, name) == 202
    assert await assembly.leaves(pid) == [(alice.id, {"choice": "green"}), (alice.id, {"choice": "blue"})]
    _, doc, _ = await assembly.running.get_ap(f"{assembly.running.base}/proposals/{pid}")
    assert [o["replies"]["totalItems"] for o in doc["oneOf"]] == [0, 1, 0] and doc["votersCount"] == 1
    assert await assembly.replies(pid) == [(alice.id, "accepted")]


async def test_approval_accumulates_and_the_same_option_changes_nothing(assembly: Assembly) -> None:
    pid = await assembly.propose("approval")
    alice = assembly.remote.actor("alice")
    for name in ("green", "red", "green"):
        assert await assembly.vote(alice, pid, name) == 202
    assert await assembly.leaves(pid) == [
        (alice.id, {"choices": ["green"]}), (alice.id, {"choices": ["green", "red"]})]
    _, doc, _ = await assembly.running.get_ap(f"{assembly.running.base}/proposals/{pid}")
    assert [o["replies"]["totalItems"] for o in doc["anyOf"]] == [1, 0, 1] and "oneOf" not in doc


async def test_ranked_vote_is_a_first_preference(assembly: Assembly) -> None:
    pid = await assembly.propose("ranked")
    alice = assembly.remote.actor("alice")
    assert await assembly.vote(alice, pid, "blue") == 202
    assert await assembly.leaves(pid) == [(alice.id, {"ranking": ["blue"]})]


@pytest.mark.parametrize(("method", "who", "name", "reason"), [
    ("single", "eve", "green", "not_member"),
    ("single", "alice", "Green", "unknown_option"),
    ("single", "alice", "green ", "unknown_option"),
    ("score", "alice", "green", "wrong_method"),
    ("closed", "alice", "green", "closed"),
])
async def test_refusals_are_kept_and_answered_once(assembly: Assembly, method, who, name, reason) -> None:
    pid = await assembly.propose("single" if method == "closed" else method)
    if method == "closed":
        async with assembly.db.transaction() as conn:
            await conn.execute("UPDATE proposals SET closes_at = ? WHERE id = ?", (time.time() - 1, pid))
    actor = assembly.remote.actor(who)
    for _ in range(3):
        assert await assembly.vote(actor, pid, name) == 202
    assert await assembly.leaves(pid) == []
    assert await assembly.refused(pid) == [(actor.id, reason)] * 3
    assert await assembly.replies(pid) == [(actor.id, reason)]
    [reply] = await assembly.remote.wait_for(lambda a: a in assembly.replies_received(actor))
    assert reply["object"]["fa:reason"] == reason
    await asyncio.sleep(0.3)
    assert len(assembly.replies_received(actor)) == 1


async def test_duplicates_count_once(assembly: Assembly) -> None:
    pid = await assembly.propose("approval")
    alice, bob = assembly.remote.actor("alice"), assembly.remote.actor("bob")
    note_id = f"{alice.id}#votes/1"
    assert await assembly.vote(alice, pid, "green", note_id=note_id) == 202
    assert await assembly.vote(alice, pid, "green", note_id=note_id) == 202  # same activity again
    assert await assembly.vote(alice, pid, "green", note_id=note_id, activity_id=f"{note_id}/again") == 202
    create = assembly.create(bob, pid, "red", f"{bob.id}#votes/7")
    url = f"{assembly.group_url}/inbox"
    statuses = await asyncio.gather(*(post_signed(url, create, bob) for _ in range(5)))
    assert all(status in (200, 202) for status, _ in statuses)
    assert await assembly.leaves(pid) == [(alice.id, {"choices": ["green"]}), (bob.id, {"choices": ["red"]})]
    assert sorted(await assembly.replies(pid)) == [(alice.id, "accepted"), (bob.id, "accepted")]


async def test_attributed_to_someone_else_has_no_effect(assembly: Assembly) -> None:
    pid = await assembly.propose()
    alice, bob = assembly.remote.actor("alice"), assembly.remote.actor("bob")
    assert await assembly.vote(alice, pid, "green", attributedTo=bob.id) == 202
    assert await assembly.vote(alice, pid, "green", content="<p>a comment</p>") == 202
    assert await assembly.leaves(pid) == [] and await assembly.refused(pid) == []
    assert await assembly.replies(pid) == []


async def test_counts_pushed_as_one_coalesced_update_and_withdrawal_shown_closed(nodes, remote) -> None:
    running = await nodes("a", poll_update_seconds=1.0)
    voters = [remote.actor(n) for n in ("alice", "bob", "dan")]
    assembly = await start(running, remote, voters)
    node = running.node
    carol = remote.actor("carol")
    follow = {"@context": AS, "id": remote.new_id(carol), "type": "Follow", "actor": carol.id,
              "object": assembly.group_url}
    assert (await post_signed(f"{assembly.group_url}/inbox", follow, carol))[0] == 202
    pid = await assembly.propose()
    url = f"{running.base}/proposals/{pid}"
    [create] = await remote.wait_for(lambda a: a.get("type") == "Create" and a["object"].get("id") == url)
    assert create["object"]["type"] == "Question" and create["object"]["votersCount"] == 0
    for actor, name in zip(voters, ("green", "green", "blue"), strict=True):
        assert await assembly.vote(actor, pid, name) == 202
    await remote.wait_for(lambda a: a.get("type") == "Update", timeout=5)
    await asyncio.sleep(1.5)
    updates = remote.received_of("Update")
    assert len({u["id"] for u in updates}) == 1  # coalesced: one Update for three votes
    question = updates[0]["object"]
    assert updates[0]["actor"] == assembly.group_url and "updated" not in question
    assert [(o["name"], o["replies"]["totalItems"]) for o in question["oneOf"]] == [
        ("green", 2), ("blue", 1), ("red", 0)]
    assert question["votersCount"] == 3 and "closed" not in question
    row = await node.db.fetchone("SELECT update_due_at FROM proposals WHERE id = ?", (pid,))
    assert row[0] is None

    await uc.withdraw_proposal(node, pid)
    closings = await remote.wait_for(lambda a: a.get("type") == "Update" and "closed" in a["object"])
    assert len({c["id"] for c in closings}) == 1
    closing = closings[0]
    assert closing["object"]["closed"] and "updated" not in closing["object"]
    assert closing["object"]["votersCount"] == 3
