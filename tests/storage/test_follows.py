"""storage.follows on a real database: who follows local actors, whom local actors follow."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable

import pytest

from storage import follows as follow_repo
from storage.db import Database
from storage.follows import Follower, Following

NewActor = Callable[..., Awaitable[int]]  # the conftest factory

ANA = "https://social.example/users/ana"
BOB = "https://other.example/users/bob"
F1, F2 = "https://node.example/f/1", "https://node.example/f/2"


def follower(actor_id: int, iri: str, follow_id: str = "f1", shared: str | None = None) -> Follower:
    return Follower(actor_id, iri, f"{iri}/follows/{follow_id}", f"{iri}/inbox", shared)


async def test_a_follower_round_trips_and_a_new_follow_refreshes_it_in_place(
    db: Database, new_actor: NewActor
) -> None:
    barrio = await new_actor("barrio")
    async with db.transaction() as conn:
        await follow_repo.put_follower(conn, follower(barrio, ANA), "2030-01-01")
        await follow_repo.put_follower(conn, follower(barrio, BOB), "2030-01-02")
    listed = await follow_repo.list_followers(db.reader, barrio)
    assert listed == [follower(barrio, ANA), follower(barrio, BOB)]
    again = follower(barrio, ANA, "f2", shared="https://social.example/inbox")
    async with db.transaction() as conn:
        await follow_repo.put_follower(conn, again, "2030-01-03")
    # Refreshed, still one row, and still first: it keeps the date it first followed.
    assert await follow_repo.list_followers(db.reader, barrio) == [again, follower(barrio, BOB)]
    assert await follow_repo.count_followers(db.reader, barrio) == 2


async def test_followers_are_listed_by_page_oldest_first(db: Database, new_actor: NewActor) -> None:
    barrio, other = await new_actor("barrio"), await new_actor("other")
    iris = [f"https://social.example/users/u{i}" for i in range(5)]
    async with db.transaction() as conn:
        for day, iri in enumerate(iris):
            await follow_repo.put_follower(conn, follower(barrio, iri), f"2030-01-0{day + 1}")
        await follow_repo.put_follower(conn, follower(other, ANA), "2030-01-01")
    assert await follow_repo.list_follower_page(db.reader, barrio, 0, 2) == iris[:2]
    assert await follow_repo.list_follower_page(db.reader, barrio, 2, 2) == iris[2:4]
    assert await follow_repo.list_follower_page(db.reader, barrio, 4, 2) == iris[4:]
    assert await follow_repo.list_follower_page(db.reader, barrio, 6, 2) == []
    assert await follow_repo.count_followers(db.reader, other) == 1


async def test_an_unfollow_removes_one_follower_and_a_deleted_account_every_follow(
    db: Database, new_actor: NewActor
) -> None:
    barrio, other = await new_actor("barrio"), await new_actor("other")
    async with db.transaction() as conn:
        for group in (barrio, other):
            await follow_repo.put_follower(conn, follower(group, ANA), "2030-01-01")
            await follow_repo.put_follower(conn, follower(group, BOB), "2030-01-01")
        assert await follow_repo.delete_follower(conn, barrio, BOB)
        assert not await follow_repo.delete_follower(conn, barrio, BOB)
        await follow_repo.delete_follows_of(conn, ANA)
    assert await follow_repo.list_followers(db.reader, barrio) == []
    assert await follow_repo.list_followers(db.reader, other) == [follower(other, BOB)]


async def test_a_follow_is_pending_until_accepted(db: Database, new_actor: NewActor) -> None:
    ana = await new_actor("ana", "person")
    asked = Following(ana, BOB, "https://node.example/follows/1", "pending")
    assert await follow_repo.get_following(db.reader, ana, BOB) is None
    async with db.transaction() as conn:
        await follow_repo.put_following(conn, asked, "2030-01-01")
    assert await follow_repo.get_following(db.reader, ana, BOB) == asked
    assert await follow_repo.get_following_by_follow_id(db.reader, asked.follow_id) == asked
    assert await follow_repo.count_following(db.reader, ana) == 0  # only accepted follows count
    async with db.transaction() as conn:
        await follow_repo.accept_following(conn, asked.follow_id)
    accepted = Following(ana, BOB, asked.follow_id, "accepted")
    assert await follow_repo.get_following(db.reader, ana, BOB) == accepted
    assert await follow_repo.count_following(db.reader, ana) == 1
    assert await follow_repo.get_following_by_follow_id(db.reader, "https://node.example/follows/9") is None


async def test_asking_again_replaces_the_follow_and_an_unfollow_forgets_it(
    db: Database, new_actor: NewActor
) -> None:
    ana = await new_actor("ana", "person")
    async with db.transaction() as conn:
        await follow_repo.put_following(conn, Following(ana, BOB, F1, "accepted"), "d1")
        await follow_repo.put_following(conn, Following(ana, BOB, F2, "pending"), "d2")
    assert await follow_repo.get_following(db.reader, ana, BOB) == Following(
        ana, BOB, F2, "pending"
    )
    assert await follow_repo.get_following_by_follow_id(db.reader, F1) is None
    async with db.transaction() as conn:
        await follow_repo.delete_following(conn, ana, BOB)
    assert await follow_repo.get_following(db.reader, ana, BOB) is None


async def test_a_follow_id_belongs_to_one_follow_and_states_are_checked(
    db: Database, new_actor: NewActor
) -> None:
    ana, pat = await new_actor("ana", "person"), await new_actor("pat", "person")
    async with db.transaction() as conn:
        await follow_repo.put_following(conn, Following(ana, BOB, F1, "pending"), "d")
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as conn:
            await follow_repo.put_following(conn, Following(pat, ANA, F1, "pending"), "d")
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as conn:
            await follow_repo.put_following(conn, Following(pat, ANA, F2, "maybe"), "d")
    assert await follow_repo.get_following(db.reader, pat, ANA) is None


async def test_follows_go_with_their_local_actor(db: Database, new_actor: NewActor) -> None:
    barrio, other = await new_actor("barrio"), await new_actor("other")
    async with db.transaction() as conn:
        for group in (barrio, other):
            await follow_repo.put_follower(conn, follower(group, ANA), "d")
            follow = Following(group, BOB, f"https://node.example/f/{group}", "pending")
            await follow_repo.put_following(conn, follow, "d")
        await conn.execute("DELETE FROM local_actors WHERE id = ?", (barrio,))
    assert await follow_repo.list_followers(db.reader, barrio) == []
    assert await follow_repo.get_following(db.reader, barrio, BOB) is None
    assert await follow_repo.count_followers(db.reader, other) == 1
    assert await follow_repo.get_following(db.reader, other, BOB) is not None
