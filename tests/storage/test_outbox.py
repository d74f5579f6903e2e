"""storage.outbox on a real database: published activities, objects and queued deliveries."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from storage import deliveries as delivery_repo
from storage import outbox as outbox_repo
from storage.db import Database
from storage.deliveries import DeliveryCounts

NewActor = Callable[..., Awaitable[int]]  # the conftest factory

NOW = "2030-01-01T00:00:00Z"


def create(n: int, type_: str = "Create") -> dict[str, Any]:
    return {"id": f"https://node.example/activities/{n}", "type": type_, "object": {"n": n}}


async def test_an_activity_round_trips_and_keeps_the_json_it_was_given(
    db: Database, new_actor: NewActor
) -> None:
    barrio = await new_actor("barrio")
    given = json.dumps(create(2), separators=(",", ":"))
    async with db.transaction() as conn:
        await outbox_repo.put_activity(conn, create(1), barrio, public=True, published_at=NOW)
        await outbox_repo.put_activity(conn, create(2), barrio, public=False, published_at=NOW, body=given)
    first = await outbox_repo.get_activity(db.reader, create(1)["id"])
    second = await outbox_repo.get_activity(db.reader, create(2)["id"])
    assert first is not None and second is not None
    assert (first.actor_id, first.type, first.body, first.published_at) == (barrio, "Create", create(1), NOW)
    assert second.seq > first.seq and second.body == create(2)
    row = await db.fetchone("SELECT body FROM outbox_activities WHERE id = ?", (create(2)["id"],))
    assert row is not None and row[0] == given  # served byte for byte
    assert await outbox_repo.get_activity(db.reader, "https://node.example/activities/9") is None


async def test_an_activity_id_is_published_once(db: Database, new_actor: NewActor) -> None:
    barrio = await new_actor("barrio")
    async with db.transaction() as conn:
        await outbox_repo.put_activity(conn, create(1), barrio, public=True, published_at=NOW)
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as conn:
            await outbox_repo.put_activity(conn, create(1), barrio, public=True, published_at=NOW)


async def test_public_activities_are_paged_newest_first_and_counted(
    db: Database, new_actor: NewActor
) -> None:
    barrio, other = await new_actor("barrio"), await new_actor("other")
    async with db.transaction() as conn:
        for n in range(6):
            await outbox_repo.put_activity(conn, create(n), barrio, public=n != 3, published_at=NOW)
        await outbox_repo.put_activity(conn, create(10), other, public=True, published_at=NOW)
    page = await outbox_repo.list_public_activities(db.reader, barrio, 0, 3)
    assert [a.body["object"]["n"] for a in page] == [5, 4, 2]  # 3 is not public
    page = await outbox_repo.list_public_activities(db.reader, barrio, 3, 3)
    assert [a.body["object"]["n"] for a in page] == [1, 0]
    assert await outbox_repo.count_public_activities(db.reader, barrio) == 5
    assert await outbox_repo.count_public_activities(db.reader, other) == 1
    assert await outbox_repo.count_all_public_activities(db.reader) == 6


async def test_activities_are_counted_by_type_public_or_not(db: Database, new_actor: NewActor) -> None:
    barrio, other = await new_actor("barrio"), await new_actor("other")
    async with db.transaction() as conn:
        await outbox_repo.put_activity(conn, create(1), barrio, public=True, published_at=NOW)
        await outbox_repo.put_activity(conn, create(2), barrio, public=False, published_at=NOW)
        await outbox_repo.put_activity(conn, create(3, "Update"), barrio, public=True, published_at=NOW)
        await outbox_repo.put_activity(conn, create(4), other, public=True, published_at=NOW)
    assert await outbox_repo.count_activities_of_type(db.reader, barrio, "Create") == 2
    assert await outbox_repo.count_activities_of_type(db.reader, barrio, "Update") == 1
    assert await outbox_repo.count_activities_of_type(db.reader, barrio, "Delete") == 0
    assert await outbox_repo.count_activities_of_type(db.reader, other, "Create") == 1


async def test_an_object_round_trips(db: Database, new_actor: NewActor) -> None:
    barrio = await new_actor("barrio")
    note = {"id": "https://node.example/objects/1", "type": "Note", "content": "<p>hola</p>"}
    async with db.transaction() as conn:
        await outbox_repo.put_object(conn, note, barrio, NOW)
    assert await outbox_repo.get_object(db.reader, note["id"]) == note
    assert await outbox_repo.get_object(db.reader, "https://node.example/objects/2") is None


async def test_deliveries_are_queued_pending_and_due_now(db: Database, new_actor: NewActor) -> None:
    barrio = await new_actor("barrio")
    targets = [("https://a.example/inbox", "a.example"), ("https://b.example/inbox", "b.example")]
    async with db.transaction() as conn:
        await outbox_repo.put_activity(conn, create(1), barrio, public=True, published_at=NOW)
        assert await outbox_repo.put_deliveries(conn, create(1)["id"], barrio, targets, 50.0) == 2
        assert await outbox_repo.put_deliveries(conn, create(1)["id"], barrio, [], 50.0) == 0
    assert await delivery_repo.count_deliveries(db.reader) == DeliveryCounts(pending=2, dead=0)
    assert await delivery_repo.next_due_at(db.reader) == 50.0
    async with db.transaction() as conn:
        jobs = await delivery_repo.claim_due_deliveries(conn, 50.0, 80.0, 10)
    assert sorted((j.inbox, j.host, j.attempts, j.sender_id) for j in jobs) == [
        (inbox, host, 0, barrio) for inbox, host in targets
    ]


async def test_what_an_actor_published_goes_with_it(db: Database, new_actor: NewActor) -> None:
    barrio, other = await new_actor("barrio"), await new_actor("other")
    async with db.transaction() as conn:
        for actor, n in ((barrio, 1), (other, 2)):
            await outbox_repo.put_activity(conn, create(n), actor, public=True, published_at=NOW)
            await outbox_repo.put_object(conn, {"id": f"o{n}", "type": "Note"}, actor, NOW)
            target = ("https://a.example/inbox", "a.example")
            await outbox_repo.put_deliveries(conn, create(n)["id"], actor, [target], 1.0)
        await conn.execute("DELETE FROM local_actors WHERE id = ?", (barrio,))
    assert await outbox_repo.get_activity(db.reader, create(1)["id"]) is None
    assert await outbox_repo.get_object(db.reader, "o1") is None
    assert await outbox_repo.get_activity(db.reader, create(2)["id"]) is not None
    assert await outbox_repo.get_object(db.reader, "o2") is not None
    assert await delivery_repo.count_deliveries(db.reader) == DeliveryCounts(pending=1, dead=0)
