"""Liquid delegations inside one group (the 0003 ``delegations`` table).

A row is one delegator's choice in one scope: ``global`` (key ''), ``area`` (the area text) or
``proposal`` (its id as text); a NULL delegate is an explicit "no delegation in this scope".
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Connection, Row, fetchall, fetchone


@dataclass(frozen=True, slots=True)
class StoredDelegation:
    group_id: int
    delegator: str  # actor IRI
    scope: str  # global | area | proposal
    scope_key: str
    delegate: str | None  # actor IRI, or None for "nobody in this scope"
    created_at: str


_COLUMNS = "group_id, delegator, scope, scope_key, delegate, created_at"


def _rows(rows: list[Row]) -> list[StoredDelegation]:
    return [StoredDelegation(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]


async def put_delegation(conn: Connection, delegation: StoredDelegation) -> None:
    """Record (or replace) a delegator's choice in one scope."""
    await conn.execute(
        f"INSERT INTO delegations ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (group_id, delegator, scope, scope_key) DO UPDATE SET"
        " delegate = excluded.delegate, created_at = excluded.created_at",
        (
            delegation.group_id,
            delegation.delegator,
            delegation.scope,
            delegation.scope_key,
            delegation.delegate,
            delegation.created_at,
        ),
    )


async def get_delegation(
    conn: Connection, group_id: int, delegator: str, scope: str, scope_key: str
) -> StoredDelegation | None:
    """A delegator's choice in one scope, if recorded."""
    row = await fetchone(
        conn,
        f"SELECT {_COLUMNS} FROM delegations WHERE group_id = ? AND delegator = ?"
        " AND scope = ? AND scope_key = ?",
        (group_id, delegator, scope, scope_key),
    )
    return _rows([row])[0] if row else None


async def delete_delegation(
    conn: Connection, group_id: int, delegator: str, scope: str, scope_key: str
) -> bool:
    """Revoke a delegator's choice in one scope; True if there was one."""
    cursor = await conn.execute(
        "DELETE FROM delegations WHERE group_id = ? AND delegator = ? AND scope = ? AND scope_key = ?",
        (group_id, delegator, scope, scope_key),
    )
    return cursor.rowcount > 0


async def list_delegations_by_delegator(
    conn: Connection, group_id: int, delegator: str
) -> list[StoredDelegation]:
    """Everything one member delegated in a group, broadest scope first."""
    return _rows(
        await fetchall(
            conn,
            f"SELECT {_COLUMNS} FROM delegations WHERE group_id = ? AND delegator = ?"
            " ORDER BY scope = 'proposal', scope = 'area', scope_key",
            (group_id, delegator),
        )
    )


async def list_delegations_by_delegate(
    conn: Connection, group_id: int, delegate: str
) -> list[StoredDelegation]:
    """Every delegation to one member in a group."""
    return _rows(
        await fetchall(
            conn,
            f"SELECT {_COLUMNS} FROM delegations WHERE group_id = ? AND delegate = ?"
            " ORDER BY scope = 'proposal', scope = 'area', scope_key, delegator",
            (group_id, delegate),
        )
    )


async def list_delegations(conn: Connection, group_id: int) -> list[StoredDelegation]:
    """Every delegation recorded in a group (the tally's input)."""
    return _rows(
        await fetchall(
            conn,
            f"SELECT {_COLUMNS} FROM delegations WHERE group_id = ? ORDER BY delegator, scope, scope_key",
            (group_id,),
        )
    )


async def delete_delegations_by_delegator(conn: Connection, group_id: int, delegator: str) -> int:
    """Drop every delegation a member made in a group (they left its roster)."""
    cursor = await conn.execute(
        "DELETE FROM delegations WHERE group_id = ? AND delegator = ?", (group_id, delegator)
    )
    return cursor.rowcount


async def delete_delegations_of_actor(conn: Connection, actor: str) -> int:
    """Drop every delegation made by or to an actor, in every group (its account is gone)."""
    cursor = await conn.execute("DELETE FROM delegations WHERE delegator = ? OR delegate = ?", (actor, actor))
    return cursor.rowcount
