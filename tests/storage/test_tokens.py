"""storage.tokens on a real database: bearer tokens kept as hashes, revoked, gone with their person."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable

import pytest

from storage import tokens as token_repo
from storage.db import Database
from storage.tokens import TokenInfo

NewActor = Callable[..., Awaitable[int]]  # the conftest factory


async def test_a_token_names_its_person_and_is_listed_by_prefix_oldest_first(
    db: Database, new_actor: NewActor
) -> None:
    ana, bob = await new_actor("ana", "person"), await new_actor("bob", "person")
    async with db.transaction() as conn:
        await token_repo.put_token(conn, "hash-2", "fa_2", ana, "2030-01-02")
        await token_repo.put_token(conn, "hash-1", "fa_1", ana, "2030-01-01")
        await token_repo.put_token(conn, "hash-3", "fa_3", bob, "2030-01-01")
    assert await token_repo.get_actor_id_by_token_hash(db.reader, "hash-1") == ana
    assert await token_repo.get_actor_id_by_token_hash(db.reader, "hash-3") == bob
    assert await token_repo.get_actor_id_by_token_hash(db.reader, "unknown") is None
    assert await token_repo.list_tokens(db.reader, ana) == [
        TokenInfo("fa_1", "2030-01-01", None), TokenInfo("fa_2", "2030-01-02", None)
    ]


async def test_a_hash_is_stored_once_and_only_for_a_local_actor(db: Database, new_actor: NewActor) -> None:
    ana = await new_actor("ana", "person")
    async with db.transaction() as conn:
        await token_repo.put_token(conn, "hash-1", "fa_1", ana, "2030-01-01")
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as conn:
            await token_repo.put_token(conn, "hash-1", "fa_x", ana, "2030-01-02")
    with pytest.raises(sqlite3.IntegrityError):  # no such actor
        async with db.transaction() as conn:
            await token_repo.put_token(conn, "hash-2", "fa_2", 999, "2030-01-02")
    assert await token_repo.list_tokens(db.reader, ana) == [TokenInfo("fa_1", "2030-01-01", None)]


async def test_a_revoked_token_no_longer_authenticates(db: Database, new_actor: NewActor) -> None:
    ana = await new_actor("ana", "person")
    async with db.transaction() as conn:
        await token_repo.put_token(conn, "hash-1", "fa_1", ana, "2030-01-01")
        assert await token_repo.delete_token(conn, "hash-1")
        assert not await token_repo.delete_token(conn, "hash-1")
    assert await token_repo.get_actor_id_by_token_hash(db.reader, "hash-1") is None
    assert await token_repo.list_tokens(db.reader, ana) == []


async def test_tokens_go_with_their_person(db: Database, new_actor: NewActor) -> None:
    ana, bob = await new_actor("ana", "person"), await new_actor("bob", "person")
    async with db.transaction() as conn:
        await token_repo.put_token(conn, "hash-a", "fa_a", ana, "2030-01-01")
        await token_repo.put_token(conn, "hash-b", "fa_b", bob, "2030-01-01")
        await conn.execute("DELETE FROM local_actors WHERE id = ?", (ana,))
    assert await token_repo.get_actor_id_by_token_hash(db.reader, "hash-a") is None
    assert await token_repo.get_actor_id_by_token_hash(db.reader, "hash-b") == bob
