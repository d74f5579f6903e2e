"""storage.tokens on a real database: bearer tokens kept as hashes with a number, revoked by either,
their last use recorded with a group commit, gone with their person."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable

import pytest

from storage import tokens as token_repo
from storage.db import Database
from storage.tokens import TokenInfo, TokenOwner

NewActor = Callable[..., Awaitable[int]]  # the conftest factory


async def test_a_token_names_its_person_and_is_listed_by_prefix_oldest_first(
    db: Database, new_actor: NewActor
) -> None:
    ana, bob = await new_actor("ana", "person"), await new_actor("bob", "person")
    async with db.transaction() as conn:
        second = await token_repo.put_token(conn, "hash-2", "fa_2", ana, "2030-01-02")
        first = await token_repo.put_token(conn, "hash-1", "fa_1", ana, "2030-01-01")
        await token_repo.put_token(conn, "hash-3", "fa_3", bob, "2030-01-01")
    assert second < first
    assert await token_repo.get_actor_id_by_token_hash(db.reader, "hash-1") == ana
    assert await token_repo.get_actor_id_by_token_hash(db.reader, "hash-3") == bob
    assert await token_repo.get_actor_id_by_token_hash(db.reader, "unknown") is None
    assert await token_repo.list_tokens(db.reader, ana) == [
        TokenInfo(first, "fa_1", "2030-01-01", None), TokenInfo(second, "fa_2", "2030-01-02", None)
    ]


async def test_a_hash_is_stored_once_and_only_for_a_local_actor(db: Database, new_actor: NewActor) -> None:
    ana = await new_actor("ana", "person")
    async with db.transaction() as conn:
        number = await token_repo.put_token(conn, "hash-1", "fa_1", ana, "2030-01-01")
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as conn:
            await token_repo.put_token(conn, "hash-1", "fa_x", ana, "2030-01-02")
    with pytest.raises(sqlite3.IntegrityError):  # no such actor
        async with db.transaction() as conn:
            await token_repo.put_token(conn, "hash-2", "fa_2", 999, "2030-01-02")
    assert await token_repo.list_tokens(db.reader, ana) == [TokenInfo(number, "fa_1", "2030-01-01", None)]


async def test_a_revoked_token_no_longer_authenticates(db: Database, new_actor: NewActor) -> None:
    ana = await new_actor("ana", "person")
    async with db.transaction() as conn:
        await token_repo.put_token(conn, "hash-1", "fa_1", ana, "2030-01-01")
        assert await token_repo.delete_token(conn, "hash-1")
        assert not await token_repo.delete_token(conn, "hash-1")
    assert await token_repo.get_actor_id_by_token_hash(db.reader, "hash-1") is None
    assert await token_repo.list_tokens(db.reader, ana) == []


async def test_a_token_is_revoked_by_its_number_and_only_that_one(db: Database, new_actor: NewActor) -> None:
    ana = await new_actor("ana", "person")
    async with db.transaction() as conn:
        one = await token_repo.put_token(conn, "hash-1", "fa_1", ana, "2030-01-01")
        two = await token_repo.put_token(conn, "hash-2", "fa_2", ana, "2030-01-01")
        assert await token_repo.delete_token_by_id(conn, one)
        assert not await token_repo.delete_token_by_id(conn, one)
    assert [t.id for t in await token_repo.list_tokens(db.reader, ana)] == [two]
    assert await token_repo.get_actor_id_by_token_hash(db.reader, "hash-1") is None


async def test_a_use_is_recorded_with_the_next_group_commit(db: Database, new_actor: NewActor) -> None:
    ana = await new_actor("ana", "person")
    async with db.transaction() as conn:
        await token_repo.put_token(conn, "hash-1", "fa_1", ana, "2030-01-01")
    assert await token_repo.get_token_owner_by_hash(db.reader, "hash-1") == TokenOwner(ana, None)
    await token_repo.append_token_use(db, "hash-1", "2030-01-02T10:00:00Z")
    assert await token_repo.get_token_owner_by_hash(db.reader, "hash-1") == TokenOwner(
        ana, "2030-01-02T10:00:00Z"
    )
    [info] = await token_repo.list_tokens(db.reader, ana)
    assert info.last_used_at == "2030-01-02T10:00:00Z"
    assert await token_repo.get_token_owner_by_hash(db.reader, "unknown") is None


async def test_tokens_go_with_their_person(db: Database, new_actor: NewActor) -> None:
    ana, bob = await new_actor("ana", "person"), await new_actor("bob", "person")
    async with db.transaction() as conn:
        await token_repo.put_token(conn, "hash-a", "fa_a", ana, "2030-01-01")
        await token_repo.put_token(conn, "hash-b", "fa_b", bob, "2030-01-01")
        await conn.execute("DELETE FROM local_actors WHERE id = ?", (ana,))
    assert await token_repo.get_actor_id_by_token_hash(db.reader, "hash-a") is None
    assert await token_repo.get_actor_id_by_token_hash(db.reader, "hash-b") == bob
