"""storage.proposals on a real database: frozen rules, guarded state moves, due closes and updates."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from storage import proposals as proposal_repo
from storage.db import Database
from storage.proposals import NewProposal, Proposal

NewActor = Callable[..., Awaitable[int]]  # the conftest factories
NewProposalFactory = Callable[..., Awaitable[int]]

DECISION: dict[str, Any] = {"id": "https://node.example/decisions/1", "fa:outcome": {"status": "decided"}}
SNAPSHOT: dict[str, Any] = {"ballots": [{"seq": 0, "voter": "https://s.example/u/a"}], "roster": ["a", "b"]}


async def get(db: Database, proposal_id: int) -> Proposal:
    proposal = await proposal_repo.get_proposal_by_id(db.reader, proposal_id)
    assert proposal is not None
    return proposal


async def move(db: Database, proposal_id: int, **arguments: Any) -> bool:
    async with db.transaction() as conn:
        return await proposal_repo.set_proposal_state(conn, proposal_id, **arguments)


async def test_a_proposal_round_trips_open_with_its_frozen_rules(db: Database, new_actor: NewActor) -> None:
    barrio, ana = await new_actor("barrio"), await new_actor("ana", "person")
    new = NewProposal(
        barrio, "recall", "Recall Bo", "Bo stops facilitating", ("yes", "no"), "yesno", "two_thirds", "2/3",
        "roles", True, 1234.5, "2030-01-01T00:00:00Z", ana,
    )
    async with db.transaction() as conn:
        proposal_id = await proposal_repo.put_proposal(conn, new)
    assert await get(db, proposal_id) == Proposal(
        proposal_id, barrio, "recall", "Recall Bo", "Bo stops facilitating", ("yes", "no"), "yesno",
        "two_thirds", "2/3", "roles", True, 1234.5, "2030-01-01T00:00:00Z", ana,
        "open", None, None, None, None,
    )
    assert (await get(db, proposal_id)).is_open
    assert await proposal_repo.get_proposal_by_id(db.reader, proposal_id + 1) is None
    assert await proposal_repo.get_proposal_scope_by_id(db.reader, proposal_id) == (barrio, "open")
    assert await proposal_repo.get_proposal_scope_by_id(db.reader, proposal_id + 1) is None


async def test_a_groups_proposals_list_newest_first_open_or_ended(
    db: Database, new_actor: NewActor, new_proposal: NewProposalFactory
) -> None:
    barrio, other = await new_actor("barrio"), await new_actor("other")
    ids = [await new_proposal(barrio) for _ in range(4)]
    await new_proposal(other)
    await move(db, ids[0], from_state="open", to_state="closed", at="t")
    await move(db, ids[0], from_state="closed", to_state="decided", at="t", decision={}, snapshot={})
    await move(db, ids[1], from_state="open", to_state="withdrawn", at="t")
    await move(db, ids[2], from_state="open", to_state="closed", at="t")

    async def listed(state: str | None) -> list[int]:
        return [p.id for p in await proposal_repo.list_proposals_by_group(db.reader, barrio, state)]

    assert await listed(None) == ids[::-1]
    assert await listed("open") == [ids[3]]
    assert await listed("closed") == [ids[2], ids[1], ids[0]]  # every ended state
    assert set(proposal_repo.ENDED_STATES) == {"closed", "decided", "withdrawn"}


async def test_due_proposals_are_the_open_ones_whose_time_has_come_earliest_first(
    db: Database, new_actor: NewActor, new_proposal: NewProposalFactory
) -> None:
    barrio = await new_actor("barrio")
    assert await proposal_repo.get_next_closing_time(db.reader) is None
    late = await new_proposal(barrio, closes_at=30.0)
    early = await new_proposal(barrio, closes_at=10.0)
    tied = await new_proposal(barrio, closes_at=10.0)
    withdrawn = await new_proposal(barrio, closes_at=5.0)
    await move(db, withdrawn, from_state="open", to_state="withdrawn", at="t")
    assert await proposal_repo.list_due_proposal_ids(db.reader, 9.9) == []
    assert await proposal_repo.list_due_proposal_ids(db.reader, 10.0) == [early, tied]
    assert await proposal_repo.list_due_proposal_ids(db.reader, 99.0) == [early, tied, late]
    assert await proposal_repo.get_next_closing_time(db.reader) == 10.0
    await move(db, early, from_state="open", to_state="closed", at="t")
    await move(db, tied, from_state="open", to_state="closed", at="t")
    assert await proposal_repo.list_due_proposal_ids(db.reader, 99.0) == [late]
    assert await proposal_repo.get_next_closing_time(db.reader) == 30.0


async def test_a_close_stamps_closed_at_drops_the_pending_update_and_happens_once(
    db: Database, new_actor: NewActor, new_proposal: NewProposalFactory
) -> None:
    proposal_id = await new_proposal(await new_actor("barrio"))
    async with db.transaction() as conn:
        await proposal_repo.put_update_due(conn, proposal_id, 50.0)
    assert await move(db, proposal_id, from_state="open", to_state="closed", at="2030-01-02T00:00:00Z")
    closed = await get(db, proposal_id)
    assert (closed.state, closed.closed_at, closed.update_due_at) == ("closed", "2030-01-02T00:00:00Z", None)
    # A second closer (or a restart) finds it closed already: nothing moves, nothing is written.
    assert not await move(db, proposal_id, from_state="open", to_state="closed", at="2030-01-03T00:00:00Z")
    assert await get(db, proposal_id) == closed


async def test_a_decision_is_written_once_with_its_snapshot_as_compact_json(
    db: Database, new_actor: NewActor, new_proposal: NewProposalFactory
) -> None:
    proposal_id = await new_proposal(await new_actor("barrio"))
    await move(db, proposal_id, from_state="open", to_state="closed", at="2030-01-02T00:00:00Z")
    assert await move(
        db, proposal_id, from_state="closed", to_state="decided", at="2030-01-02T00:00:01Z",
        decision=DECISION, snapshot=SNAPSHOT,
    )
    decided = await get(db, proposal_id)
    assert decided.state == "decided" and decided.closed_at == "2030-01-02T00:00:00Z"  # the close's time
    assert decided.decision == json.dumps(DECISION)
    assert decided.snapshot == json.dumps(SNAPSHOT, separators=(",", ":"))
    assert not await move(
        db, proposal_id, from_state="closed", to_state="decided", at="later",
        decision={"other": True}, snapshot={},
    )
    assert await get(db, proposal_id) == decided


async def test_a_stored_decision_is_never_replaced_even_from_the_right_state(
    db: Database, new_actor: NewActor, new_proposal: NewProposalFactory
) -> None:
    proposal_id = await new_proposal(await new_actor("barrio"))
    await move(db, proposal_id, from_state="open", to_state="closed", at="t")
    await move(
        db, proposal_id, from_state="closed", to_state="decided", at="t", decision=DECISION, snapshot={}
    )
    async with db.transaction() as conn:  # a row damaged back to closed keeps its decision
        await conn.execute("UPDATE proposals SET state = 'closed' WHERE id = ?", (proposal_id,))
    assert not await move(
        db, proposal_id, from_state="closed", to_state="decided", at="t", decision={"other": 1}, snapshot={}
    )
    again = await get(db, proposal_id)
    assert again.state == "closed" and again.decision == json.dumps(DECISION)


async def test_a_move_from_the_wrong_state_is_refused_and_writes_nothing(
    db: Database, new_actor: NewActor, new_proposal: NewProposalFactory
) -> None:
    proposal_id = await new_proposal(await new_actor("barrio"))
    before = await get(db, proposal_id)
    assert not await move(
        db, proposal_id, from_state="closed", to_state="decided", at="t", decision=DECISION, snapshot=SNAPSHOT
    )
    assert not await move(db, proposal_id, from_state="decided", to_state="withdrawn", at="t")
    assert await get(db, proposal_id) == before
    assert not await move(db, proposal_id + 1, from_state="open", to_state="closed", at="t")  # no proposal


async def test_a_withdrawal_stamps_closed_at_and_then_nothing_closes_or_decides_it(
    db: Database, new_actor: NewActor, new_proposal: NewProposalFactory
) -> None:
    proposal_id = await new_proposal(await new_actor("barrio"))
    async with db.transaction() as conn:
        await proposal_repo.put_update_due(conn, proposal_id, 50.0)
    assert await move(db, proposal_id, from_state="open", to_state="withdrawn", at="2030-01-02T00:00:00Z")
    withdrawn = await get(db, proposal_id)
    assert (withdrawn.state, withdrawn.closed_at) == ("withdrawn", "2030-01-02T00:00:00Z")
    assert withdrawn.update_due_at == 50.0  # left for the Update(Question) the withdrawal queues
    assert not await move(db, proposal_id, from_state="open", to_state="closed", at="t")
    assert not await move(db, proposal_id, from_state="open", to_state="withdrawn", at="t")
    assert await get(db, proposal_id) == withdrawn


@pytest.mark.parametrize(
    "arguments",
    [
        {"from_state": "closed", "to_state": "decided"},  # a decision needs its document
        {"from_state": "closed", "to_state": "decided", "decision": DECISION},  # and its snapshot
        {"from_state": "open", "to_state": "closed", "decision": DECISION, "snapshot": SNAPSHOT},
        {"from_state": "open", "to_state": "withdrawn", "snapshot": SNAPSHOT},
        {"from_state": "closed", "to_state": "open"},  # no such move
        {"from_state": "open", "to_state": "archived"},
    ],
)
async def test_a_move_that_cannot_be_written_is_an_error_and_writes_nothing(
    db: Database, new_actor: NewActor, new_proposal: NewProposalFactory, arguments: dict[str, Any]
) -> None:
    proposal_id = await new_proposal(await new_actor("barrio"))
    await move(db, proposal_id, from_state="open", to_state="closed", at="t")
    before = await get(db, proposal_id)
    with pytest.raises(ValueError):
        await move(db, proposal_id, at="t2", **arguments)
    assert await get(db, proposal_id) == before


async def test_a_pending_update_keeps_the_earliest_request_until_it_is_sent(
    db: Database, new_actor: NewActor, new_proposal: NewProposalFactory
) -> None:
    barrio = await new_actor("barrio")
    first, second, third = [await new_proposal(barrio) for _ in range(3)]
    async with db.transaction() as conn:
        await proposal_repo.put_update_due(conn, first, 100.0)
        await proposal_repo.put_update_due(conn, first, 150.0)  # later: the earlier request stays
        await proposal_repo.put_update_due(conn, second, 80.0)
        await proposal_repo.put_update_due(conn, second, 60.0)  # earlier: it wins
    assert (await get(db, first)).update_due_at == 100.0
    assert (await get(db, second)).update_due_at == 60.0
    assert (await get(db, third)).update_due_at is None

    async def due(now: float, limit: int = 100) -> list[int]:
        return [p.id for p in await proposal_repo.list_proposals_update_due(db.reader, now, limit)]

    assert await due(59.0) == []
    assert await due(100.0) == [second, first]
    assert await due(100.0, limit=1) == [second]
    async with db.transaction() as conn:
        await proposal_repo.delete_update_due(conn, second)
    assert await due(1000.0) == [first]
    assert (await get(db, second)).update_due_at is None


async def test_proposals_go_with_their_group_and_outlive_their_author(
    db: Database, new_actor: NewActor, new_proposal: NewProposalFactory
) -> None:
    barrio, other = await new_actor("barrio"), await new_actor("other")
    ana = await new_actor("ana", "person")
    gone = await new_proposal(barrio, created_by=ana)
    kept = await new_proposal(other, created_by=ana)
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM local_actors WHERE id IN (?, ?)", (barrio, ana))
    assert await proposal_repo.get_proposal_by_id(db.reader, gone) is None
    assert (await get(db, kept)).created_by is None
