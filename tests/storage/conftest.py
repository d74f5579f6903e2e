"""A real database for each repository test: a SQLite file under tmp_path made by the shipped
migrations, opened with the real group-committing writer. Always closed: aiosqlite's thread is not a daemon,
so a database left open would keep the test run from ending."""

from __future__ import annotations

import asyncio
import shutil
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

NewActor = Callable[..., Awaitable[int]]
NewProposalFactory = Callable[..., Awaitable[int]]


async def _migrated(path: Path) -> None:
    database = await Database.open(path)
    try:
        await migrate(database)
    finally:
        await database.close()


@pytest.fixture(scope="session")
def migrated_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database file the shipped migrations made, once per run (each test gets a copy)."""
    path = tmp_path_factory.mktemp("migrated") / "db.sqlite3"
    asyncio.run(_migrated(path))
    # Closed cleanly, the last connection checkpointed the WAL into the file: it is all there.
    assert not path.with_name(f"{path.name}-wal").exists()
    return path


@pytest.fixture
async def db(tmp_path: Path, migrated_file: Path) -> AsyncIterator[Database]:
    # A copy of the migrated file rather than migrating again: the same schema without the
    # migrations' four commits (fsyncs) per test, which would double the folder's run time.
    path = tmp_path / "db.sqlite3"
    shutil.copyfile(migrated_file, path)
    database = await Database.open(path)
    try:
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
