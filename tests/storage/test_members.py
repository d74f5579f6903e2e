"""storage.members on a real database: rosters of local and remote members, facilitators."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from storage import members as member_repo
from storage import remote as remote_repo
from storage.db import Database
from storage.members import Member, Membership, RosterEntry
from storage.remote import RemoteActor

NewActor = Callable[..., Awaitable[int]]  # the conftest factory

ANA = "https://social.example/users/ana"
BOB = "https://other.example/users/bob"
PAT = "https://node.example/people/pat"


def cached(iri: str, username: str) -> RemoteActor:
    host = iri.split("/")[2]
    return RemoteActor(iri, host, "Person", username, f"{iri}/inbox", None, {}, 1.0)


async def test_a_member_is_added_once_and_the_first_entry_stays(db: Database, new_actor: NewActor) -> None:
    barrio = await new_actor("barrio")
    async with db.transaction() as conn:
        assert await member_repo.put_member(conn, Member(barrio, ANA, None, True, "2030-01-01"))
        assert not await member_repo.put_member(conn, Member(barrio, ANA, None, False, "2030-01-02"))
    first = Member(barrio, ANA, None, True, "2030-01-01")
    assert await member_repo.get_member(db.reader, barrio, ANA) == first
    assert await member_repo.get_member(db.reader, barrio, BOB) is None
    assert await member_repo.count_members(db.reader, barrio) == 1


async def test_a_local_member_is_found_by_actor_id(db: Database, new_actor: NewActor) -> None:
    barrio, other = await new_actor("barrio"), await new_actor("other")
    pat = await new_actor("pat", "person")
    async with db.transaction() as conn:
        await member_repo.put_member(conn, Member(barrio, PAT, pat, False, "2030-01-01"))
    found = await member_repo.get_local_member(db.reader, barrio, pat)
    assert found == Member(barrio, PAT, pat, False, "2030-01-01")
    assert await member_repo.get_local_member(db.reader, other, pat) is None


async def test_rosters_list_in_the_order_members_were_added(db: Database, new_actor: NewActor) -> None:
    barrio, other = await new_actor("barrio"), await new_actor("other")
    pat = await new_actor("pat", "person")
    added = [(BOB, None, "2030-01-01"), (PAT, pat, "2030-01-02"), (ANA, None, "2030-01-02")]
    async with db.transaction() as conn:
        for iri, local, at in added:
            await member_repo.put_member(conn, Member(barrio, iri, local, False, at))
        await member_repo.put_member(conn, Member(other, "https://far.example/u", None, False, "2030-01-03"))
    # Added the same day: by IRI.
    order = [BOB, PAT, ANA]
    assert [m.member for m in await member_repo.list_members(db.reader, barrio)] == order
    assert await member_repo.list_member_page(db.reader, barrio, 0, 2) == order[:2]
    assert await member_repo.list_member_page(db.reader, barrio, 2, 2) == order[2:]
    assert sorted(await member_repo.list_member_ids(db.reader, barrio)) == sorted(order)
    assert await member_repo.list_remote_member_ids(db.reader, barrio) == sorted([ANA, BOB])
    assert await member_repo.count_members(db.reader, other) == 1


async def test_remote_member_ids_come_sorted_by_iri_whatever_the_order_they_joined(
    db: Database, new_actor: NewActor
) -> None:
    barrio = await new_actor("barrio")
    iris = [f"https://social.example/users/u{i}" for i in (3, 1, 4, 0, 2)]
    async with db.transaction() as conn:
        for iri in iris:
            await member_repo.put_member(conn, Member(barrio, iri, None, False, "2030-01-01"))
    assert await member_repo.list_remote_member_ids(db.reader, barrio) == sorted(iris)


async def test_the_roster_names_local_people_and_cached_remote_members(
    db: Database, new_actor: NewActor
) -> None:
    barrio = await new_actor("barrio")
    pat = await new_actor("pat", "person")
    async with db.transaction() as conn:
        await remote_repo.put_remote_actor(conn, cached(ANA, "Ana"))
        await member_repo.put_member(conn, Member(barrio, PAT, pat, True, "2030-01-01"))
        await member_repo.put_member(conn, Member(barrio, ANA, None, False, "2030-01-02"))
        await member_repo.put_member(conn, Member(barrio, BOB, None, False, "2030-01-03"))  # not cached
    assert await member_repo.list_roster(db.reader, barrio) == [
        RosterEntry(PAT, True, "pat", None),
        RosterEntry(ANA, False, None, "Ana"),
        RosterEntry(BOB, False, None, None),
    ]
    assert await member_repo.list_remote_members_by_username(db.reader, barrio, "aNA") == [ANA]
    assert await member_repo.list_remote_members_by_username(db.reader, barrio, "bob") == []


async def test_a_person_sees_the_groups_they_belong_to_by_name(db: Database, new_actor: NewActor) -> None:
    zeta, alpha, other = await new_actor("zeta"), await new_actor("alpha"), await new_actor("other")
    pat = await new_actor("pat", "person")
    async with db.transaction() as conn:
        await member_repo.put_member(conn, Member(zeta, PAT, pat, True, "2030-01-01"))
        await member_repo.put_member(conn, Member(alpha, PAT, pat, False, "2030-01-02"))
        await member_repo.put_member(conn, Member(other, ANA, None, False, "2030-01-01"))
    assert await member_repo.list_memberships_of_local(db.reader, pat) == [
        Membership("alpha", False), Membership("zeta", True)
    ]


async def test_leaving_one_roster_or_every_roster(db: Database, new_actor: NewActor) -> None:
    barrio, other, third = await new_actor("barrio"), await new_actor("other"), await new_actor("third")
    async with db.transaction() as conn:
        for group in (barrio, other):
            await member_repo.put_member(conn, Member(group, ANA, None, False, "2030-01-01"))
            await member_repo.put_member(conn, Member(group, BOB, None, False, "2030-01-01"))
        await member_repo.put_member(conn, Member(third, BOB, None, False, "2030-01-01"))
        assert await member_repo.delete_member(conn, barrio, BOB)
        assert not await member_repo.delete_member(conn, barrio, BOB)
        assert sorted(await member_repo.delete_member_everywhere(conn, ANA)) == [barrio, other]
        assert await member_repo.delete_member_everywhere(conn, ANA) == []
    assert await member_repo.list_member_ids(db.reader, barrio) == []
    assert await member_repo.list_member_ids(db.reader, other) == [BOB]
    assert await member_repo.list_member_ids(db.reader, third) == [BOB]


async def test_rosters_go_with_their_group_and_a_deleted_person_leaves_them(
    db: Database, new_actor: NewActor
) -> None:
    barrio, other = await new_actor("barrio"), await new_actor("other")
    pat = await new_actor("pat", "person")
    async with db.transaction() as conn:
        await member_repo.put_member(conn, Member(barrio, ANA, None, False, "2030-01-01"))
        await member_repo.put_member(conn, Member(other, ANA, None, False, "2030-01-01"))
        await member_repo.put_member(conn, Member(other, PAT, pat, False, "2030-01-01"))
        await conn.execute("DELETE FROM local_actors WHERE id IN (?, ?)", (barrio, pat))
    assert await member_repo.count_members(db.reader, barrio) == 0
    assert await member_repo.list_member_ids(db.reader, other) == [ANA]


async def test_roster_entries_come_in_rowid_order_from_a_given_one_across_groups(
    db: Database, new_actor: NewActor
) -> None:
    barrio, other = await new_actor("barrio"), await new_actor("other")
    async with db.transaction() as conn:
        for group, who in [(barrio, ANA), (other, BOB), (barrio, PAT)]:
            await member_repo.put_member(conn, Member(group, who, None, False, "2030-01-01"))
    everything = await member_repo.list_roster_entries_from(db.reader, 0)
    assert [who for _, who in everything] == [ANA, BOB, PAT]
    rowids = [rowid for rowid, _ in everything]
    assert rowids == sorted(rowids)
    assert await member_repo.list_roster_entries_from(db.reader, rowids[1]) == everything[1:]
    # A new entry takes the largest rowid plus one: after every entry there is.
    async with db.transaction() as conn:
        await member_repo.delete_member(conn, barrio, ANA)
        await member_repo.put_member(conn, Member(other, ANA, None, False, "2030-01-02"))
    newest = await member_repo.list_roster_entries_from(db.reader, rowids[2])
    assert newest == [everything[2], (rowids[2] + 1, ANA)]
