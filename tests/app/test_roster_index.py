"""app.roster_index on a real database file, written by a second connection as a CLI process would."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fedassembly.app.roster_index import RosterIndex
from storage import actors as actor_repo
from storage import members as member_repo
from storage.db import Database
from storage.members import Member
from storage.migrate import migrate

NOW = "2030-01-01T00:00:00Z"


def iri(name: str) -> str:
    return f"https://social.example/users/{name}"


class Writer:
    """Another connection to the node's file: what `fedassembly member add` would write."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def group(self, name: str) -> int:
        async with self.db.transaction() as conn:
            return await actor_repo.put_actor(conn, name, "assembly", name.title(), NOW)

    async def add(self, group_id: int, *names: str) -> None:
        async with self.db.transaction() as conn:
            for name in names:
                await member_repo.put_member(conn, Member(group_id, iri(name), None, False, NOW))

    async def remove(self, group_id: int, name: str) -> None:
        async with self.db.transaction() as conn:
            await member_repo.delete_member(conn, group_id, iri(name))


@pytest.fixture
async def files(tmp_path: Path) -> AsyncIterator[tuple[Database, Writer]]:
    path = tmp_path / "node.sqlite3"
    node_db = await Database.open(path)
    await migrate(node_db)
    other = await Database.open(path)
    try:
        yield node_db, Writer(other)
    finally:
        await other.close()
        await node_db.close()


async def test_members_written_elsewhere_are_seen_after_a_catch_up(files: tuple[Database, Writer]) -> None:
    db, writer = files
    barrio = await writer.group("barrio")
    await writer.add(barrio, "ana")
    index = RosterIndex(db)
    await index.load()
    assert iri("ana") in index and iri("bob") not in index
    other = await writer.group("huerto")
    await writer.add(other, "bob", "carla")
    await writer.add(barrio, "bob")
    assert iri("bob") not in index  # memory only: nothing read yet
    await index.catch_up()
    assert {iri(n) in index for n in ("ana", "bob", "carla")} == {True}


@pytest.mark.parametrize("added", [["dana"], ["dana", "erik"]])
async def test_a_catch_up_after_the_newest_entries_left_reads_everything_again(
    files: tuple[Database, Writer], added: list[str],
) -> None:
    db, writer = files
    barrio = await writer.group("barrio")
    await writer.add(barrio, "ana", "bob", "carla")
    index = RosterIndex(db)
    await index.load()
    # bob and carla held the largest rowids; those added after they left take the same ones,
    # so dana comes before the last rowid the index saw (and erik takes carla's).
    await writer.remove(barrio, "carla")
    await writer.remove(barrio, "bob")
    await writer.add(barrio, *added)
    await index.catch_up()
    assert all(iri(name) in index for name in ["ana", *added])
    assert iri("bob") not in index and iri("carla") not in index


async def test_removed_members_are_forgotten_by_a_reload(files: tuple[Database, Writer]) -> None:
    db, writer = files
    barrio = await writer.group("barrio")
    await writer.add(barrio, "ana", "bob")
    index = RosterIndex(db)
    await index.load()
    await writer.remove(barrio, "ana")
    await index.catch_up()
    assert iri("ana") in index  # a catch-up only adds; that is the cheap look
    await index.load()
    assert iri("ana") not in index and iri("bob") in index


async def test_an_empty_roster_then_a_first_member(files: tuple[Database, Writer]) -> None:
    db, writer = files
    index = RosterIndex(db)
    await index.load()
    await index.catch_up()
    barrio = await writer.group("barrio")
    await writer.add(barrio, "ana")
    await index.catch_up()
    assert iri("ana") in index


async def test_a_recent_look_is_shared_by_callers_within_max_age(files: tuple[Database, Writer]) -> None:
    db, writer = files
    barrio = await writer.group("barrio")
    await writer.add(barrio, "ana")
    index = RosterIndex(db)
    await index.load()
    await writer.add(barrio, "bob")
    await index.catch_up(max_age=60)
    assert iri("bob") not in index  # looked a moment ago (the load): not again
    await asyncio.gather(*(index.catch_up() for _ in range(5)))
    assert iri("bob") in index


async def test_the_background_loop_catches_up_and_stops(files: tuple[Database, Writer]) -> None:
    db, writer = files
    barrio = await writer.group("barrio")
    index = RosterIndex(db)
    await index.load()
    stop = asyncio.Event()
    loop = asyncio.create_task(index.run(stop))
    await writer.add(barrio, "ana")
    for _ in range(40):
        if iri("ana") in index:
            break
        await asyncio.sleep(0.1)
    assert iri("ana") in index
    stop.set()
    await asyncio.wait_for(loop, 2)
