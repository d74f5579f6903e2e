"""Closing on real nodes: the decision's tally, delegated weight, outcome, proof, receipts and a recount."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from support.nodes import RunningNode
from support.recount import decision_values, recount
from support.remote import RemoteServer, post_signed

from fedassembly.app import accounts
from fedassembly.app.ballots import append_ballot
from fedassembly.app.clock import iso
from fedassembly.app.closing import close_due
from fedassembly.app.proposals import get_proposal
from fedassembly.governance import ballot_log
from federation.keys import ed25519_public_from_multibase
from federation.proofs import verify_object
from storage import actors as actor_repo
from storage import delegations as delegation_repo
from storage import members as member_repo
from storage import outbox as outbox_repo
from storage.delegations import StoredDelegation
from storage.members import Member

# The Schulze method's worked example (45 voters): E wins.
SCHULZE_EXAMPLE = [
    (5, "ACBED"), (5, "ADECB"), (8, "BEDAC"), (3, "CABED"),
    (7, "CAEBD"), (2, "CBADE"), (7, "DCEBA"), (8, "EBADC"),
]


async def assembly(running: RunningNode, *people: str) -> tuple[Any, dict[str, str]]:
    """An assembly whose roster is ``people`` (the first a facilitator); their API tokens."""
    await running.group("barrio")
    group = await accounts.get_actor(running.node, "barrio", "assembly")
    tokens = {}
    for index, name in enumerate(people):
        url, tokens[name] = await running.person(name)
        person = await accounts.get_actor(running.node, name, "person")
        async with running.node.db.transaction() as conn:
            await member_repo.put_member(conn, Member(group.id, url, person.id, index == 0, iso(time.time())))
    return group, tokens


async def add_members(running: RunningNode, group: Any, iris: list[str]) -> None:
    async with running.node.db.transaction() as conn:
        for iri in iris:
            await member_repo.put_member(conn, Member(group.id, iri, None, False, iso(time.time())))


async def propose(running: RunningNode, token: str, closes_in: float, **fields: Any) -> tuple[int, float]:
    closes_at = int(time.time() + closes_in) + 1
    body = {"title": "What goes on the empty lot?", "content": "Decide before winter.",
            "closes_at": iso(closes_at), **fields}
    status, answer = await running.api("POST", "/api/v1/groups/barrio/proposals", token, body)
    assert status == 201, answer
    return int(answer["id"]), float(closes_at)


async def wait_for_decision(running: RunningNode, proposal_id: int, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    url = f"{running.base}/proposals/{proposal_id}/decision"
    while time.monotonic() < deadline:
        status, doc, _ = await running.get_ap(url)
        if status == 200:
            return doc
        await asyncio.sleep(0.05)
    raise AssertionError(f"no decision at {url} within {timeout}s")


async def verify_proof(running: RunningNode, decision: dict[str, Any]) -> None:
    status, actor, _ = await running.get_ap(decision["attributedTo"])
    assert status == 200
    [method] = [m for m in actor["assertionMethod"] if m["id"] == decision["proof"]["verificationMethod"]]
    verify_object(decision, ed25519_public_from_multibase(method["publicKeyMultibase"]))


async def test_single_choice_closes_on_time_with_delegation_and_a_remote_vote(
    nodes, remote: RemoteServer,
) -> None:
    running = await nodes()
    group, tokens = await assembly(running, "ana", "ben", "cai", "dan")
    rita = remote.actor("rita")
    await add_members(running, group, [rita.id])
    base = running.base
    sol = remote.actor("sol")  # follows the assembly without being a member
    follow = {"@context": "https://www.w3.org/ns/activitystreams", "id": remote.new_id(sol), "type": "Follow",
              "actor": sol.id, "object": f"{base}/groups/barrio"}
    assert (await post_signed(f"{base}/groups/barrio/inbox", follow, sol))[0] == 202
    async with running.node.db.transaction() as conn:  # dan lets ben vote for him
        await delegation_repo.put_delegation(conn, StoredDelegation(
            group.id, f"{base}/people/dan", "global", "", f"{base}/people/ben", iso(time.time())))
    proposal_id, closes_at = await propose(running, tokens["ana"], 2.5, options=["garden", "parking"],
                                           method="single")
    proposal_url = f"{base}/proposals/{proposal_id}"
    for name, choice in (("ana", "garden"), ("ben", "parking"), ("cai", "garden"), ("cai", "parking")):
        status, body = await running.api("POST", f"/api/v1/proposals/{proposal_id}/ballots", tokens[name],
                                         {"choice": choice})
        assert status == 201, body
    vote = {"@context": "https://www.w3.org/ns/activitystreams", "id": remote.new_id(rita), "type": "Create",
            "actor": rita.id, "to": f"{base}/groups/barrio",
            "object": {"id": remote.new_id(rita, "votes"), "type": "Note", "name": "garden",
                       "attributedTo": rita.id, "inReplyTo": proposal_url, "to": f"{base}/groups/barrio"}}
    status, _ = await post_signed(f"{base}/groups/barrio/inbox", vote, rita)
    assert status == 202
    assert time.time() < closes_at, "setup took longer than the proposal stays open"

    decision = await wait_for_decision(running, proposal_id, closes_at - time.time() + 2.0)
    assert time.time() <= closes_at + 2.0

    assert decision["type"] == "fa:Decision"
    assert decision["id"] == f"{proposal_url}/decision"
    assert decision["fa:proposal"] == proposal_url
    assert decision["attributedTo"] == f"{base}/groups/barrio"
    assert decision["fa:tally"] == [
        {"name": "garden", "direct": 2, "delegated": 0, "total": 2},
        {"name": "parking", "direct": 2, "delegated": 1, "total": 3},
    ]
    assert (decision["fa:turnout"], decision["fa:rosterSize"], decision["fa:quorumMet"]) == (5, 5, True)
    assert decision["fa:outcome"] == {"status": "decided", "winners": ["parking"]}
    assert decision["fa:ballotLog"]["size"] == 5
    assert decision["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    assert decision["proof"]["proofPurpose"] == "assertionMethod"
    assert decision["proof"]["verificationMethod"] == f"{base}/groups/barrio#ed25519-key"
    await verify_proof(running, decision)

    status, page = await running.api("GET", f"/proposals/{proposal_id}/ballots")
    assert status == 200
    assert recount(page, proposal_id) == decision_values(decision)
    assert page["treeHead"]["rootHash"] == decision["fa:ballotLog"]["rootHash"]
    assert page["resolution"][f"{base}/people/dan"] == {"castBy": f"{base}/people/ben",
                                                         "nextHop": f"{base}/people/ben"}
    [rita_leaf] = [leaf for leaf in page["leaves"] if leaf["voter"] == rita.id]
    status, receipt = await running.api("GET", f"/proposals/{proposal_id}/receipts/{rita_leaf['leaf_hash']}")
    assert status == 200
    assert ballot_log.verify_receipt(receipt)
    assert receipt["root_hash"] == decision["fa:ballotLog"]["rootHash"]
    assert receipt["tree_size"] == decision["fa:ballotLog"]["size"]

    # rita, a member who does not follow, gets the final Update(Question) at her server's shared
    # inbox; the announcement goes to followers (sol), not to every member's own inbox.
    [update] = await remote.wait_for(lambda a: a["type"] == "Update" and "closed" in a["object"])
    assert update["object"]["id"] == proposal_url
    assert remote.inboxes_of(update["id"]) == ["/inbox"]
    [note] = await remote.wait_for(lambda a: a["type"] == "Create" and a["object"].get("type") == "Note"
                                   and decision["id"] in a["object"]["content"])
    assert "parking" in note["object"]["content"]
    assert remote.inboxes_of(note["id"]) == ["/inbox"]
    assert note["object"]["cc"] == [f"{base}/groups/barrio/followers"]
    assert (await running.get_ap(f"{base}/proposals/{proposal_id}"))[1]["closed"]


async def test_ranked_45_ballots_reproduce_the_schulze_example(nodes) -> None:
    running = await nodes()
    group, tokens = await assembly(running, "ana")
    voters = [f"https://elsewhere.example/users/v{i}" for i in range(45)]
    await add_members(running, group, voters)
    proposal_id, closes_at = await propose(
        running, tokens["ana"], 3600, options=list("ABCDE"), method="ranked")
    orders = [order for count, order in SCHULZE_EXAMPLE for _ in range(count)]
    async with running.node.db.transaction() as conn:
        proposal = await get_proposal(conn, proposal_id)
        for voter, order in zip(voters, orders, strict=True):
            await append_ballot(running.node, conn, proposal, voter, {"ranking": list(order)}, "activitypub")
    assert await close_due(running.node, closes_at) == 1
    decision = (await running.get_ap(f"{running.base}/proposals/{proposal_id}/decision"))[1]
    assert decision["fa:outcome"] == {"status": "decided", "winners": ["E"]}
    assert (decision["fa:turnout"], decision["fa:rosterSize"]) == (45, 46)
    await verify_proof(running, decision)
    status, page = await running.api("GET", f"/proposals/{proposal_id}/ballots")
    assert status == 200
    assert recount(page, proposal_id) == decision_values(decision)


async def test_missed_quorum_says_so(nodes) -> None:
    running = await nodes()
    _, tokens = await assembly(running, "ana", "ben", "cai", "dan")
    proposal_id, closes_at = await propose(running, tokens["ana"], 3600, method="yesno",
                                           rule={"threshold": "majority", "quorum": 0.5})
    status, _ = await running.api("POST", f"/api/v1/proposals/{proposal_id}/ballots", tokens["ben"],
                                  {"choice": "yes"})
    assert status == 201
    assert await close_due(running.node, closes_at) == 1
    decision = (await running.get_ap(f"{running.base}/proposals/{proposal_id}/decision"))[1]
    assert decision["fa:quorumMet"] is False
    assert decision["fa:outcome"]["status"] == "no_quorum"
    assert (decision["fa:turnout"], decision["fa:rosterSize"]) == (1, 4)


async def test_withdrawn_proposal_has_no_decision(nodes) -> None:
    running = await nodes()
    _, tokens = await assembly(running, "ana")
    proposal_id, closes_at = await propose(running, tokens["ana"], 3600, options=["a", "b"], method="single")
    status, _ = await running.api("DELETE", f"/api/v1/proposals/{proposal_id}", tokens["ana"])
    assert status == 204
    assert await close_due(running.node, closes_at + 60) == 0
    status, _ = await running.api("GET", f"/proposals/{proposal_id}/decision")
    assert status == 404
    proposal = await get_proposal(running.node.db.reader, proposal_id)
    assert (proposal.state, proposal.decision) == ("withdrawn", None)


async def test_racing_closers_publish_once(nodes) -> None:
    running = await nodes()
    group, tokens = await assembly(running, "ana")
    _, closes_at = await propose(running, tokens["ana"], 3600, options=["a", "b"], method="single")
    decided = await asyncio.gather(*(close_due(running.node, closes_at) for _ in range(3)))
    assert sum(decided) == 1
    assert await close_due(running.node, closes_at + 60) == 0
    notes = await outbox_repo.count_activities_of_type(running.node.db.reader, group.id, "Create")
    assert notes == 2  # the Question's Create, then the one announcing the outcome


async def test_ballots_page_follows_the_assembly_setting(nodes) -> None:
    running = await nodes()
    group, tokens = await assembly(running, "ana", "ben")
    _, stranger = await running.person("zoe")
    async with running.node.db.transaction() as conn:
        await actor_repo.put_actor_settings(conn, group.id, {"ballots": "hidden"})
    proposal_id, closes_at = await propose(running, tokens["ana"], 3600, options=["a", "b"], method="single")
    await running.api("POST", f"/api/v1/proposals/{proposal_id}/ballots", tokens["ben"], {"choice": "a"})
    path = f"/proposals/{proposal_id}/ballots"
    status, page = await running.api("GET", path, tokens["ana"])
    assert status == 200 and "leaves" not in page and page["tally"][0]["total"] == 1
    assert await close_due(running.node, closes_at) == 1
    assert (await running.api("GET", path))[0] == 403
    assert (await running.api("GET", path, stranger))[0] == 403
    status, page = await running.api("GET", path, tokens["ana"])
    assert status == 200 and len(page["leaves"]) == 1


async def test_a_ranked_decision_publishes_the_relation_it_rests_on(nodes) -> None:
    """Ballots `A` and `B>C` (unranked options tie last): only B beats C; nothing puts A above
    C or B, so A and B tie as winners, and the decision says exactly that, signed."""
    running = await nodes()
    group, tokens = await assembly(running, "ana")
    voters = ["https://elsewhere.example/users/x", "https://elsewhere.example/users/y"]
    await add_members(running, group, voters)
    proposal_id, closes_at = await propose(running, tokens["ana"], 3600, options=["A", "B", "C"],
                                           method="ranked")
    async with running.node.db.transaction() as conn:
        proposal = await get_proposal(conn, proposal_id)
        for voter, order in zip(voters, (["A"], ["B", "C"]), strict=True):
            await append_ballot(running.node, conn, proposal, voter, {"ranking": order}, "activitypub")
    assert await close_due(running.node, closes_at) == 1
    decision = (await running.get_ap(f"{running.base}/proposals/{proposal_id}/decision"))[1]
    relation = decision["fa:schulze"]
    assert relation["options"] == ["A", "B", "C"] and relation["beats"] == [["B", "C"]]
    assert relation["d"] == [[0, 1, 1], [1, 0, 1], [1, 0, 0]]
    assert decision["fa:outcome"] == {"status": "tie", "winners": ["A", "B"]}
    await verify_proof(running, decision)


async def test_the_api_names_the_decision_by_its_url(nodes) -> None:
    running = await nodes()
    _, tokens = await assembly(running, "ana")
    proposal_id, closes_at = await propose(running, tokens["ana"], 3600, method="yesno")
    status, view = await running.api("GET", f"/api/v1/proposals/{proposal_id}")
    assert (status, view["decision"]) == (200, None)
    assert await close_due(running.node, closes_at) == 1
    status, view = await running.api("GET", f"/api/v1/proposals/{proposal_id}")
    url = f"{running.base}/proposals/{proposal_id}/decision"
    assert (status, view["decision"]) == (200, url)
    assert (await running.get_ap(url))[1]["id"] == url
