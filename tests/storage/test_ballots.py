"""storage.ballots on a real database: the ballot log, refused votes and replies to voters."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable

import pytest

from storage import ballots as ballot_repo
from storage.ballots import BallotRow, RefusedBallot
from storage.db import Database

NewActor = Callable[..., Awaitable[int]]  # the conftest factories
NewProposalFactory = Callable[..., Awaitable[int]]

ANA = "https://social.example/users/ana"
BOB = "https://other.example/users/bob"
NOW = "2030-01-01T00:00:00Z"
KEEP = {"max_bytes": 4096}


@pytest.fixture
async def proposal(new_actor: NewActor, new_proposal: NewProposalFactory) -> int:
    return await new_proposal(await new_actor("barrio"))


def leaf(proposal_id: int, seq: int, voter: str, choice: str, activity_id: str | None = None) -> BallotRow:
    source = "activitypub" if activity_id else "api"
    return BallotRow(proposal_id, seq, voter, {"choice": choice}, NOW, source, activity_id, f"{seq:02x}" * 32)


async def append(db: Database, *leaves: BallotRow) -> None:
    async with db.transaction() as conn:
        for row in leaves:
            await ballot_repo.put_ballot(conn, row)


async def test_the_log_round_trips_by_seq_and_the_next_seq_follows_it(db: Database, proposal: int) -> None:
    assert await ballot_repo.get_next_seq(db.reader, proposal) == 0
    assert await ballot_repo.count_ballots(db.reader, proposal) == 0
    leaves = [leaf(proposal, 0, ANA, "green"), leaf(proposal, 1, BOB, "blue", "https://o.example/n/1")]
    await append(db, leaves[1], leaves[0])
    assert await ballot_repo.list_ballots(db.reader, proposal) == leaves
    assert await ballot_repo.count_ballots(db.reader, proposal) == 2
    assert await ballot_repo.get_next_seq(db.reader, proposal) == 2
    assert await ballot_repo.list_leaf_hashes(db.reader, proposal) == [bytes([0] * 32), bytes([1] * 32)]


async def test_a_seq_is_one_leaf_and_a_vote_note_makes_at_most_one(db: Database, proposal: int) -> None:
    await append(db, leaf(proposal, 0, ANA, "green", "https://s.example/n/1"), leaf(proposal, 1, ANA, "blue"))
    with pytest.raises(sqlite3.IntegrityError):
        await append(db, leaf(proposal, 1, BOB, "blue"))
    with pytest.raises(sqlite3.IntegrityError):
        await append(db, leaf(proposal, 2, ANA, "blue", "https://s.example/n/1"))
    await append(db, leaf(proposal, 2, BOB, "blue"))  # any number of API ballots carry no activity id
    assert await ballot_repo.count_ballots(db.reader, proposal) == 3


async def test_a_voters_latest_ballot_is_the_one_that_counts(
    db: Database, proposal: int, new_actor: NewActor, new_proposal: NewProposalFactory
) -> None:
    other = await new_proposal(await new_actor("other"))
    await append(
        db, leaf(proposal, 0, ANA, "green"), leaf(proposal, 1, BOB, "blue"), leaf(proposal, 2, ANA, "blue"),
        leaf(other, 0, ANA, "red"),
    )
    assert await ballot_repo.list_latest_ballots(db.reader, proposal) == {
        BOB: {"choice": "blue"}, ANA: {"choice": "blue"}
    }
    latest = await ballot_repo.get_latest_ballot_by_voter(db.reader, proposal, ANA)
    assert latest == leaf(proposal, 2, ANA, "blue")
    assert await ballot_repo.get_latest_ballot_by_voter(db.reader, proposal, "https://x.example/u") is None
    # A replaced ballot stays a leaf of the log.
    assert [row.seq for row in await ballot_repo.list_ballots(db.reader, proposal)] == [0, 1, 2]


async def test_a_vote_note_id_is_unique_per_voter_not_per_proposal(db: Database, proposal: int) -> None:
    note = "https://social.example/users/ana#votes/1"
    await append(db, leaf(proposal, 0, BOB, "blue", note), leaf(proposal, 1, ANA, "green", note))
    found = await ballot_repo.get_ballot_by_activity(db.reader, proposal, ANA, note)
    assert found == leaf(proposal, 1, ANA, "green", note)
    with pytest.raises(sqlite3.IntegrityError):
        await append(db, leaf(proposal, 2, ANA, "red", note))
    assert await ballot_repo.count_ballots(db.reader, proposal) == 2


async def test_a_leaf_is_found_by_its_vote_note_or_its_hash(db: Database, proposal: int) -> None:
    note = "https://social.example/notes/7"
    await append(db, leaf(proposal, 0, BOB, "blue"), leaf(proposal, 1, ANA, "green", note))
    found = await ballot_repo.get_ballot_by_activity(db.reader, proposal, ANA, note)
    assert found == leaf(proposal, 1, ANA, "green", note)
    assert await ballot_repo.get_ballot_by_activity(db.reader, proposal, ANA, f"{note}0") is None
    # A Note id is the voter's own: the same id from another voter is not this leaf.
    assert await ballot_repo.get_ballot_by_activity(db.reader, proposal, BOB, note) is None
    found = await ballot_repo.get_ballot_by_leaf_hash(db.reader, proposal, "01" * 32)
    assert found is not None and found.seq == 1
    # Hashes are stored lower-case; a hash given in capitals finds its leaf too.
    await append(db, BallotRow(proposal, 2, BOB, {}, NOW, "api", None, "ab" * 32))
    found = await ballot_repo.get_ballot_by_leaf_hash(db.reader, proposal, "AB" * 32)
    assert found is not None and found.seq == 2
    assert await ballot_repo.get_ballot_by_leaf_hash(db.reader, proposal, "ff" * 32) is None


async def test_refused_votes_are_kept_oldest_first_and_never_counted(db: Database, proposal: int) -> None:
    first = RefusedBallot(proposal, ANA, "closed", "https://s.example/n/1", {"type": "Note", "n": 1}, NOW)
    second = RefusedBallot(proposal, BOB, "not_member", None, {"type": "Note", "n": 2}, NOW)
    async with db.transaction() as conn:
        await ballot_repo.put_refused_ballot(conn, first, **KEEP)
        await ballot_repo.put_refused_ballot(conn, second, **KEEP)
        await ballot_repo.put_refused_ballot(conn, first, **KEEP)  # the same Note refused again: kept
    assert await ballot_repo.list_refused_ballots(db.reader, proposal) == [first, second, first]
    assert await ballot_repo.count_ballots(db.reader, proposal) == 0
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as conn:
            rude = RefusedBallot(proposal, ANA, "rude", None, {}, NOW)
            await ballot_repo.put_refused_ballot(conn, rude, **KEEP)


async def test_a_long_refused_note_is_kept_bounded_and_reads_as_json(db: Database, proposal: int) -> None:
    note = {"type": "Note", "name": "x" * 100_000, "inReplyTo": "https://node.example/proposals/1"}
    async with db.transaction() as conn:
        await ballot_repo.put_refused_ballot(
            conn, RefusedBallot(proposal, ANA, "unknown_option", None, note, NOW), max_bytes=512
        )
    [kept] = await ballot_repo.list_refused_ballots(db.reader, proposal)
    assert (kept.voter, kept.reason) == (ANA, "unknown_option")
    assert kept.note["truncated_from_bytes"] > 100_000 and kept.note["excerpt"].startswith('{"type": "Note"')
    row = await db.fetchone("SELECT length(CAST(note AS BLOB)) FROM refused_ballots")
    assert row is not None and row[0] <= 512


async def test_a_voter_gets_one_reply_per_reason(db: Database, proposal: int) -> None:
    async with db.transaction() as conn:
        assert await ballot_repo.put_vote_reply(conn, proposal, BOB, "closed", "https://node.example/r/1")
        assert not await ballot_repo.put_vote_reply(conn, proposal, BOB, "closed", "https://node.example/r/2")
        assert await ballot_repo.put_vote_reply(conn, proposal, BOB, "accepted", "https://node.example/r/3")
        assert await ballot_repo.put_vote_reply(conn, proposal, ANA, "closed", "https://node.example/r/4")
    assert await ballot_repo.list_vote_replies(db.reader, proposal) == [
        (BOB, "accepted", "https://node.example/r/3"),
        (BOB, "closed", "https://node.example/r/1"),
        (ANA, "closed", "https://node.example/r/4"),
    ]


async def test_the_log_refusals_and_replies_go_with_their_proposal(
    db: Database, proposal: int, new_actor: NewActor, new_proposal: NewProposalFactory
) -> None:
    other = await new_proposal(await new_actor("other"))
    async with db.transaction() as conn:
        for where in (proposal, other):
            await ballot_repo.put_ballot(conn, leaf(where, 0, ANA, "green"))
            refused = RefusedBallot(where, BOB, "closed", None, {}, NOW)
            await ballot_repo.put_refused_ballot(conn, refused, **KEEP)
            await ballot_repo.put_vote_reply(conn, where, BOB, "closed", f"https://node.example/r/{where}")
        await conn.execute("DELETE FROM proposals WHERE id = ?", (proposal,))
    assert await ballot_repo.list_ballots(db.reader, proposal) == []
    assert await ballot_repo.list_refused_ballots(db.reader, proposal) == []
    assert await ballot_repo.list_vote_replies(db.reader, proposal) == []
    assert await ballot_repo.count_ballots(db.reader, other) == 1
    assert len(await ballot_repo.list_refused_ballots(db.reader, other)) == 1
    assert len(await ballot_repo.list_vote_replies(db.reader, other)) == 1
