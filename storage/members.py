"""Rosters: members of groups, local or remote, and their facilitator flag."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Connection, Row, fetchall, fetchone


@dataclass(frozen=True, slots=True)
class Member:
    group_id: int
    member: str  # the member's actor IRI
    local_actor_id: int | None
    facilitator: bool
    added_at: str


@dataclass(frozen=True, slots=True)
class Membership:
    group_name: str
    facilitator: bool


_COLUMNS = "group_id, member, local_actor_id, facilitator, added_at"


def _member(row: Row | None) -> Member | None:
    return Member(row[0], row[1], row[2], bool(row[3]), row[4]) if row else None


async def put_member(conn: Connection, member: Member) -> bool:
    """Add a member; False if already on the roster."""
    cursor = await conn.execute(
        f"INSERT OR IGNORE INTO members ({_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
        (member.group_id, member.member, member.local_actor_id, int(member.facilitator), member.added_at),
    )
    return cursor.rowcount > 0


async def delete_member(conn: Connection, group_id: int, member: str) -> bool:
    """Take a member off a roster; True if they were on it."""
    cursor = await conn.execute("DELETE FROM members WHERE group_id = ? AND member = ?", (group_id, member))
    return cursor.rowcount > 0


async def delete_member_everywhere(conn: Connection, member: str) -> list[int]:
    """Take an actor off every roster (its account was deleted); the groups it left."""
    rows = await fetchall(conn, "DELETE FROM members WHERE member = ? RETURNING group_id", (member,))
    return [int(row[0]) for row in rows]


async def list_roster_entries_from(conn: Connection, rowid: int) -> list[tuple[int, str]]:
    """(rowid, member IRI) of every roster entry from ``rowid`` on, in rowid order, all groups.

    SQLite gives a new row the largest rowid plus one, so while the row at the largest rowid
    one has seen is still there, every row added since comes after it: asking from that rowid
    and finding it first in the answer (one statement, one snapshot) means nothing was missed.
    """
    rows = await fetchall(conn, "SELECT rowid, member FROM members WHERE rowid >= ? ORDER BY rowid", (rowid,))
    return [(int(row[0]), row[1]) for row in rows]


async def get_member(conn: Connection, group_id: int, member: str) -> Member | None:
    """A roster entry by the member's actor IRI."""
    return _member(
        await fetchone(
            conn, f"SELECT {_COLUMNS} FROM members WHERE group_id = ? AND member = ?", (group_id, member)
        )
    )


async def get_local_member(conn: Connection, group_id: int, local_actor_id: int) -> Member | None:
    """A local person's roster entry in a group."""
    return _member(
        await fetchone(
            conn,
            f"SELECT {_COLUMNS} FROM members WHERE group_id = ? AND local_actor_id = ?",
            (group_id, local_actor_id),
        )
    )


async def list_members(conn: Connection, group_id: int) -> list[Member]:
    """A group's roster in the order members were added."""
    rows = await fetchall(
        conn, f"SELECT {_COLUMNS} FROM members WHERE group_id = ? ORDER BY added_at, member", (group_id,)
    )
    return [m for m in map(_member, rows) if m is not None]


async def list_member_ids(conn: Connection, group_id: int) -> list[str]:
    """The actor IRIs on a group's roster."""
    rows = await fetchall(conn, "SELECT member FROM members WHERE group_id = ?", (group_id,))
    return [row[0] for row in rows]


async def list_remote_member_ids(conn: Connection, group_id: int) -> list[str]:
    """The actor IRIs of a group's remote members (sorted by IRI: the key's order, no sort)."""
    rows = await fetchall(
        conn, "SELECT member FROM members WHERE group_id = ? AND local_actor_id IS NULL", (group_id,)
    )
    return [row[0] for row in rows]


async def count_members(conn: Connection, group_id: int) -> int:
    """A group's roster size."""
    row = await fetchone(conn, "SELECT COUNT(*) FROM members WHERE group_id = ?", (group_id,))
    return int(row[0]) if row else 0


async def list_memberships_of_local(conn: Connection, local_actor_id: int) -> list[Membership]:
    """The groups a local person belongs to."""
    rows = await fetchall(
        conn,
        "SELECT a.name, m.facilitator FROM members m JOIN local_actors a ON a.id = m.group_id"
        " WHERE m.local_actor_id = ? ORDER BY a.name",
        (local_actor_id,),
    )
    return [Membership(row[0], bool(row[1])) for row in rows]


@dataclass(frozen=True, slots=True)
class RosterEntry:
    member: str  # actor IRI
    facilitator: bool
    local_name: str | None  # set for local people
    remote_username: str | None  # the cached preferredUsername of a remote member


async def list_roster(conn: Connection, group_id: int) -> list[RosterEntry]:
    """A group's roster with what is needed to name each member (local name, remote username)."""
    rows = await fetchall(
        conn,
        "SELECT m.member, m.facilitator, a.name, r.preferred_username FROM members m"
        " LEFT JOIN local_actors a ON a.id = m.local_actor_id"
        " LEFT JOIN remote_actors r ON r.id = m.member"
        " WHERE m.group_id = ? ORDER BY m.added_at, m.member",
        (group_id,),
    )
    return [RosterEntry(row[0], bool(row[1]), row[2], row[3]) for row in rows]


async def list_member_page(conn: Connection, group_id: int, offset: int, limit: int) -> list[str]:
    """One page of a group's member IRIs, in the order they were added."""
    rows = await fetchall(
        conn,
        "SELECT member FROM members WHERE group_id = ? ORDER BY added_at, member LIMIT ? OFFSET ?",
        (group_id, limit, offset),
    )
    return [row[0] for row in rows]


async def list_remote_members_by_username(
    conn: Connection, group_id: int, username: str
) -> list[str]:
    """IRIs of a group's remote members whose cached preferredUsername is ``username`` (any case)."""
    rows = await fetchall(
        conn,
        "SELECT m.member FROM members m JOIN remote_actors r ON r.id = m.member"
        " WHERE m.group_id = ? AND lower(r.preferred_username) = lower(?)",
        (group_id, username),
    )
    return [row[0] for row in rows]
