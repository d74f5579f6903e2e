"""app.strangers.StrangerGate over a real roster index and database, on a stepped clock."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fedassembly.app.roster_index import FRESH_SECONDS, RosterIndex
from fedassembly.app.strangers import StrangerGate
from federation.rate_limit import HostLimiter
from storage import actors as actor_repo
from storage import members as member_repo
from storage.db import Database
from storage.members import Member
from storage.migrate import migrate

RITA = "https://big.example/users/rita"


class Clock:
    now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "node.sqlite3")
    await migrate(database)
    async with database.transaction() as conn:
        group = await actor_repo.put_actor(conn, "barrio", "assembly", "Barrio", "2030-01-01T00:00:00Z")
        await member_repo.put_member(conn, Member(group, RITA, None, False, "2030-01-01T00:00:00Z"))
    try:
        yield database
    finally:
        await database.close()


async def gate_on(db: Database, clock: Clock, burst: int = 2) -> StrangerGate:
    index = RosterIndex(db)
    await index.load()
    return StrangerGate(index, HostLimiter(1.0, burst, clock), rate=1.0, burst=burst)


async def test_members_pass_strangers_spend_their_hosts_tokens(db: Database) -> None:
    clock = Clock()
    gate = await gate_on(db, clock)
    stranger = "https://big.example/users/s"
    assert [await gate.admit(stranger, "big.example") for _ in range(3)] == [None, None, 1]
    assert [await gate.admit(RITA, "big.example") for _ in range(10)] == [None] * 10
    assert await gate.admit("https://small.example/users/t", "small.example") is None
    clock.now += 1
    assert await gate.admit(stranger, "big.example") is None


async def test_a_flood_is_logged_once_per_host_per_minute(
    db: Database, caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    gate = await gate_on(db, clock, burst=1)
    caplog.set_level(logging.WARNING, logger="fedassembly.app.strangers")
    for i in range(50):
        await gate.admit(f"https://big.example/users/s{i}", "big.example")
    clock.now += 60
    for i in range(5):
        await gate.admit(f"https://big.example/users/t{i}", "big.example")
    lines = [r.getMessage() for r in caplog.records if r.name == "fedassembly.app.strangers"]
    assert len(lines) == 2
    assert "1 refused" in lines[0] and "49 refused" in lines[1]  # 48 quiet ones, and the one that told


async def test_a_roster_that_cannot_be_read_again_still_gets_a_429_not_an_error(
    db: Database, caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    own = await Database.open(db.path)
    gate = await gate_on(own, clock, burst=1)
    await gate.admit("https://big.example/users/s0", "big.example")
    await own.close()  # the rosters in memory still decide
    await asyncio.sleep(FRESH_SECONDS)  # so that a refusal looks again
    assert await gate.admit("https://big.example/users/s1", "big.example") == 1
    assert await gate.admit(RITA, "big.example") is None
    assert any("could not be read" in r.getMessage() for r in caplog.records)
