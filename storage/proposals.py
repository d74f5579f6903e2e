"""Proposals: their frozen rules, lifecycle state and coalesced-update mark (0003 schema)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from storage.db import Connection, Row, fetchall, fetchone

# States that end a proposal: the API's ``state=closed`` lists all of them.
ENDED_STATES = ("closed", "decided", "withdrawn")


@dataclass(frozen=True, slots=True)
class NewProposal:
    group_id: int
    kind: str
    title: str
    content: str
    options: tuple[str, ...]
    method: str
    threshold: str
    quorum: str  # an exact fraction as text, e.g. "1/2"
    area: str | None
    status_quo: bool
    closes_at: float
    created_at: str
    created_by: int | None


@dataclass(frozen=True, slots=True)
class Proposal:
    id: int
    group_id: int
    kind: str
    title: str
    content: str
    options: tuple[str, ...]
    method: str
    threshold: str
    quorum: str
    area: str | None
    status_quo: bool
    closes_at: float
    created_at: str
    created_by: int | None
    state: str  # open | closed | decided | withdrawn
    closed_at: str | None
    update_due_at: float | None
    decision: str | None
    snapshot: str | None

    @property
    def is_open(self) -> bool:
        return self.state == "open"


_COLUMNS = (
    "id, group_id, kind, title, content, options, method, threshold, quorum, area, status_quo,"
    " closes_at, created_at, created_by, state, closed_at, update_due_at, decision, snapshot"
)


def _proposal(row: Row | None) -> Proposal | None:
    if row is None:
        return None
    values = list(row)
    values[5] = tuple(json.loads(values[5]))
    values[10] = bool(values[10])
    return Proposal(*values)


async def put_proposal(conn: Connection, new: NewProposal) -> int:
    """Insert an open proposal; its id."""
    cursor = await conn.execute(
        "INSERT INTO proposals (group_id, kind, title, content, options, method, threshold, quorum,"
        " area, status_quo, closes_at, created_at, created_by)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            new.group_id,
            new.kind,
            new.title,
            new.content,
            json.dumps(list(new.options)),
            new.method,
            new.threshold,
            new.quorum,
            new.area,
            int(new.status_quo),
            new.closes_at,
            new.created_at,
            new.created_by,
        ),
    )
    return int(cursor.lastrowid or 0)


async def get_proposal_by_id(conn: Connection, proposal_id: int) -> Proposal | None:
    """A proposal by id."""
    return _proposal(await fetchone(conn, f"SELECT {_COLUMNS} FROM proposals WHERE id = ?", (proposal_id,)))


async def list_proposals_by_group(
    conn: Connection, group_id: int, state: str | None = None
) -> list[Proposal]:
    """A group's proposals, newest first; ``state`` 'open', 'closed' (every ended state) or None."""
    sql = f"SELECT {_COLUMNS} FROM proposals WHERE group_id = ?"
    params: list[object] = [group_id]
    if state == "open":
        sql += " AND state = 'open'"
    elif state == "closed":
        sql += f" AND state IN ({', '.join('?' * len(ENDED_STATES))})"
        params.extend(ENDED_STATES)
    rows = await fetchall(conn, sql + " ORDER BY id DESC", params)
    return [p for p in map(_proposal, rows) if p is not None]


async def list_due_proposal_ids(conn: Connection, now: float) -> list[int]:
    """Open proposals whose closing time has come, earliest first."""
    rows = await fetchall(
        conn,
        "SELECT id FROM proposals WHERE state = 'open' AND closes_at <= ? ORDER BY closes_at, id",
        (now,),
    )
    return [int(row[0]) for row in rows]


async def get_next_closing_time(conn: Connection) -> float | None:
    """The earliest closing time among open proposals."""
    row = await fetchone(conn, "SELECT MIN(closes_at) FROM proposals WHERE state = 'open'")
    return float(row[0]) if row and row[0] is not None else None


async def set_proposal_state(
    conn: Connection,
    proposal_id: int,
    *,
    from_state: str,
    to_state: str,
    at: str,
    decision: dict[str, Any] | None = None,
    snapshot: dict[str, Any] | None = None,
) -> bool:
    """Move a proposal from ``from_state`` to ``to_state``; False, writing nothing, if it is not
    in ``from_state`` (another closer, a withdrawal or a restart got there first).

    The caller decides that the move is legal; this writes what the target state carries:

    - ``closed``: ``closed_at = at``, and no coalesced Update is pending any more (the closer
      queues the final one itself);
    - ``withdrawn``: ``closed_at = at``;
    - ``decided``: ``decision`` and ``snapshot`` (the ballots page data, as compact JSON), both
      required and written once: the move also requires that no decision is stored yet. The
      proposal keeps the ``closed_at`` of its close; ``at`` is not written.
    """
    params: tuple[object, ...]
    if to_state == "decided":
        if decision is None or snapshot is None:
            raise ValueError("the move to decided writes a decision and its snapshot: both are needed")
        sql = (
            "UPDATE proposals SET state = ?, decision = ?, snapshot = ?"
            " WHERE id = ? AND state = ? AND decision IS NULL"
        )
        params = (
            to_state,
            json.dumps(decision),
            json.dumps(snapshot, separators=(",", ":")),
            proposal_id,
            from_state,
        )
    elif decision is not None or snapshot is not None:
        raise ValueError(f"only the move to decided writes a decision, not the move to {to_state!r}")
    elif to_state == "closed":
        sql = "UPDATE proposals SET state = ?, closed_at = ?, update_due_at = NULL WHERE id = ? AND state = ?"
        params = (to_state, at, proposal_id, from_state)
    elif to_state == "withdrawn":
        sql = "UPDATE proposals SET state = ?, closed_at = ? WHERE id = ? AND state = ?"
        params = (to_state, at, proposal_id, from_state)
    else:
        raise ValueError(f"a proposal cannot be moved to {to_state!r}")
    cursor = await conn.execute(sql, params)
    return cursor.rowcount == 1


async def put_update_due(conn: Connection, proposal_id: int, due_at: float) -> None:
    """Ask for a coalesced Update(Question) at ``due_at``, keeping an earlier request."""
    await conn.execute(
        "UPDATE proposals SET update_due_at = MIN(COALESCE(update_due_at, ?), ?) WHERE id = ?",
        (due_at, due_at, proposal_id),
    )


async def delete_update_due(conn: Connection, proposal_id: int) -> None:
    """Forget a proposal's pending Update(Question) request (it was sent)."""
    await conn.execute("UPDATE proposals SET update_due_at = NULL WHERE id = ?", (proposal_id,))


async def list_proposals_update_due(
    conn: Connection, now: float, limit: int = 100
) -> list[Proposal]:
    """Proposals whose coalesced Update(Question) is due, oldest request first."""
    rows = await fetchall(
        conn,
        f"SELECT {_COLUMNS} FROM proposals WHERE update_due_at IS NOT NULL AND update_due_at <= ?"
        " ORDER BY update_due_at LIMIT ?",
        (now, limit),
    )
    return [p for p in map(_proposal, rows) if p is not None]


async def get_proposal_scope_by_id(conn: Connection, proposal_id: int) -> tuple[int, str] | None:
    """(group id, state) of a proposal, to check a proposal-scoped delegation."""
    row = await fetchone(conn, "SELECT group_id, state FROM proposals WHERE id = ?", (proposal_id,))
    return (int(row[0]), str(row[1])) if row else None
