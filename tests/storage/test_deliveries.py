"""storage.deliveries on a real database: leases, retries, dead letters and paused hosts."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable

import pytest

from storage import deliveries as delivery_repo
from storage import outbox as outbox_repo
from storage.db import Database
from storage.deliveries import DeliveryCounts, DeliveryJob

NewActor = Callable[..., Awaitable[int]]  # the conftest factory

A, B = ("https://a.example/inbox", "a.example"), ("https://b.example/inbox", "b.example")


@pytest.fixture
async def sender(new_actor: NewActor) -> int:
    return await new_actor("barrio")


async def publish(db: Database, sender: int, n: int, targets: Iterable[tuple[str, str]], due: float) -> str:
    """An activity queued to ``targets``, due at ``due``; its id."""
    activity = {"id": f"https://node.example/activities/{n}", "type": "Create"}
    async with db.transaction() as conn:
        await outbox_repo.put_activity(conn, activity, sender, public=True, published_at="now")
        await outbox_repo.put_deliveries(conn, activity["id"], sender, targets, due)
    return activity["id"]


async def claim(db: Database, now: float, lease_until: float, limit: int = 10) -> list[DeliveryJob]:
    async with db.transaction() as conn:
        return await delivery_repo.claim_due_deliveries(conn, now, lease_until, limit)


async def test_a_claim_leases_due_jobs_with_their_body_until_the_lease_ends(
    db: Database, sender: int
) -> None:
    activity = await publish(db, sender, 1, [A, B], due=10.0)
    jobs = await claim(db, now=10.0, lease_until=70.0)
    assert sorted((j.activity_id, j.inbox, j.host, j.attempts) for j in jobs) == [
        (activity, *A, 0), (activity, *B, 0)
    ]
    assert all(json.loads(j.body) == {"id": activity, "type": "Create"} for j in jobs)
    # Leased: nobody else gets them, until the lease runs out.
    assert await claim(db, now=20.0, lease_until=80.0) == []
    assert not await delivery_repo.has_due_deliveries(db.reader, 20.0)
    assert await delivery_repo.next_claimable_at(db.reader) == 70.0
    assert await delivery_repo.has_due_deliveries(db.reader, 70.0)
    assert len(await claim(db, now=70.0, lease_until=130.0)) == 2


async def test_only_due_jobs_are_claimed_earliest_first_up_to_the_limit(db: Database, sender: int) -> None:
    late = await publish(db, sender, 1, [A], due=30.0)
    early = await publish(db, sender, 2, [A], due=10.0)
    middle = await publish(db, sender, 3, [A], due=20.0)
    assert await delivery_repo.next_due_at(db.reader) == 10.0
    assert [j.activity_id for j in await claim(db, now=25.0, lease_until=99.0, limit=1)] == [early]
    assert [j.activity_id for j in await claim(db, now=25.0, lease_until=99.0)] == [middle]
    assert not await delivery_repo.has_due_deliveries(db.reader, 25.0)
    assert [j.activity_id for j in await claim(db, now=30.0, lease_until=99.0)] == [late]


async def test_a_job_whose_activity_is_gone_is_not_handed_out(db: Database, sender: int) -> None:
    async with db.transaction() as conn:
        await outbox_repo.put_deliveries(conn, "https://node.example/activities/gone", sender, [A], 1.0)
    assert await claim(db, now=1.0, lease_until=2.0) == []


async def test_a_failed_attempt_is_retried_at_its_time_and_a_dead_job_never(
    db: Database, sender: int
) -> None:
    await publish(db, sender, 1, [A, B], due=0.0)
    jobs = {j.host: j for j in await claim(db, now=0.0, lease_until=60.0)}
    async with db.transaction() as conn:
        await delivery_repo.reschedule_delivery(conn, jobs["a.example"].id, 1, 30.0, "HTTP 503")
        await delivery_repo.kill_delivery(conn, jobs["b.example"].id, 9, "HTTP 410")
    assert await delivery_repo.count_deliveries(db.reader) == DeliveryCounts(pending=1, dead=1)
    # The lease is released with the failure: due again at 30, not at the lease's end.
    assert await delivery_repo.next_claimable_at(db.reader) == 30.0
    assert await claim(db, now=29.0, lease_until=90.0) == []
    [retry] = await claim(db, now=30.0, lease_until=90.0)
    assert (retry.host, retry.attempts) == ("a.example", 1)
    rows = await db.fetchall("SELECT host, state, last_error FROM deliveries ORDER BY host")
    assert [tuple(row) for row in rows] == [
        ("a.example", "pending", "HTTP 503"), ("b.example", "dead", "HTTP 410")
    ]
    later = await claim(db, now=10_000.0, lease_until=10_060.0)
    assert [j.host for j in later] == ["a.example"]  # the dead one: never


async def test_delivered_jobs_are_deleted(db: Database, sender: int) -> None:
    await publish(db, sender, 1, [A, B], due=0.0)
    jobs = await claim(db, now=0.0, lease_until=60.0)
    async with db.transaction() as conn:
        await delivery_repo.delete_deliveries(conn, [job.id for job in jobs])
    assert await delivery_repo.count_deliveries(db.reader) == DeliveryCounts(pending=0, dead=0)
    assert await delivery_repo.next_due_at(db.reader) is None
    assert await delivery_repo.next_claimable_at(db.reader) is None


async def test_released_leases_make_jobs_claimable_at_once_on_their_old_schedule(
    db: Database, sender: int
) -> None:
    await publish(db, sender, 1, [A, B], due=5.0)
    jobs = {j.host: j for j in await claim(db, now=5.0, lease_until=60.0)}
    async with db.transaction() as conn:
        await delivery_repo.release_deliveries(conn, [jobs["a.example"].id])
    assert [j.host for j in await claim(db, now=6.0, lease_until=60.0)] == ["a.example"]
    async with db.transaction() as conn:
        await delivery_repo.release_all_leases(conn)
    assert await delivery_repo.next_claimable_at(db.reader) == 5.0
    assert sorted(j.host for j in await claim(db, now=6.0, lease_until=60.0)) == ["a.example", "b.example"]


async def test_a_paused_host_is_skipped_until_its_pause_ends(db: Database, sender: int) -> None:
    await publish(db, sender, 1, [A, B], due=0.0)
    async with db.transaction() as conn:
        await delivery_repo.put_host_pause(conn, "a.example", 50.0, 10.0)
    assert [j.host for j in await claim(db, now=10.0, lease_until=60.0)] == ["b.example"]
    assert not await delivery_repo.has_due_deliveries(db.reader, 20.0)
    assert await delivery_repo.next_claimable_at(db.reader) == 50.0  # a's pause ends before b's lease
    assert [j.host for j in await claim(db, now=50.0, lease_until=90.0)] == ["a.example"]


async def pause_of(db: Database, host: str) -> tuple[float, int] | None:
    row = await db.fetchone("SELECT paused_until, failures FROM delivery_hosts WHERE host = ?", (host,))
    return (row[0], row[1]) if row else None


async def test_a_running_pause_is_never_extended_and_an_ended_one_is_replaced(db: Database) -> None:
    async with db.transaction() as conn:
        await delivery_repo.put_host_pause(conn, "a.example", 50.0, 10.0)
    assert await pause_of(db, "a.example") == (50.0, 1)
    async with db.transaction() as conn:
        # Still paused at 20: a longer pause would push back the retry the pause was set for.
        await delivery_repo.put_host_pause(conn, "a.example", 100.0, 20.0)
    assert await pause_of(db, "a.example") == (50.0, 2)
    async with db.transaction() as conn:
        await delivery_repo.put_host_pause(conn, "a.example", 30.0, 21.0)
    assert await pause_of(db, "a.example") == (30.0, 3)
    async with db.transaction() as conn:
        await delivery_repo.put_host_pause(conn, "a.example", 200.0, 60.0)  # the pause had ended
    assert await pause_of(db, "a.example") == (200.0, 4)


async def test_hosts_that_answer_are_cleared_and_stale_ones_forgotten(db: Database, sender: int) -> None:
    await publish(db, sender, 1, [A, B], due=0.0)
    async with db.transaction() as conn:
        await delivery_repo.put_host_pause(conn, "a.example", 500.0, 10.0)
        await delivery_repo.put_host_pause(conn, "b.example", 500.0, 20.0)
        await delivery_repo.put_host_pause(conn, "c.example", 500.0, 30.0)
        await delivery_repo.clear_hosts(conn, ["a.example"])
        await delivery_repo.delete_stale_hosts(conn, 30.0)  # updated before 30: forgotten
    assert await pause_of(db, "a.example") is None
    assert await pause_of(db, "b.example") is None
    assert await pause_of(db, "c.example") == (500.0, 1)
    assert sorted(j.host for j in await claim(db, now=40.0, lease_until=41.0)) == ["a.example", "b.example"]
