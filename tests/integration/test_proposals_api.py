"""Proposals and ballots through the JSON API, asserting the database each time."""

from __future__ import annotations

from typing import Any

import pytest
from support.nodes import RunningNode

from fedassembly.app import accounts
from fedassembly.app.clock import iso, now_iso
from fedassembly.governance import ballot_log
from storage import actors as actor_repo
from storage import ballots as ballot_repo
from storage import members as member_repo
from storage import outbox as outbox_repo
from storage import proposals as proposal_repo
from storage.members import Member

FUTURE = "2099-01-01T00:00:00Z"


async def add_member(running: RunningNode, group: str, name: str, facilitator: bool = False) -> None:
    node = running.node
    group_actor = await accounts.get_actor(node, group)
    person = await accounts.get_actor(node, name, "person")
    async with node.db.transaction() as conn:
        await member_repo.put_member(conn, Member(
            group_actor.id, node.urls.actor("person", name), person.id, facilitator, now_iso()))


@pytest.fixture
async def assembly(nodes):
    running = await nodes("a")
    await running.group("barrio")
    _, fac = await running.person("fac")
    _, ana = await running.person("ana")
    _, out = await running.person("out")
    await add_member(running, "barrio", "fac", facilitator=True)
    await add_member(running, "barrio", "ana")
    return running, {"fac": fac, "ana": ana, "out": out}


def proposal(**overrides: Any) -> dict[str, Any]:
    body = {"title": "Repaint the centre?", "content": "Green <or> blue.\n\nVote by Friday.",
            "options": ["green", "blue"], "method": "single",
            "rule": {"threshold": "plurality", "quorum": 0.5}, "closes_at": FUTURE}
    body.update(overrides)
    return body


async def create(running: RunningNode, token: str, **overrides: Any) -> int:
    status, body = await running.api("POST", "/api/v1/groups/barrio/proposals", token, proposal(**overrides))
    assert status == 201, body
    assert body["url"] == f"{running.base}/proposals/{body['id']}"
    return int(body["id"])


async def vote(running: RunningNode, pid: int, token: str, body: dict[str, Any]) -> tuple[int, Any]:
    return await running.api("POST", f"/api/v1/proposals/{pid}/ballots", token, body)


async def test_create_read_list_and_publish(assembly) -> None:
    running, tokens = assembly
    pid = await create(running, tokens["fac"])
    stored = await proposal_repo.get_proposal_by_id(running.node.db.reader, pid)
    assert stored is not None
    assert (stored.options, stored.method, stored.threshold, stored.quorum, stored.state) == (
        ("green", "blue"), "single", "plurality", "1/2", "open")
    status, view = await running.api("GET", f"/api/v1/proposals/{pid}")
    assert status == 200
    assert view["title"] == "Repaint the centre?" and view["options"] == ["green", "blue"]
    assert view["rule"] == {"threshold": "plurality", "quorum": 0.5}
    assert view["closes_at"] == FUTURE and view["closed"] is False and view["withdrawn"] is False
    assert view["tally"] == [{"name": n, "direct": 0, "delegated": 0, "total": 0} for n in ("green", "blue")]
    assert view["decision"] is None and view["my_chain"] is None

    status, doc, ctype = await running.get_ap(f"{running.base}/proposals/{pid}")
    assert status == 200 and ctype == "application/activity+json"
    assert doc["type"] == "Question" and doc["name"] == "Repaint the centre?"
    assert "Green &lt;or&gt; blue." in doc["content"]
    assert [o["name"] for o in doc["oneOf"]] == ["green", "blue"]
    assert doc["votersCount"] == 0 and "closed" not in doc and "updated" not in doc
    assert doc["fa:rule"] == {"threshold": "plurality", "quorum": "1/2"}
    stored_question = await outbox_repo.get_object(running.node.db.reader, f"{running.base}/proposals/{pid}")
    assert stored_question is not None and stored_question["type"] == "Question"
    status, page = await running.api("GET", f"/proposals/{pid}")
    assert status == 200 and "Repaint the centre?" in page

    yesno = await create(running, tokens["fac"], options=None, method="yesno",
                         rule={"threshold": "two_thirds", "quorum": 0}, area="housing")
    status, listed = await running.api("GET", "/api/v1/groups/barrio/proposals?state=open")
    assert status == 200 and [p["id"] for p in listed] == [yesno, pid]
    assert listed[0]["options"] == ["yes", "no", "abstain"] and listed[0]["area"] == "housing"
    status, listed = await running.api("GET", "/api/v1/groups/barrio/proposals?state=closed")
    assert (status, listed) == (200, [])

    score = await create(running, tokens["fac"], method="score", rule={"quorum": 0})
    _, doc, _ = await running.get_ap(f"{running.base}/proposals/{score}")
    assert doc["type"] == "Note" and "oneOf" not in doc and f"/proposals/{score}" in doc["content"]


@pytest.mark.parametrize(("overrides", "token", "status"), [
    ({}, "ana", 403),
    ({}, None, 401),
    ({"method": "borda"}, "fac", 400),
    ({"options": ["only"]}, "fac", 400),
    ({"options": ["a", "a"]}, "fac", 400),
    ({"closes_at": "2001-01-01T00:00:00Z"}, "fac", 400),
    ({"closes_at": "tomorrow"}, "fac", 400),
    ({"rule": {"threshold": "majority", "quorum": 2}}, "fac", 400),
    ({"rule": {"threshold": "schulze", "quorum": 0}}, "fac", 400),
    ({"title": ""}, "fac", 400),
    ({"kind": "coup"}, "fac", 400),
])
async def test_create_refusals(assembly, overrides, token, status) -> None:
    running, tokens = assembly
    got, body = await running.api("POST", "/api/v1/groups/barrio/proposals",
                                  tokens.get(token) if token else None, proposal(**overrides))
    assert got == status and "error" in body
    group = await accounts.get_actor(running.node, "barrio")
    assert await proposal_repo.list_proposals_by_group(running.node.db.reader, group.id) == []
    got, _ = await running.api("POST", "/api/v1/groups/nowhere/proposals", tokens["fac"], proposal())
    assert got == 404


async def test_ballots_replace_and_receipts(assembly) -> None:
    running, tokens = assembly
    pid = await create(running, tokens["fac"])
    status, first = await vote(running, pid, tokens["ana"], {"choice": "green"})
    assert status == 201, first
    assert ballot_log.verify_receipt(first["receipt"]) and first["receipt"]["leaf_index"] == 0
    status, second = await vote(running, pid, tokens["ana"], {"choice": "blue"})
    assert status == 201 and second["receipt"]["leaf_index"] == 1
    rows = await ballot_repo.list_ballots(running.node.db.reader, pid)
    ana = f"{running.base}/people/ana"
    assert [(r.seq, r.voter, r.ballot, r.source) for r in rows] == [
        (0, ana, {"choice": "green"}, "api"), (1, ana, {"choice": "blue"}, "api")]
    url = f"{running.base}/proposals/{pid}"
    leaf = ballot_log.leaf_bytes(url, ana, {"choice": "blue"}, 1, rows[1].received_at)
    assert rows[1].leaf_hash == ballot_log.leaf_hash(leaf).hex() == second["receipt"]["leaf_hash"]

    status, view = await running.api("GET", f"/api/v1/proposals/{pid}", tokens["ana"])
    assert [t["total"] for t in view["tally"]] == [0, 1] and view["my_chain"] == [ana]
    status, receipt = await running.api("GET", f"/api/v1/proposals/{pid}/receipt", tokens["ana"])
    assert status == 200 and receipt["leaf_index"] == 1 and receipt["tree_size"] == 2
    assert ballot_log.verify_receipt(receipt)
    status, public = await running.api("GET", f"/proposals/{pid}/receipts/{rows[0].leaf_hash}")
    assert status == 200 and public["leaf_index"] == 0 and ballot_log.verify_receipt(public)
    _, doc, _ = await running.get_ap(f"{running.base}/proposals/{pid}")
    assert [o["replies"]["totalItems"] for o in doc["oneOf"]] == [0, 1] and doc["votersCount"] == 1


async def test_ballot_refusals(assembly) -> None:
    running, tokens = assembly
    pid = await create(running, tokens["fac"])
    url = f"/api/v1/proposals/{pid}/ballots"
    cases = [
        (tokens["out"], {"choice": "green"}, 403),
        (None, {"choice": "green"}, 401),
        (tokens["ana"], {"choice": "Green"}, 400),
        (tokens["ana"], {"choices": ["green", "blue"]}, 400),
        (tokens["ana"], {"ranking": ["green"]}, 400),
        (tokens["ana"], {"choice": "green", "scores": {}}, 400),
        (tokens["ana"], {}, 400),
    ]
    for token, body, status in cases:
        got, answer = await running.api("POST", url, token, body)
        assert got == status and "error" in answer, (body, got, answer)
    got, _ = await running.api("POST", "/api/v1/proposals/999/ballots", tokens["ana"], {"choice": "green"})
    assert got == 404
    got, _ = await running.api("GET", f"/api/v1/proposals/{pid}/receipt", tokens["ana"])
    assert got == 404
    got, _ = await running.api("GET", f"/api/v1/proposals/{pid}/receipt", tokens["out"])
    assert got == 403
    assert await ballot_repo.list_ballots(running.node.db.reader, pid) == []


async def test_withdraw(assembly) -> None:
    running, tokens = assembly
    pid = await create(running, tokens["fac"])
    got, _ = await running.api("DELETE", f"/api/v1/proposals/{pid}", tokens["ana"])
    assert got == 403
    got, _ = await running.api("DELETE", f"/api/v1/proposals/{pid}", tokens["fac"])
    assert got == 204
    stored = await proposal_repo.get_proposal_by_id(running.node.db.reader, pid)
    assert stored is not None and stored.state == "withdrawn" and stored.closed_at is not None
    got, body = await running.api("DELETE", f"/api/v1/proposals/{pid}", tokens["fac"])
    assert got == 409 and "error" in body
    got, body = await vote(running, pid, tokens["ana"], {"choice": "green"})
    assert got == 409 and "error" in body
    assert await ballot_repo.list_ballots(running.node.db.reader, pid) == []
    _, view = await running.api("GET", f"/api/v1/proposals/{pid}")
    assert view["withdrawn"] is True and view["closed"] is True
    _, doc, _ = await running.get_ap(f"{running.base}/proposals/{pid}")
    assert doc["closed"] == stored.closed_at
    _, listed = await running.api("GET", "/api/v1/groups/barrio/proposals?state=closed")
    assert [p["id"] for p in listed] == [pid]
    rows = await running.node.db.fetchall("SELECT body FROM outbox_activities WHERE type = 'Update'")
    assert len(rows) == 1 and '"closed"' in rows[0][0]


async def test_closed_by_time_refuses_ballots(assembly) -> None:
    running, tokens = assembly
    pid = await create(running, tokens["fac"])
    async with running.node.db.transaction() as conn:
        await conn.execute("UPDATE proposals SET closes_at = 1 WHERE id = ?", (pid,))
    got, body = await vote(running, pid, tokens["ana"], {"choice": "green"})
    assert got == 409 and "closed" in body["error"]
    _, doc, _ = await running.get_ap(f"{running.base}/proposals/{pid}")
    assert doc["endTime"] == iso(1)


async def test_hidden_ballots_hide_the_tally_until_the_close(assembly) -> None:
    running, tokens = assembly
    group = await accounts.get_actor(running.node, "barrio")
    async with running.node.db.transaction() as conn:
        await actor_repo.put_actor_settings(conn, group.id, {"ballots": "hidden"})
    pid = await create(running, tokens["fac"])
    _, view = await running.api("GET", f"/api/v1/proposals/{pid}")
    assert "tally" not in view and view["voters_count"] == 0
