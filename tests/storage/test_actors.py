"""storage.actors on a real database: local actors, their settings and their keys."""

from __future__ import annotations

import sqlite3

import pytest

from storage import actors as actor_repo
from storage.db import Database

NOW = "2030-01-01T00:00:00Z"


async def test_an_actor_round_trips_by_name_and_by_id(db: Database) -> None:
    async with db.transaction() as conn:
        barrio = await actor_repo.put_actor(conn, "barrio", "assembly", "Barrio", NOW, {"lang": "es"})
        ana = await actor_repo.put_actor(conn, "ana", "person", "Ana", NOW, password_hash="h")
    assert barrio != ana and barrio > 0
    found = await actor_repo.get_actor_by_name(db.reader, "barrio")
    assert found == actor_repo.LocalActor(barrio, "barrio", "assembly", "Barrio", "", {"lang": "es"}, NOW)
    assert found is not None and found.kind == "assembly"
    person = await actor_repo.get_actor_by_id(db.reader, ana)
    assert person is not None and person.name == "ana" and person.settings == {} and person.kind == "person"
    assert await actor_repo.get_actor_by_name(db.reader, "nobody") is None
    assert await actor_repo.get_actor_by_id(db.reader, 999) is None


async def test_a_council_and_the_instance_actor_are_found_by_kind(db: Database) -> None:
    assert await actor_repo.get_instance_actor(db.reader) is None
    async with db.transaction() as conn:
        await actor_repo.put_actor(conn, "council", "council", "Council", NOW)
        instance = await actor_repo.put_actor(conn, "instance", "instance", "Node", NOW)
    council = await actor_repo.get_actor_by_name(db.reader, "council")
    assert council is not None and council.kind == "council"
    found = await actor_repo.get_instance_actor(db.reader)
    assert found is not None and found.id == instance and found.kind == "instance"


async def test_a_taken_name_is_refused_and_the_unit_writes_nothing(db: Database) -> None:
    async with db.transaction() as conn:
        await actor_repo.put_actor(conn, "barrio", "assembly", "Barrio", NOW)
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as conn:
            await actor_repo.put_actor(conn, "other", "person", "Other", NOW)
            await actor_repo.put_actor(conn, "barrio", "person", "Again", NOW)
    assert await actor_repo.get_actor_by_name(db.reader, "other") is None
    found = await actor_repo.get_actor_by_name(db.reader, "barrio")
    assert found is not None and found.kind == "assembly"


async def test_an_unknown_kind_is_refused(db: Database) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as conn:
            await actor_repo.put_actor(conn, "x", "robot", "X", NOW)


async def test_settings_are_replaced_whole(db: Database) -> None:
    async with db.transaction() as conn:
        barrio = await actor_repo.put_actor(conn, "barrio", "assembly", "Barrio", NOW, {"a": 1, "b": 2})
        await actor_repo.put_actor_settings(conn, barrio, {"b": 3})
        # Inside the unit the writer already sees its own write.
        inside = await actor_repo.get_actor_by_id(conn, barrio)
        assert inside is not None and inside.settings == {"b": 3}
    found = await actor_repo.get_actor_by_id(db.reader, barrio)
    assert found is not None and found.settings == {"b": 3}


async def test_actors_are_counted_by_kind(db: Database) -> None:
    assert await actor_repo.count_actors_by_kind(db.reader) == {}
    async with db.transaction() as conn:
        for name, kind in [("a", "assembly"), ("b", "assembly"), ("p", "person"), ("i", "instance")]:
            await actor_repo.put_actor(conn, name, kind, name, NOW)
    assert await actor_repo.count_actors_by_kind(db.reader) == {"assembly": 2, "person": 1, "instance": 1}


async def test_the_first_key_of_a_kind_wins(db: Database) -> None:
    async with db.transaction() as conn:
        barrio = await actor_repo.put_actor(conn, "barrio", "assembly", "Barrio", NOW)
    assert await actor_repo.get_key(db.reader, barrio, "rsa") is None
    async with db.transaction() as conn:
        await actor_repo.put_key_if_absent(conn, barrio, "rsa", "private-1", "public-1", NOW)
        await actor_repo.put_key_if_absent(conn, barrio, "rsa", "private-2", "public-2", NOW)
        await actor_repo.put_key_if_absent(conn, barrio, "ed25519", "ed-private", "ed-public", NOW)
    assert await actor_repo.get_key(db.reader, barrio, "rsa") == actor_repo.ActorKey(
        barrio, "rsa", "private-1", "public-1"
    )
    assert await actor_repo.get_key(db.reader, barrio, "ed25519") == actor_repo.ActorKey(
        barrio, "ed25519", "ed-private", "ed-public"
    )


async def test_keys_go_with_their_actor(db: Database) -> None:
    async with db.transaction() as conn:
        barrio = await actor_repo.put_actor(conn, "barrio", "assembly", "Barrio", NOW)
        other = await actor_repo.put_actor(conn, "other", "assembly", "Other", NOW)
        await actor_repo.put_key_if_absent(conn, barrio, "rsa", "private", "public", NOW)
        await actor_repo.put_key_if_absent(conn, other, "rsa", "private", "public", NOW)
        await conn.execute("DELETE FROM local_actors WHERE id = ?", (barrio,))
    assert await actor_repo.get_key(db.reader, barrio, "rsa") is None
    assert await actor_repo.get_key(db.reader, other, "rsa") is not None
