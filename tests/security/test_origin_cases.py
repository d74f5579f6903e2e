"""Attack cases 16, 21–26, 28–30 (see README.md here), origin and authority over objects: ids
belong to their origin. A refusal of an authenticated activity is answered 202, so each test
asserts the database."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from support.remote import RemoteActor, RemoteServer
from support.scene import AS, Scene

from storage import ballots as ballot_repo
from storage import delegations as delegation_repo
from storage import proposals as proposal_repo


@pytest.fixture
async def evil(scene: Scene) -> AsyncIterator[RemoteServer]:
    """Another server, on another host (127.0.0.2), whose actor mallory is a member too."""
    server = await RemoteServer(host="127.0.0.2").start()
    mallory = server.actor("mallory", key_index=1)
    async with scene.db.transaction() as conn:
        await conn.execute(
            "INSERT INTO members (group_id, member, local_actor_id, facilitator, added_at)"
            " SELECT id, ?, NULL, 0, '2026-01-01T00:00:00Z' FROM local_actors WHERE name = 'barrio'",
            (mallory.id,),
        )
    yield server
    await server.stop()


def mastodon_vote(scene: Scene, voter: RemoteActor, pid: int, name: str, n: int) -> dict[str, Any]:
    """The vote Mastodon would send for ``voter``: ids ``ACTOR#votes/N`` (sequential, guessable)."""
    return scene.vote(voter, pid, name, note_id=f"{voter.id}#votes/{n}")


async def test_case_16_create_with_object_on_another_host(scene: Scene) -> None:
    pid = await scene.propose()
    alice = scene.actor("alice")
    await scene.known(alice)
    before = await scene.counts()
    for note_id in (
        "https://evil.example/notes/1",  # another host
        f"{scene.remote.base.replace('127.0.0.1', 'localhost')}/users/alice#votes/1",  # same machine
        f"http://127.0.0.1:{scene.remote.port + 1}/users/alice#votes/1",  # another port
        f"http://alice@127.0.0.1:{scene.remote.port}/users/alice#votes/1",  # userinfo
    ):
        assert await scene.post(scene.vote(alice, pid, "green", note_id=note_id), alice) == 202
    create = scene.vote(alice, pid, "green", activity_id="https://evil.example/activities/1")
    assert await scene.post(create, alice) == 202  # the activity's own id off the origin
    assert await scene.leaves(pid) == [] and await scene.refused(pid) == []
    after = await scene.counts()
    assert after == {**before, "inbox_activities": before["inbox_activities"] + 5}  # kept as refused
    [record] = await scene.records(create["id"])
    assert record.actor == alice.id and record.refusal is not None and "origin" in record.refusal


async def test_case_23_another_servers_member_cannot_spend_a_mastodon_vote_id(
    scene: Scene, evil: RemoteServer, caplog: pytest.LogCaptureFixture
) -> None:
    pid = await scene.propose()
    alice, mallory = scene.actor("alice"), evil.actor("mallory", key_index=1)
    real = mastodon_vote(scene, alice, pid, "blue", 1)
    # Mallory guesses alice's next vote ids and sends them first: the Note's id alone, then both.
    borrowed_note = scene.vote(mallory, pid, "green", note_id=real["object"]["id"],
                               activity_id=evil.new_id(mallory))
    borrowed_both = scene.vote(mallory, pid, "green", note_id=real["object"]["id"], activity_id=real["id"])
    with caplog.at_level(logging.INFO, logger="fedassembly.inbox"):
        for forged in (borrowed_note, borrowed_both):
            assert await scene.post(forged, mallory) == 202
    refusals = [r.getMessage() for r in caplog.records if r.name == "fedassembly.inbox"]
    assert len(refusals) == 2
    assert "refused: object id" in refusals[0] and "refused: activity id" in refusals[1]
    assert await scene.leaves(pid) == [] and await scene.refused(pid) == []
    # Alice's real vote arrives: it counts.
    assert await scene.post(real, alice) == 202
    assert await scene.leaves(pid) == [(alice.id, {"choice": "blue"})]
    records = await scene.records(real["id"])
    assert [(r.actor, r.refusal is None) for r in records] == [(mallory.id, False), (alice.id, True)]
    # And once counted, a copy from mallory changes nothing of hers: no leaf, no reply to mallory.
    late = scene.vote(mallory, pid, "red", note_id=real["object"]["id"], activity_id=evil.new_id(mallory))
    assert await scene.post(late, mallory) == 202
    assert await scene.leaves(pid) == [(alice.id, {"choice": "blue"})]
    assert [voter for voter, _, _ in await _replies(scene, pid)] == [alice.id]


async def test_case_23_a_member_of_the_same_server_cannot_spend_it_either(scene: Scene) -> None:
    # Same origin (only that server could sign this), yet dedupe is per voter: alice's vote counts.
    pid = await scene.propose()
    alice, bob = scene.actor("alice"), scene.actor("bob")
    real = mastodon_vote(scene, alice, pid, "blue", 1)
    assert await scene.post(scene.vote(bob, pid, "green", note_id=real["object"]["id"]), bob) == 202
    assert await scene.post(real, alice) == 202
    assert await scene.leaves(pid) == [(bob.id, {"choice": "green"}), (alice.id, {"choice": "blue"})]


async def _replies(scene: Scene, pid: int) -> list[tuple[str, str, str]]:
    return await ballot_repo.list_vote_replies(scene.db.reader, pid)


async def test_case_21_update_of_a_question_by_someone_else(scene: Scene) -> None:
    pid = await scene.propose()
    alice = scene.actor("alice")
    question = f"{scene.base}/proposals/{pid}"
    before = await proposal_repo.get_proposal_by_id(scene.db.reader, pid)
    update: dict[str, Any] = {
        "@context": AS, "id": scene.remote.new_id(alice), "type": "Update", "actor": alice.id,
        "object": {"id": question, "type": "Question", "attributedTo": scene.group_url,
                   "name": "Demolish?", "oneOf": [{"type": "Note", "name": "yes"}]},
    }
    assert await scene.post(update, alice) == 202
    assert await proposal_repo.get_proposal_by_id(scene.db.reader, pid) == before
    [record] = await scene.records(update["id"])
    assert record.refusal is not None and question in record.refusal


async def test_case_22_delete_of_a_proposal_or_a_vote_by_a_non_owner(
    scene: Scene, evil: RemoteServer
) -> None:
    pid = await scene.propose()
    alice, bob, mallory = scene.actor("alice"), scene.actor("bob"), evil.actor("mallory", key_index=1)
    vote = mastodon_vote(scene, alice, pid, "green", 1)
    assert await scene.post(vote, alice) == 202
    await scene.known(bob, mallory)
    before = await scene.counts()
    note_id = vote["object"]["id"]
    deletes = [
        (bob, f"{scene.base}/proposals/{pid}"),  # our proposal: refused (off bob's origin)
        (mallory, note_id),  # alice's vote, from another server: refused
        (bob, note_id),  # alice's vote, from her own server: we keep no such object, no effect
    ]
    for n, (actor, target) in enumerate(deletes):
        delete = {"@context": AS, "id": f"{actor.id}/deletes/{n}", "type": "Delete",
                  "actor": actor.id, "object": {"id": target, "type": "Tombstone"}}
        assert await scene.post(delete, actor) == 202
    assert await scene.leaves(pid) == [(alice.id, {"choice": "green"})]
    proposal = await proposal_repo.get_proposal_by_id(scene.db.reader, pid)
    assert proposal is not None and proposal.state == "open"
    assert await scene.counts() == {**before, "inbox_activities": before["inbox_activities"] + 3}


async def test_case_24_update_changing_published_of_a_known_vote(scene: Scene) -> None:
    pid = await scene.propose()
    alice = scene.actor("alice")
    vote = mastodon_vote(scene, alice, pid, "green", 1)
    assert await scene.post(vote, alice) == 202
    edited = {**vote["object"], "name": "red", "published": "2000-01-01T00:00:00Z"}
    update = {"@context": AS, "id": f"{alice.id}#updates/1", "type": "Update", "actor": alice.id,
              "object": edited}
    assert await scene.post(update, alice) == 202
    assert await scene.leaves(pid) == [(alice.id, {"choice": "green"})]  # a vote is not edited


async def test_case_25_remote_object_claiming_a_local_author(scene: Scene) -> None:
    pid = await scene.propose()
    alice = scene.actor("alice")
    fac = f"{scene.base}/people/fac"
    await scene.known(alice)
    before = await scene.counts()
    assert await scene.post(scene.vote(alice, pid, "green", attributedTo=fac), alice) == 202
    assert await scene.leaves(pid) == [] and await scene.refused(pid) == []
    # Claiming to be the local actor outright: the key is not on the actor's host.
    forged = {**scene.vote(alice, pid, "green"), "actor": fac}
    assert await scene.post(forged, alice) == 401
    assert await scene.counts() == {**before, "inbox_activities": before["inbox_activities"] + 1}


async def test_case_26_embedded_command_attributed_to_someone_else(scene: Scene) -> None:
    alice, bob = scene.actor("alice"), scene.actor("bob")
    note = {"id": f"{alice.id}/statuses/1", "type": "Note", "attributedTo": bob.id,
            "to": [scene.group_url], "content": f"@barrio delegate {alice.id}",
            "tag": [{"type": "Mention", "href": scene.group_url, "name": "@barrio"}]}
    create = {"@context": AS, "id": f"{alice.id}/statuses/1/activity", "type": "Create", "actor": alice.id,
              "to": [scene.group_url], "object": note}
    await scene.known(alice)
    before = await scene.counts()
    assert await scene.post(create, alice) == 202
    group = await scene.node.db.fetchone("SELECT id FROM local_actors WHERE name = 'barrio'")
    assert group is not None
    assert await delegation_repo.list_delegations(scene.db.reader, group[0]) == []
    after = await scene.counts()
    assert after["delegations"] == before["delegations"] and after["deliveries"] == before["deliveries"]


async def test_case_30_vote_whose_url_is_on_another_host(scene: Scene) -> None:
    pid = await scene.propose()
    alice = scene.actor("alice")
    assert await scene.post(scene.vote(alice, pid, "green", url="https://evil.example/x"), alice) == 202
    [leaf] = await scene.leaves(pid)
    assert leaf == (alice.id, {"choice": "green"})  # counted; the url is kept nowhere we serve


@pytest.mark.parametrize("keyword", ["@graph", "@included", "@reverse"])
async def test_case_28_json_ld_restructuring_keywords(scene: Scene, keyword: str) -> None:
    pid = await scene.propose()
    alice = scene.actor("alice")
    await scene.known(alice)
    before = await scene.counts()
    vote = scene.vote(alice, pid, "green")
    vote["object"]["tag"] = [{"type": "Hashtag", "name": {keyword: [{"id": scene.group_url}]}}]
    assert await scene.post(vote, alice) == 400
    assert await scene.counts() == before


async def test_case_29_an_ld_signature_alone_authenticates_nothing(scene: Scene) -> None:
    pid = await scene.propose()
    alice, bob = scene.actor("alice"), scene.actor("bob")
    await scene.known(bob)
    before = await scene.counts()
    vote = scene.vote(alice, pid, "green")
    vote["@context"] = [AS, {"actor": {"@id": "https://www.w3.org/ns/activitystreams#attributedTo"}}]
    vote["signature"] = {"type": "RsaSignature2017", "creator": alice.key_id,
                         "created": "2026-01-01T00:00:00Z", "signatureValue": "AAAA"}
    body = json.dumps(vote).encode()
    headers = {"content-type": "application/activity+json"}
    async with aiohttp.ClientSession() as session, session.post(scene.inbox, data=body, headers=headers) as r:
        assert r.status == 401  # no HTTP signature
    assert await scene.post(vote, bob) == 401  # relayed: bob's HTTP signature, alice's activity
    assert await scene.counts() == before
