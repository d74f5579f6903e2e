"""Attack cases 47–60 (see README.md here), votes, proposals and delegation: fediverse votes on a
real node (every refusal answered 202, so the ballot log, the refusals and the replies are
asserted), and liquid delegation through the JSON API and a real close."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from support.scene import AS, Scene

from fedassembly.app import accounts
from fedassembly.app.clock import iso, now_iso
from storage import ballots as ballot_repo
from storage import members as member_repo
from storage.members import Member


async def close_now(scene: Scene, pid: int) -> None:
    """Move the closing time to the past (the closer has not run: the proposal is still open)."""
    async with scene.db.transaction() as conn:
        await conn.execute("UPDATE proposals SET closes_at = ? WHERE id = ?", (time.time() - 1, pid))


async def replies(scene: Scene, pid: int) -> list[tuple[str, str]]:
    return [(voter, reason) for voter, reason, _ in await ballot_repo.list_vote_replies(scene.db.reader, pid)]


async def voters_count(scene: Scene, pid: int) -> int:
    _, question, _ = await scene.running.get_ap(f"{scene.base}/proposals/{pid}")
    return int(question["votersCount"])


async def test_case_47_vote_on_a_closed_proposal(scene: Scene) -> None:
    pid = await scene.propose()
    alice = scene.actor("alice")
    await close_now(scene, pid)
    assert await scene.post(scene.vote(alice, pid, "green"), alice) == 202
    assert await scene.leaves(pid) == [] and await voters_count(scene, pid) == 0
    assert await scene.refused(pid) == [(alice.id, "closed")]
    [reply] = await scene.remote.wait_for(lambda a: a.get("object", {}).get("fa:reason") == "closed")
    assert reply["object"]["to"] == [alice.id]


async def test_case_48_back_dated_vote_arriving_after_the_close(scene: Scene) -> None:
    pid = await scene.propose()
    alice = scene.actor("alice")
    await close_now(scene, pid)
    vote = scene.vote(alice, pid, "green", published=iso(time.time() - 3600))
    vote["published"] = vote["object"]["published"]
    assert await scene.post(vote, alice) == 202
    assert await scene.leaves(pid) == [] and await scene.refused(pid) == [(alice.id, "closed")]


@pytest.mark.parametrize("name", ["Green", "green ", " green", "GREEN", "gr\u0435en"])  # last: Cyrillic е
async def test_case_49_option_name_that_is_not_exact(scene: Scene, name: str) -> None:
    pid = await scene.propose()
    alice = scene.actor("alice")
    assert await scene.post(scene.vote(alice, pid, name), alice) == 202
    assert await scene.leaves(pid) == [] and await scene.refused(pid) == [(alice.id, "unknown_option")]
    assert await replies(scene, pid) == [(alice.id, "unknown_option")]


async def test_case_50_the_same_vote_delivered_twice_counts_once(scene: Scene) -> None:
    pid = await scene.propose("approval")
    alice = scene.actor("alice")
    vote = scene.vote(alice, pid, "green")
    statuses = await asyncio.gather(*(scene.post(vote, alice) for _ in range(5)))
    assert statuses == [202] * 5
    again = scene.vote(alice, pid, "green", note_id=vote["object"]["id"], activity_id=f"{vote['id']}/again")
    assert await scene.post(again, alice) == 202  # the same Note under a new activity id
    assert await scene.leaves(pid) == [(alice.id, {"choices": ["green"]})]
    assert await replies(scene, pid) == [(alice.id, "accepted")]


async def test_case_51_a_second_vote_on_single_choice_replaces_the_first(scene: Scene) -> None:
    pid = await scene.propose()
    alice = scene.actor("alice")
    for name in ("green", "blue"):
        assert await scene.post(scene.vote(alice, pid, name), alice) == 202
    assert await scene.leaves(pid) == [(alice.id, {"choice": "green"}), (alice.id, {"choice": "blue"})]
    _, question, _ = await scene.running.get_ap(f"{scene.base}/proposals/{pid}")
    assert [o["replies"]["totalItems"] for o in question["oneOf"]] == [0, 1, 0]
    assert question["votersCount"] == 1


async def test_case_52_multiple_choice_the_same_option_twice(scene: Scene) -> None:
    pid = await scene.propose("approval")
    alice = scene.actor("alice")
    for name in ("green", "green", "red"):
        assert await scene.post(scene.vote(alice, pid, name), alice) == 202
    assert await scene.leaves(pid) == [
        (alice.id, {"choices": ["green"]}), (alice.id, {"choices": ["green", "red"]})]
    _, question, _ = await scene.running.get_ap(f"{scene.base}/proposals/{pid}")
    assert [o["replies"]["totalItems"] for o in question["anyOf"]] == [1, 0, 1]


async def test_case_54_vote_from_someone_not_on_the_roster(scene: Scene) -> None:
    pid = await scene.propose()
    eve = scene.actor("eve")  # follows nobody, claims nothing: our roster decides
    for _ in range(2):
        assert await scene.post(scene.vote(eve, pid, "green"), eve) == 202
    assert await scene.leaves(pid) == []
    assert await scene.refused(pid) == [(eve.id, "not_member")] * 2
    assert await replies(scene, pid) == [(eve.id, "not_member")]


async def test_case_55_vote_attributed_to_someone_other_than_the_sender(scene: Scene) -> None:
    pid = await scene.propose()
    alice, bob = scene.actor("alice"), scene.actor("bob")
    assert await scene.post(scene.vote(alice, pid, "green", attributedTo=bob.id), alice) == 202
    assert await scene.post(scene.vote(alice, pid, "green", attributedTo=None), alice) == 202
    assert await scene.leaves(pid) == [] and await scene.refused(pid) == []
    assert await replies(scene, pid) == []


async def test_case_56_vote_on_a_proposal_that_is_not_ours(scene: Scene) -> None:
    pid = await scene.propose()
    alice = scene.actor("alice")
    await scene.known(alice)
    before = await scene.counts()
    for target in ("https://elsewhere.example/proposals/1", f"{scene.base}/proposals/{pid}x",
                   f"{scene.base}/proposals/{pid + 100}"):
        vote = scene.vote(alice, pid, "green", inReplyTo=target)
        assert await scene.post(vote, alice) == 202
    assert await scene.leaves(pid) == [] and await scene.refused(pid) == []
    after = await scene.counts()  # recorded; no ballot, no refusal, no reply
    assert after == {**before, "inbox_activities": before["inbox_activities"] + 3}


async def test_case_57_vote_forwarded_inside_an_announce(scene: Scene) -> None:
    pid = await scene.propose()
    alice, bob = scene.actor("alice"), scene.actor("bob")
    vote = scene.vote(alice, pid, "green")
    announce = {"@context": AS, "id": f"{bob.id}/announces/1", "type": "Announce", "actor": bob.id,
                "to": scene.group_url, "object": vote}
    assert await scene.post(announce, bob) == 202
    assert await scene.leaves(pid) == [] and await scene.refused(pid) == []


# -- liquid delegation: local members through the JSON API -------------------------------------

async def local_members(scene: Scene, *names: str) -> dict[str, str]:
    """Local people on the roster; their API tokens (fac's too, to propose)."""
    tokens = {"fac": await accounts.create_token(scene.node, "fac")}
    group = await accounts.get_actor(scene.node, "barrio")
    for name in names:
        _, tokens[name] = await scene.running.person(name)
        person = await accounts.get_actor(scene.node, name)
        async with scene.db.transaction() as conn:
            iri = scene.node.urls.actor("person", name)
            await member_repo.put_member(conn, Member(group.id, iri, person.id, False, now_iso()))
    return tokens


async def api(scene: Scene, method: str, path: str, token: str, body: Any = None) -> Any:
    status, answer = await scene.running.api(method, path, token, body)
    assert status in (200, 201, 204), (status, answer)
    return answer


async def propose(scene: Scene, tokens: dict[str, str], closes_in: float = 3600.0) -> int:
    body = {"title": "Lot?", "content": "Decide.", "method": "single", "options": ["garden", "parking"],
            "closes_at": iso(int(time.time() + closes_in) + 1)}
    return int((await api(scene, "POST", "/api/v1/groups/barrio/proposals", tokens["fac"], body))["id"])


async def vote(scene: Scene, token: str, pid: int, choice: str) -> None:
    await api(scene, "POST", f"/api/v1/proposals/{pid}/ballots", token, {"choice": choice})


async def delegate(scene: Scene, token: str, to: str) -> None:
    await api(scene, "PUT", "/api/v1/groups/barrio/delegation", token, {"delegate": to})


async def tally(scene: Scene, pid: int) -> list[tuple[str, int, int]]:
    found = await api(scene, "GET", f"/api/v1/proposals/{pid}", "")
    return [(t["name"], t["direct"], t["delegated"]) for t in found["tally"]]


async def decision(scene: Scene, pid: int, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, doc, _ = await scene.running.get_ap(f"{scene.base}/proposals/{pid}/decision")
        if status == 200:
            assert isinstance(doc, dict)
            return doc
        await asyncio.sleep(0.05)
    raise AssertionError(f"proposal {pid} was not decided within {timeout}s")


async def test_case_58_a_delegation_cycle_counts_nobody_and_ends(scene: Scene) -> None:
    tokens = await local_members(scene, "ana", "ben", "cai", "dan")
    for who, to in (("ana", "ben"), ("ben", "cai"), ("cai", "ana")):
        await delegate(scene, tokens[who], to)
    pid = await propose(scene, tokens, closes_in=1.5)
    await vote(scene, tokens["dan"], pid, "garden")
    assert await tally(scene, pid) == [("garden", 1, 0), ("parking", 0, 0)]
    found = await decision(scene, pid)
    assert [(t["name"], t["total"]) for t in found["fa:tally"]] == [("garden", 1), ("parking", 0)]
    _, page, _ = await scene.running.get_ap(f"{scene.base}/proposals/{pid}/ballots")
    for who in ("ana", "ben", "cai"):
        assert page["resolution"][scene.node.urls.actor("person", who)]["reason"] == "cycle"


async def test_case_59_a_direct_vote_overrides_the_delegation_on_that_proposal_only(scene: Scene) -> None:
    tokens = await local_members(scene, "ana", "ben")
    await delegate(scene, tokens["ana"], "ben")
    first, second = await propose(scene, tokens), await propose(scene, tokens)
    for pid in (first, second):
        await vote(scene, tokens["ben"], pid, "parking")
    await vote(scene, tokens["ana"], first, "garden")
    assert await tally(scene, first) == [("garden", 1, 0), ("parking", 1, 0)]
    assert await tally(scene, second) == [("garden", 0, 0), ("parking", 1, 1)]


async def test_case_60_delegations_changed_after_the_close_change_no_decision(scene: Scene) -> None:
    tokens = await local_members(scene, "ana", "ben", "cai")
    await delegate(scene, tokens["ana"], "ben")
    pid = await propose(scene, tokens, closes_in=1.5)
    await vote(scene, tokens["ben"], pid, "parking")
    await vote(scene, tokens["cai"], pid, "garden")
    decided = await decision(scene, pid)
    counted = await tally(scene, pid)
    assert counted == [("garden", 1, 0), ("parking", 1, 1)]
    await delegate(scene, tokens["ana"], "cai")
    await delegate(scene, tokens["ben"], "cai")
    assert await decision(scene, pid) == decided
    assert await tally(scene, pid) == counted
    status, _ = await scene.running.api(
        "POST", f"/api/v1/proposals/{pid}/ballots", tokens["ana"], {"choice": "garden"}
    )
    assert status == 409 and await tally(scene, pid) == counted
