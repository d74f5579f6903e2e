"""A real database for each repository test: a SQLite file under tmp_path, the shipped
migrations, the real group-committing writer. Always closed: aiosqlite's thread is not a daemon,
so a database left open would keep the test run from ending."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from storage import actors as actor_repo
from storage import proposals as proposal_repo
from storage.db import Database, WriterConnection
from storage.migrate import migrate
from storage.proposals import NewProposal

NOW = "2030-01-01T00:00:00Z"

NewActor = NewProposalFactory = Callable[..., Awaitable[int]]


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "db.sqlite3")
    try:
        await migrate(database)
        yield database
    finally:
        await database.close()


@pytest.fixture
def new_actor(db: Database) -> NewActor:
    """Insert a local actor (an assembly unless ``kind`` says otherwise); its id."""

    async def new(name: str, kind: str = "assembly", **options: Any) -> int:
        async def unit(conn: WriterConnection) -> int:
            return await actor_repo.put_actor(conn, name, kind, name.title(), NOW, **options)

        return await db.run(unit)

    return new


@pytest.fixture
def new_proposal(db: Database) -> NewProposalFactory:
    """Insert an open proposal in ``group_id`` (fields overridable); its id."""

    async def new(group_id: int, **fields: Any) -> int:
        values: dict[str, Any] = {
            "group_id": group_id, "kind": "proposal", "title": "Paint the hall", "content": "Which colour?",
            "options": ("green", "blue"), "method": "single", "threshold": "plurality", "quorum": "1/2",
            "area": None, "status_quo": False, "closes_at": 1000.0, "created_at": NOW, "created_by": None,
        }
        values.update(fields)
        proposal = NewProposal(**values)

        async def unit(conn: WriterConnection) -> int:
            return await proposal_repo.put_proposal(conn, proposal)

        return await db.run(unit)

    return new
