"""Each host's signature scheme on a real database: one row a host, replaced, forgotten when old."""

from __future__ import annotations

import sqlite3

import pytest

from storage import signature_schemes as scheme_repo
from storage.db import Database, WriterConnection
from storage.signature_schemes import SignatureScheme


async def put(db: Database, *choices: SignatureScheme) -> None:
    async def unit(conn: WriterConnection) -> None:
        await scheme_repo.put_signature_schemes(conn, choices)

    await db.run(unit)


async def test_one_row_a_host_the_latest_choice_wins(db: Database) -> None:
    await put(db, SignatureScheme("a.example", "rfc9421", 100), SignatureScheme("b.example", "rfc9421", 100))
    await put(db, SignatureScheme("a.example", "draft-cavage", 200.0))
    found = await scheme_repo.list_signature_schemes(db.reader, 0.0)
    assert sorted(found, key=lambda c: c.host) == [
        SignatureScheme("a.example", "draft-cavage", 200.0),
        SignatureScheme("b.example", "rfc9421", 100.0),
    ]


async def test_only_choices_learned_since_are_listed_and_older_ones_are_deleted(db: Database) -> None:
    await put(db, SignatureScheme("old.test", "rfc9421", 10), SignatureScheme("new.test", "rfc9421", 50))
    assert [c.host for c in await scheme_repo.list_signature_schemes(db.reader, 50.0)] == ["new.test"]

    async def forget(conn: WriterConnection) -> None:
        await scheme_repo.delete_signature_schemes_before(conn, 50.0)

    await db.run(forget)
    assert [c.host for c in await scheme_repo.list_signature_schemes(db.reader, 0.0)] == ["new.test"]


async def test_an_unknown_scheme_is_refused_by_the_table(db: Database) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        await put(db, SignatureScheme("a.example", "hs2019", 1.0))
    assert await scheme_repo.list_signature_schemes(db.reader, 0.0) == []
