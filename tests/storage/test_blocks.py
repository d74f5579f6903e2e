"""storage.blocks on a real database: one row per target, and a version that moves with every change."""

from __future__ import annotations

from storage import blocks as block_repo
from storage.blocks import Block
from storage.db import Database


async def test_blocks_are_kept_once_and_every_change_moves_the_version(db: Database) -> None:
    start = await block_repo.get_blocks_version(db.reader)
    spam = Block("spam.example", "domain", "2030-01-01T00:00:00Z")
    troll = Block("https://social.example/users/troll", "actor", "2030-01-02T00:00:00Z")
    async with db.transaction() as conn:
        assert await block_repo.put_block(conn, spam)
        assert await block_repo.put_block(conn, troll)
        assert not await block_repo.put_block(conn, spam)  # already blocked: nothing changes
    assert await block_repo.get_blocks_version(db.reader) == start + 2
    assert await block_repo.list_blocks(db.reader) == [spam, troll]
    async with db.transaction() as conn:
        assert await block_repo.delete_block(conn, "spam.example")
        assert not await block_repo.delete_block(conn, "spam.example")
    assert await block_repo.get_blocks_version(db.reader) == start + 3
    assert await block_repo.list_blocks(db.reader) == [troll]


async def test_a_failed_unit_moves_nothing(db: Database) -> None:
    start = await block_repo.get_blocks_version(db.reader)
    try:
        async with db.transaction() as conn:
            await block_repo.put_block(conn, Block("spam.example", "domain", "2030-01-01T00:00:00Z"))
            raise RuntimeError("the unit fails after the block")
    except RuntimeError:
        pass
    assert await block_repo.get_blocks_version(db.reader) == start
    assert await block_repo.list_blocks(db.reader) == []
