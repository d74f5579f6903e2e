"""The ballot log (one row per leaf), refused fediverse votes and the replies sent to voters."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from storage.db import Connection, Row, fetchall, fetchone
from storage.truncate import bounded_json


@dataclass(frozen=True, slots=True)
class BallotRow:
    proposal_id: int
    seq: int  # the 0-based leaf index
    voter: str  # actor IRI
    ballot: dict[str, Any]  # the API's JSON shape
    received_at: str
    source: str  # api | activitypub
    activity_id: str | None  # the vote Note's id, for fediverse votes
    leaf_hash: str  # hex


@dataclass(frozen=True, slots=True)
class RefusedBallot:
    proposal_id: int
    voter: str
    reason: str  # not_member | closed | unknown_option | wrong_method
    activity_id: str | None
    note: dict[str, Any]
    received_at: str


_COLUMNS = "proposal_id, seq, voter, ballot, received_at, source, activity_id, leaf_hash"


def _ballot(row: Row | None) -> BallotRow | None:
    if row is None:
        return None
    return BallotRow(row[0], row[1], row[2], json.loads(row[3]), row[4], row[5], row[6], row[7])


async def put_ballot(conn: Connection, ballot: BallotRow) -> None:
    """Append a leaf to a proposal's ballot log."""
    await conn.execute(
        f"INSERT INTO ballots ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            ballot.proposal_id,
            ballot.seq,
            ballot.voter,
            json.dumps(ballot.ballot),
            ballot.received_at,
            ballot.source,
            ballot.activity_id,
            ballot.leaf_hash,
        ),
    )


async def count_ballots(conn: Connection, proposal_id: int) -> int:
    """The ballot log's size: the next leaf's seq."""
    row = await fetchone(conn, "SELECT COUNT(*) FROM ballots WHERE proposal_id = ?", (proposal_id,))
    return int(row[0]) if row else 0


async def get_next_seq(conn: Connection, proposal_id: int) -> int:
    """The next leaf's seq: one index seek, where COUNT(*) would read every leaf."""
    row = await fetchone(conn, "SELECT MAX(seq) FROM ballots WHERE proposal_id = ?", (proposal_id,))
    return 0 if row is None or row[0] is None else int(row[0]) + 1


async def list_ballots(conn: Connection, proposal_id: int) -> list[BallotRow]:
    """Every leaf of a proposal's ballot log, by seq."""
    rows = await fetchall(
        conn, f"SELECT {_COLUMNS} FROM ballots WHERE proposal_id = ? ORDER BY seq", (proposal_id,)
    )
    return [b for b in map(_ballot, rows) if b is not None]


async def list_leaf_hashes(conn: Connection, proposal_id: int) -> list[bytes]:
    """The ballot log's leaf hashes, by seq."""
    rows = await fetchall(
        conn, "SELECT leaf_hash FROM ballots WHERE proposal_id = ? ORDER BY seq", (proposal_id,)
    )
    return [bytes.fromhex(row[0]) for row in rows]


async def list_latest_ballots(conn: Connection, proposal_id: int) -> dict[str, dict[str, Any]]:
    """Each voter's latest ballot (the one that counts), by voter IRI."""
    rows = await fetchall(
        conn,
        "SELECT voter, ballot FROM ballots b WHERE proposal_id = ? AND seq ="
        " (SELECT MAX(seq) FROM ballots WHERE proposal_id = b.proposal_id AND voter = b.voter)"
        " ORDER BY seq",
        (proposal_id,),
    )
    return {row[0]: json.loads(row[1]) for row in rows}


async def get_latest_ballot_by_voter(
    conn: Connection, proposal_id: int, voter: str
) -> BallotRow | None:
    """A voter's latest ballot on a proposal."""
    return _ballot(
        await fetchone(
            conn,
            f"SELECT {_COLUMNS} FROM ballots WHERE proposal_id = ? AND voter = ? ORDER BY seq DESC LIMIT 1",
            (proposal_id, voter),
        )
    )


async def get_ballot_by_activity(
    conn: Connection, proposal_id: int, voter: str, activity_id: str
) -> BallotRow | None:
    """The leaf a voter's fediverse vote Note made, if any (a Note id is unique per voter only)."""
    return _ballot(
        await fetchone(
            conn,
            f"SELECT {_COLUMNS} FROM ballots WHERE proposal_id = ? AND voter = ? AND activity_id = ?",
            (proposal_id, voter, activity_id),
        )
    )


async def get_ballot_by_leaf_hash(
    conn: Connection, proposal_id: int, leaf_hash: str
) -> BallotRow | None:
    """A leaf by its hash (hex)."""
    return _ballot(
        await fetchone(
            conn,
            f"SELECT {_COLUMNS} FROM ballots WHERE proposal_id = ? AND leaf_hash = ? ORDER BY seq LIMIT 1",
            (proposal_id, leaf_hash.lower()),
        )
    )


async def put_refused_ballot(conn: Connection, refused: RefusedBallot, *, max_bytes: int) -> None:
    """Keep a refused fediverse vote with its reason (not a leaf, not counted); of its Note, at
    most ``max_bytes`` (a longer one reads back as ``storage.truncate.bounded_json`` writes it)."""
    await conn.execute(
        "INSERT INTO refused_ballots (proposal_id, voter, reason, activity_id, note, received_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            refused.proposal_id,
            refused.voter,
            refused.reason,
            refused.activity_id,
            bounded_json(refused.note, max_bytes),
            refused.received_at,
        ),
    )


async def list_refused_ballots(conn: Connection, proposal_id: int) -> list[RefusedBallot]:
    """A proposal's refused votes, oldest first."""
    rows = await fetchall(
        conn,
        "SELECT proposal_id, voter, reason, activity_id, note, received_at FROM refused_ballots"
        " WHERE proposal_id = ? ORDER BY id",
        (proposal_id,),
    )
    return [RefusedBallot(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5]) for r in rows]


async def put_vote_reply(
    conn: Connection, proposal_id: int, voter: str, reason: str, reply_id: str
) -> bool:
    """Record a reply to a voter; False if one for this (proposal, voter, reason) exists already."""
    cursor = await conn.execute(
        "INSERT OR IGNORE INTO vote_replies (proposal_id, voter, reason, reply_id) VALUES (?, ?, ?, ?)",
        (proposal_id, voter, reason, reply_id),
    )
    return cursor.rowcount > 0


async def list_vote_replies(conn: Connection, proposal_id: int) -> list[tuple[str, str, str]]:
    """(voter, reason, reply id) of every reply sent about a proposal."""
    rows = await fetchall(
        conn,
        "SELECT voter, reason, reply_id FROM vote_replies WHERE proposal_id = ? ORDER BY voter, reason",
        (proposal_id,),
    )
    return [(r[0], r[1], r[2]) for r in rows]
