"""The delivery queue's claims, outcomes and paused hosts (rows are queued by storage.outbox)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from storage.db import Connection, fetchall, fetchone


@dataclass(frozen=True, slots=True)
class DeliveryJob:
    id: int
    activity_id: str
    sender_id: int
    inbox: str
    host: str
    attempts: int
    body: bytes


async def claim_due_deliveries(
    conn: Connection, now: float, lease_until: float, limit: int
) -> list[DeliveryJob]:
    """Lease up to ``limit`` due deliveries whose host is not paused (a lease expires by itself)."""
    rows = await fetchall(
        conn,
        "UPDATE deliveries SET lease_until = ? WHERE id IN ("
        " SELECT id FROM deliveries WHERE state = 'pending' AND next_attempt_at <= ?"
        " AND lease_until <= ? AND host NOT IN"
        " (SELECT host FROM delivery_hosts WHERE paused_until > ?)"
        " ORDER BY next_attempt_at LIMIT ?)"
        " RETURNING id, activity_id, sender_id, inbox, host, attempts",
        (lease_until, now, now, now, limit),
    )
    if not rows:
        return []
    bodies = await _bodies(conn, {row[1] for row in rows})
    return [
        DeliveryJob(row[0], row[1], row[2], row[3], row[4], row[5], bodies[row[1]])
        for row in rows
        if row[1] in bodies
    ]


async def _bodies(conn: Connection, activity_ids: set[str]) -> dict[str, bytes]:
    marks = ",".join("?" * len(activity_ids))
    rows = await fetchall(
        conn, f"SELECT id, body FROM outbox_activities WHERE id IN ({marks})", tuple(activity_ids)
    )
    return {row[0]: row[1].encode() for row in rows}


async def delete_deliveries(conn: Connection, ids: Iterable[int]) -> None:
    """Forget deliveries that were answered with a 2xx."""
    await conn.executemany("DELETE FROM deliveries WHERE id = ?", [(i,) for i in ids])


async def reschedule_delivery(
    conn: Connection, job_id: int, attempts: int, next_attempt_at: float, error: str
) -> None:
    """Record a failed attempt and when to try again; the lease is released."""
    await conn.execute(
        "UPDATE deliveries SET attempts = ?, next_attempt_at = ?, lease_until = 0,"
        " last_error = ? WHERE id = ?",
        (attempts, next_attempt_at, error, job_id),
    )


async def kill_delivery(conn: Connection, job_id: int, attempts: int, error: str) -> None:
    """Give a delivery up: kept as dead with its last error, never tried again."""
    await conn.execute(
        "UPDATE deliveries SET state = 'dead', attempts = ?, lease_until = 0, last_error = ? WHERE id = ?",
        (attempts, error, job_id),
    )


async def clear_hosts(conn: Connection, hosts: Iterable[str]) -> None:
    """Hosts that answered again are no longer paused."""
    await conn.executemany("DELETE FROM delivery_hosts WHERE host = ?", [(h,) for h in hosts])


async def delete_stale_hosts(conn: Connection, cutoff: float) -> None:
    """Failure state expires: forget hosts not updated since ``cutoff``."""
    await conn.execute("DELETE FROM delivery_hosts WHERE updated_at < ?", (cutoff,))


async def next_due_at(conn: Connection) -> float | None:
    """When the earliest pending delivery is due (None when the queue is empty)."""
    row = await fetchone(conn, "SELECT MIN(next_attempt_at) FROM deliveries WHERE state = 'pending'")
    return float(row[0]) if row and row[0] is not None else None


@dataclass(frozen=True, slots=True)
class DeliveryCounts:
    pending: int
    dead: int


async def count_deliveries(conn: Connection) -> DeliveryCounts:
    """How many deliveries are pending and how many were given up."""
    rows = await fetchall(conn, "SELECT state, COUNT(*) FROM deliveries GROUP BY state")
    counts = {row[0]: int(row[1]) for row in rows}
    return DeliveryCounts(counts.get("pending", 0), counts.get("dead", 0))


async def has_due_deliveries(conn: Connection, now: float) -> bool:
    """Whether a claim at ``now`` would lease anything (a read, so an idle poll takes no write lock)."""
    row = await fetchone(
        conn,
        "SELECT 1 FROM deliveries WHERE state = 'pending' AND next_attempt_at <= ?"
        " AND lease_until <= ? AND host NOT IN"
        " (SELECT host FROM delivery_hosts WHERE paused_until > ?) LIMIT 1",
        (now, now, now),
    )
    return row is not None


async def next_claimable_at(conn: Connection) -> float | None:
    """When a pending delivery can next be claimed: due, its lease and its host's pause over."""
    row = await fetchone(
        conn,
        "SELECT MIN(MAX(d.next_attempt_at, d.lease_until, COALESCE(h.paused_until, 0)))"
        " FROM deliveries AS d LEFT JOIN delivery_hosts AS h ON h.host = d.host"
        " WHERE d.state = 'pending'",
    )
    return float(row[0]) if row and row[0] is not None else None


async def release_deliveries(conn: Connection, ids: Iterable[int]) -> None:
    """Drop the lease of deliveries handed back unattempted (their schedule is unchanged)."""
    await conn.executemany("UPDATE deliveries SET lease_until = 0 WHERE id = ?", [(i,) for i in ids])


async def release_all_leases(conn: Connection) -> None:
    """Drop every lease: the only worker is starting, so any lease left is a dead process's."""
    await conn.execute("UPDATE deliveries SET lease_until = 0 WHERE lease_until > 0")


async def put_host_pause(conn: Connection, host: str, until: float, now: float) -> None:
    """Pause a failing host until ``until``, but never past the end of a pause still running
    (that one ends at another job's retry, which must not be pushed back)."""
    await conn.execute(
        "INSERT INTO delivery_hosts (host, paused_until, failures, updated_at) VALUES (?, ?, 1, ?)"
        " ON CONFLICT (host) DO UPDATE SET paused_until = CASE"
        " WHEN paused_until > excluded.updated_at THEN MIN(paused_until, excluded.paused_until)"
        " ELSE excluded.paused_until END,"
        " failures = failures + 1, updated_at = excluded.updated_at",
        (host, until, now),
    )
