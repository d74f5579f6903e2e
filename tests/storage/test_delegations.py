"""storage.delegations on a real database: one choice per delegator and scope, listed in order."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable

import pytest

from storage import delegations as delegation_repo
from storage.db import Database
from storage.delegations import StoredDelegation

NewActor = Callable[..., Awaitable[int]]  # the conftest factory

ANA = "https://social.example/users/ana"
BOB = "https://other.example/users/bob"
CID = "https://node.example/people/cid"


@pytest.fixture
async def group(new_actor: NewActor) -> int:
    return await new_actor("barrio")


async def put(db: Database, *delegations: StoredDelegation) -> None:
    async with db.transaction() as conn:
        for delegation in delegations:
            await delegation_repo.put_delegation(conn, delegation)


async def test_a_choice_round_trips_and_a_new_one_in_the_same_scope_replaces_it(
    db: Database, group: int
) -> None:
    first = StoredDelegation(group, ANA, "global", "", BOB, "2030-01-01")
    await put(db, first)
    assert await delegation_repo.get_delegation(db.reader, group, ANA, "global", "") == first
    assert await delegation_repo.get_delegation(db.reader, group, ANA, "area", "") is None
    # "Nobody in this scope" is a choice too: stored with no delegate, replacing the earlier one.
    nobody = StoredDelegation(group, ANA, "global", "", None, "2030-01-02")
    await put(db, nobody)
    assert await delegation_repo.get_delegation(db.reader, group, ANA, "global", "") == nobody
    assert await delegation_repo.list_delegations(db.reader, group) == [nobody]


async def test_a_revoked_choice_is_gone(db: Database, group: int) -> None:
    await put(db, StoredDelegation(group, ANA, "area", "housing", BOB, "2030-01-01"))
    async with db.transaction() as conn:
        assert await delegation_repo.delete_delegation(conn, group, ANA, "area", "housing")
        assert not await delegation_repo.delete_delegation(conn, group, ANA, "area", "housing")
    assert await delegation_repo.list_delegations(db.reader, group) == []


async def test_a_delegators_choices_list_broadest_scope_first(db: Database, group: int) -> None:
    mine = [
        StoredDelegation(group, ANA, "proposal", "7", CID, "d"),
        StoredDelegation(group, ANA, "area", "roads", None, "d"),
        StoredDelegation(group, ANA, "global", "", BOB, "d"),
        StoredDelegation(group, ANA, "area", "housing", CID, "d"),
        StoredDelegation(group, ANA, "proposal", "12", BOB, "d"),
    ]
    await put(db, *mine, StoredDelegation(group, BOB, "global", "", ANA, "d"))
    listed = await delegation_repo.list_delegations_by_delegator(db.reader, group, ANA)
    # Proposal keys sort as text, as stored.
    assert [(d.scope, d.scope_key) for d in listed] == [
        ("global", ""), ("area", "housing"), ("area", "roads"), ("proposal", "12"), ("proposal", "7")
    ]


async def test_a_delegates_delegations_list_by_scope_then_delegator(db: Database, group: int) -> None:
    await put(
        db,
        StoredDelegation(group, CID, "global", "", BOB, "d"),
        StoredDelegation(group, ANA, "proposal", "3", BOB, "d"),
        StoredDelegation(group, ANA, "global", "", BOB, "d"),
        StoredDelegation(group, CID, "area", "roads", None, "d"),  # nobody: not a delegation to anyone
        StoredDelegation(group, BOB, "global", "", ANA, "d"),
    )
    listed = await delegation_repo.list_delegations_by_delegate(db.reader, group, BOB)
    assert [(d.scope, d.delegator) for d in listed] == [("global", CID), ("global", ANA), ("proposal", ANA)]


async def test_a_groups_delegations_list_by_delegator_scope_and_key_with_nobody_choices(
    db: Database, group: int, new_actor: NewActor
) -> None:
    other = await new_actor("other")
    rows = [
        StoredDelegation(group, CID, "global", "", ANA, "d"),
        StoredDelegation(group, ANA, "proposal", "3", None, "d"),
        StoredDelegation(group, ANA, "area", "roads", BOB, "d"),
        StoredDelegation(group, ANA, "global", "", BOB, "d"),
    ]
    await put(db, *rows, StoredDelegation(other, ANA, "global", "", CID, "d"))
    listed = await delegation_repo.list_delegations(db.reader, group)
    # By delegator IRI (node.example's first), then scope name, then key; "nobody" choices kept.
    assert listed == [rows[0], rows[2], rows[3], rows[1]]


async def test_leaving_a_roster_drops_ones_own_delegations_there_only(
    db: Database, group: int, new_actor: NewActor
) -> None:
    other = await new_actor("other")
    await put(
        db,
        StoredDelegation(group, ANA, "global", "", BOB, "d"),
        StoredDelegation(group, ANA, "area", "roads", CID, "d"),
        StoredDelegation(group, CID, "global", "", ANA, "d"),  # to ANA: stays
        StoredDelegation(other, ANA, "global", "", BOB, "d"),
    )
    async with db.transaction() as conn:
        assert await delegation_repo.delete_delegations_by_delegator(conn, group, ANA) == 2
    assert await delegation_repo.list_delegations(db.reader, group) == [
        StoredDelegation(group, CID, "global", "", ANA, "d")
    ]
    assert len(await delegation_repo.list_delegations(db.reader, other)) == 1


async def test_a_deleted_account_takes_every_delegation_by_or_to_it_everywhere(
    db: Database, group: int, new_actor: NewActor
) -> None:
    other = await new_actor("other")
    await put(
        db,
        StoredDelegation(group, ANA, "global", "", BOB, "d"),
        StoredDelegation(group, CID, "global", "", ANA, "d"),
        StoredDelegation(other, CID, "area", "roads", ANA, "d"),
        StoredDelegation(other, BOB, "global", "", CID, "d"),
    )
    async with db.transaction() as conn:
        assert await delegation_repo.delete_delegations_of_actor(conn, ANA) == 3
    assert await delegation_repo.list_delegations(db.reader, group) == []
    assert await delegation_repo.list_delegations(db.reader, other) == [
        StoredDelegation(other, BOB, "global", "", CID, "d")
    ]


async def test_scopes_are_checked_and_delegations_go_with_their_group(
    db: Database, group: int, new_actor: NewActor
) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        await put(db, StoredDelegation(group, ANA, "everything", "", BOB, "d"))
    other = await new_actor("other")
    for where in (group, other):
        await put(db, StoredDelegation(where, ANA, "global", "", BOB, "d"))
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM local_actors WHERE id = ?", (group,))
    assert await delegation_repo.list_delegations(db.reader, group) == []
    assert len(await delegation_repo.list_delegations(db.reader, other)) == 1
