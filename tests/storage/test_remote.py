"""storage.remote on a real database: cached remote actors, their keys, where to reach them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from storage import ballots as ballot_repo
from storage import members as member_repo
from storage import remote as remote_repo
from storage.ballots import BallotRow
from storage.db import Database
from storage.members import Member
from storage.remote import RemoteActor, RemoteKeyRow

NOW = "2030-01-01T00:00:00Z"
NewActor = Callable[..., Awaitable[int]]  # the conftest factories
NewProposalFactory = Callable[..., Awaitable[int]]


def remote(name: str, host: str = "social.example", shared: bool = True) -> RemoteActor:
    iri = f"https://{host}/users/{name}"
    return RemoteActor(
        iri, host, "Person", name, f"{iri}/inbox", f"https://{host}/inbox" if shared else None,
        {"id": iri, "type": "Person"}, 100.0,
    )


async def test_a_remote_actor_round_trips_and_a_refresh_replaces_every_field(db: Database) -> None:
    first = remote("ana")
    async with db.transaction() as conn:
        await remote_repo.put_remote_actor(conn, first)
    assert await remote_repo.get_remote_actor(db.reader, first.id) == first
    assert first.handle == "@ana@social.example"
    refreshed = RemoteActor(
        first.id, "social.example", "Service", None, f"{first.id}/box", None, {"v": 2}, 200.0
    )
    async with db.transaction() as conn:
        await remote_repo.put_remote_actor(conn, refreshed)
    found = await remote_repo.get_remote_actor(db.reader, first.id)
    assert found == refreshed and found.handle == first.id  # no username: the IRI
    rows = await db.fetchall("SELECT id FROM remote_actors")
    assert len(rows) == 1
    assert await remote_repo.get_remote_actor(db.reader, "https://nowhere.example/x") is None


async def test_a_remote_key_is_replaced_by_a_later_fetch(db: Database) -> None:
    owner = "https://social.example/users/ana"
    key = RemoteKeyRow(f"{owner}#main-key", owner, "pem-1", 1.0)
    assert await remote_repo.get_remote_key(db.reader, key.key_id) is None
    async with db.transaction() as conn:
        await remote_repo.put_remote_key(conn, key)
    assert await remote_repo.get_remote_key(db.reader, key.key_id) == key
    rotated = RemoteKeyRow(key.key_id, key.owner, "pem-2", 2.0)
    async with db.transaction() as conn:
        await remote_repo.put_remote_key(conn, rotated)
    assert await remote_repo.get_remote_key(db.reader, key.key_id) == rotated


async def test_deleting_a_remote_actor_forgets_its_keys_only(db: Database) -> None:
    ana, bob = remote("ana"), remote("bob")
    async with db.transaction() as conn:
        for actor in (ana, bob):
            await remote_repo.put_remote_actor(conn, actor)
            await remote_repo.put_remote_key(conn, RemoteKeyRow(f"{actor.id}#main-key", actor.id, "pem", 1.0))
        await remote_repo.put_remote_key(conn, RemoteKeyRow(f"{ana.id}#other-key", ana.id, "pem", 1.0))
        await remote_repo.delete_remote_actor(conn, ana.id)
    assert await remote_repo.get_remote_actor(db.reader, ana.id) is None
    assert await remote_repo.get_remote_key(db.reader, f"{ana.id}#main-key") is None
    assert await remote_repo.get_remote_key(db.reader, f"{ana.id}#other-key") is None
    assert await remote_repo.get_remote_actor(db.reader, bob.id) == bob
    assert await remote_repo.get_remote_key(db.reader, f"{bob.id}#main-key") is not None


async def test_roster_recipients_are_the_groups_cached_remote_members(
    db: Database, new_actor: NewActor
) -> None:
    barrio, other = await new_actor("barrio"), await new_actor("other")
    person = await new_actor("pat", "person")
    ana, bob = remote("ana"), remote("bob", "other.example", shared=False)
    async with db.transaction() as conn:
        await remote_repo.put_remote_actor(conn, ana)
        await remote_repo.put_remote_actor(conn, bob)
        await member_repo.put_member(conn, Member(barrio, ana.id, None, False, NOW))
        await member_repo.put_member(conn, Member(barrio, bob.id, None, False, NOW))
        await member_repo.put_member(conn, Member(barrio, "https://unfetched.example/u/x", None, False, NOW))
        local = Member(barrio, "https://node.example/people/pat", person, False, NOW)
        await member_repo.put_member(conn, local)
        await member_repo.put_member(conn, Member(other, ana.id, None, False, NOW))
    found = await remote_repo.list_roster_recipients(db.reader, barrio)
    assert sorted(found, key=lambda r: r.id) == [
        remote_repo.Recipient(bob.id, bob.inbox, None),  # other.example sorts first
        remote_repo.Recipient(ana.id, ana.inbox, ana.shared_inbox),
    ]
    assert await remote_repo.list_roster_recipients(db.reader, other) == [
        remote_repo.Recipient(ana.id, ana.inbox, ana.shared_inbox)
    ]


async def test_preferred_inboxes_are_one_per_server_for_members_and_voters(
    db: Database, new_actor: NewActor, new_proposal: NewProposalFactory
) -> None:
    barrio = await new_actor("barrio")
    proposal = await new_proposal(barrio)
    other_proposal = await new_proposal(barrio)
    ana, cid = remote("ana"), remote("cid")  # one shared inbox between them
    bob = remote("bob", "other.example", shared=False)
    voter = remote("vic", "far.example")  # votes without being a member
    stranger = remote("sam", "away.example")  # voted on another proposal only
    async with db.transaction() as conn:
        for actor in (ana, cid, bob, voter, stranger):
            await remote_repo.put_remote_actor(conn, actor)
        for actor in (ana, cid, bob):
            await member_repo.put_member(conn, Member(barrio, actor.id, None, False, NOW))
        for where, seq, who in [(proposal, 0, voter), (proposal, 1, ana), (other_proposal, 0, stranger)]:
            leaf = BallotRow(where, seq, who.id, {}, NOW, "activitypub", None, "00")
            await ballot_repo.put_ballot(conn, leaf)
    found = await remote_repo.list_preferred_inboxes(db.reader, barrio, proposal)
    assert sorted(found) == sorted(["https://social.example/inbox", bob.inbox, "https://far.example/inbox"])
