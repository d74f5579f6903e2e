"""The SQLite layer on real files: PRAGMAs, group commit, savepoint isolation, migrations."""

from __future__ import annotations

import asyncio
import hashlib
import re
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from storage import ballots as ballot_repo
from storage.ballots import BallotRow
from storage.db import (
    Database,
    DatabaseLockedError,
    MissingDatabaseError,
    StorageError,
    Unit,
    WriterConnection,
    fetchone,
)
from storage.migrate import Migration, load_migrations, migrate, schema_version

NewActor = Callable[..., Awaitable[int]]  # the conftest factories
NewProposalFactory = Callable[..., Awaitable[int]]


async def open_db(path: Path) -> Database:
    db = await Database.open(path)
    await migrate(db)
    return db


async def test_wal_and_synchronous_full(tmp_path: Path) -> None:
    db = await open_db(tmp_path / "x" / "db.sqlite3")
    async with db.transaction() as writer:
        for conn in (writer, db.reader):
            mode = await fetchone(conn, "PRAGMA journal_mode")
            sync = await fetchone(conn, "PRAGMA synchronous")
            assert mode is not None and mode[0] == "wal"
            assert sync is not None and sync[0] == 2  # FULL
    await db.close()


async def test_concurrent_units_commit_together_and_a_failing_one_alone_rolls_back(tmp_path: Path) -> None:
    db = await open_db(tmp_path / "db.sqlite3")

    async def unit(i: int) -> None:
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO inbox_activities (id, actor, type, body, received_at)"
                " VALUES (?, 'a', 'T', '{}', 0)",
                (f"id{i}",),
            )
            if i % 10 == 3:
                raise ValueError("this unit fails after writing")

    results = await asyncio.gather(*(unit(i) for i in range(200)), return_exceptions=True)
    failures = [r for r in results if isinstance(r, ValueError)]
    assert len(failures) == 20
    rows = await db.fetchall("SELECT id FROM inbox_activities ORDER BY id")
    assert len(rows) == 180
    assert "id3" not in {row[0] for row in rows}
    await db.close()
    # Durable: a fresh connection sees exactly the committed units.
    with sqlite3.connect(tmp_path / "db.sqlite3") as plain:
        assert plain.execute("SELECT COUNT(*) FROM inbox_activities").fetchone()[0] == 180


async def test_migrations_upgrade_an_older_database(tmp_path: Path) -> None:
    shipped = load_migrations()
    assert len(shipped) >= 2
    path = tmp_path / "db.sqlite3"
    old = await Database.open(path)
    assert await migrate(old, shipped[:1]) == 1  # what an older release created
    async with old.transaction() as conn:
        await conn.execute(
            "INSERT INTO local_actors (name, kind, created_at) VALUES ('barrio', 'assembly', 'then')"
        )
    await old.close()

    new = await Database.open(path)
    assert await migrate(new) == shipped[-1].version
    async with new.transaction() as conn:
        assert await schema_version(conn) == shipped[-1].version
        await conn.execute("INSERT INTO members (group_id, member, added_at) VALUES (1, 'x', 'now')")
    row = await new.fetchone("SELECT name FROM local_actors")
    assert row is not None and row[0] == "barrio"  # data kept across the upgrade
    assert await migrate(new) == shipped[-1].version  # idempotent
    await new.close()


async def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "db.sqlite3")
    future = [*load_migrations(), Migration(99, "future", "CREATE TABLE t (x)")]
    future = [Migration(i + 1, m.name, m.sql) for i, m in enumerate(future)]
    await migrate(db, future)
    with pytest.raises(StorageError, match="newer than this release"):
        await migrate(db)
    await db.close()


async def test_appended_rows_commit_with_units_and_duplicates_are_ignored(tmp_path: Path) -> None:
    from storage.inbox import append_inbox_activity

    db = await open_db(tmp_path / "db.sqlite3")

    async def unit(i: int) -> None:
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO local_actors (name, kind, created_at) VALUES (?, 'person', 'now')", (f"p{i}",)
            )

    appends = [
        append_inbox_activity(db, f"id{i % 50}", "a", "Note", "{}", 0.0, max_bytes=4096) for i in range(100)
    ]
    await asyncio.gather(*appends, *(unit(i) for i in range(20)))
    await db.close()
    with sqlite3.connect(tmp_path / "db.sqlite3") as plain:
        assert plain.execute("SELECT COUNT(*) FROM inbox_activities").fetchone()[0] == 50
        assert plain.execute("SELECT COUNT(*) FROM local_actors").fetchone()[0] == 20


async def test_run_units_drain_into_one_commit_and_a_failing_one_rolls_back_alone(tmp_path: Path) -> None:
    db = await open_db(tmp_path / "db.sqlite3")
    commits: list[str] = []
    db._raw_writer.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)

    def insert(i: int):
        async def unit(conn):
            await conn.execute(
                "INSERT INTO local_actors (name, kind, created_at) VALUES (?, 'person', 'now')", (f"p{i}",)
            )
            if i == 7:
                raise ValueError("unit 7 fails after its insert")
            return i * 10

        return db.run(unit)

    async def with_body() -> None:
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO local_actors (name, kind, created_at) VALUES ('w', 'person', 'now')"
            )

    results = await asyncio.gather(*(insert(i) for i in range(40)), with_body(), return_exceptions=True)
    assert results[:7] == [i * 10 for i in range(7)] and results[8:40] == [i * 10 for i in range(8, 40)]
    assert isinstance(results[7], ValueError) and results[40] is None
    assert len(commits) <= 2  # forty drained units and a with-body unit: one or two fsyncs, not 41
    await db.close()
    with sqlite3.connect(tmp_path / "db.sqlite3") as plain:
        names = {row[0] for row in plain.execute("SELECT name FROM local_actors")}
    assert names == {f"p{i}" for i in range(40) if i != 7} | {"w"}


async def test_run_answers_only_once_durable_and_a_failed_commit_fails_every_unit(tmp_path: Path) -> None:
    db = await open_db(tmp_path / "db.sqlite3")
    seen: list[object] = []

    async def unit(conn):
        await conn.execute("INSERT INTO local_actors (name, kind, created_at) VALUES ('x', 'person', 'now')")
        return "done"

    # A reader outside the writer sees the row as soon as run() returns.
    assert await db.run(unit) == "done"
    row = await db.fetchone("SELECT COUNT(*) FROM local_actors WHERE name = 'x'")
    assert row is not None and row[0] == 1

    # What only COMMIT can refuse fails the whole batch: a foreign key the schema declares
    # deferred (ours declare none, see the test below; this table is the test's own).
    async with db.transaction() as conn:
        await conn.execute(
            "CREATE TABLE probe (actor INTEGER REFERENCES local_actors (id) DEFERRABLE INITIALLY DEFERRED)"
        )

    async def deferred_violation(conn):
        await conn.execute("INSERT INTO probe (actor) VALUES (999)")
        seen.append("ran")

    async def innocent(conn):
        await conn.execute("INSERT INTO local_actors (name, kind, created_at) VALUES ('y', 'person', 'now')")

    results = await asyncio.gather(db.run(deferred_violation), db.run(innocent), return_exceptions=True)
    assert seen == ["ran"]
    assert all(isinstance(result, StorageError) for result in results), results
    row = await db.fetchone("SELECT COUNT(*) FROM local_actors WHERE name = 'y'")
    assert row is not None and row[0] == 0
    # The writer goes on after a failed commit.
    await db.run(innocent)
    row = await db.fetchone("SELECT COUNT(*) FROM local_actors WHERE name = 'y'")
    assert row is not None and row[0] == 1
    await db.close()


async def test_units_queued_while_a_unit_waits_go_to_the_next_batch(tmp_path: Path) -> None:
    db = await open_db(tmp_path / "db.sqlite3")
    commits: list[str] = []
    db._raw_writer.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    release = asyncio.Event()
    order: list[str] = []

    def insert(name: str, wait: bool = False):
        async def unit(conn):
            if wait:
                await release.wait()
            await conn.execute(
                "INSERT INTO local_actors (name, kind, created_at) VALUES (?, 'person', 'now')", (name,)
            )
            order.append(f"{name}:{len(commits)}")

        return db.run(unit)

    try:
        slow = asyncio.ensure_future(insert("slow", wait=True))
        await asyncio.sleep(0.05)  # the drain holds the batch open, waiting on the slow unit
        late = asyncio.ensure_future(insert("late"))
        await asyncio.sleep(0.05)
        assert order == []
        release.set()
        await asyncio.gather(slow, late)
        # The late unit ran only after the slow one's batch committed.
        assert order == ["slow:0", "late:1"] and len(commits) == 2
    finally:
        release.set()
        await db.close()


# -- One bad unit never harms another ------------------------------------------------------------

VOTER = "https://social.example/users/v{}"
NOW = "2030-01-01T00:00:00Z"


def vote(db: Database, proposal_id: int, voter: str) -> Awaitable[int]:
    """A real vote unit: the voter's ballot appended as the next leaf of the proposal's log."""

    async def unit(conn: WriterConnection) -> int:
        seq = await ballot_repo.get_next_seq(conn, proposal_id)
        leaf = hashlib.sha256(f"{proposal_id}/{seq}/{voter}".encode()).hexdigest()
        row = BallotRow(proposal_id, seq, voter, {"choice": "green"}, NOW, "api", None, leaf)
        await ballot_repo.put_ballot(conn, row)
        return seq

    return db.run(unit)


class Stopped(BaseException):
    """An exception that is not an Exception, raised by a unit."""


async def missing_proposal(conn: WriterConnection) -> None:
    # No proposal 999999: the ballots table's foreign key refuses the row.
    await ballot_repo.put_ballot(conn, BallotRow(999999, 0, VOTER.format("x"), {"choice": "green"},
                                                 NOW, "api", None, "00" * 32))


async def lone_surrogate(conn: WriterConnection) -> None:
    # sqlite3 cannot encode a lone surrogate: UnicodeEncodeError when the parameter is bound.
    await conn.execute("INSERT INTO local_actors (name, kind, created_at) VALUES (?, 'person', 'now')",
                       ("bad\ud800",))


async def deferred_foreign_key(conn: WriterConnection) -> None:
    # A unit that defers foreign keys: its violation would surface only at COMMIT.
    await conn.execute("PRAGMA defer_foreign_keys = ON")
    await missing_proposal(conn)


async def not_an_exception(conn: WriterConnection) -> None:
    await conn.execute("INSERT INTO local_actors (name, kind, created_at) VALUES ('s', 'person', 'now')")
    raise Stopped


async def cancelled_inside(conn: WriterConnection) -> None:
    await conn.execute("INSERT INTO local_actors (name, kind, created_at) VALUES ('c', 'person', 'now')")
    raise asyncio.CancelledError  # e.g. something the unit awaited was cancelled; the drain was not


@pytest.mark.parametrize(
    ("bad_unit", "error"),
    [
        (missing_proposal, sqlite3.IntegrityError),
        (lone_surrogate, UnicodeEncodeError),
        (deferred_foreign_key, sqlite3.IntegrityError),
        (not_an_exception, StorageError),
        (cancelled_inside, StorageError),
    ],
)
async def test_a_failing_unit_among_forty_votes_rolls_back_alone(
    db: Database, new_actor: NewActor, new_proposal: NewProposalFactory, bad_unit: Unit[None],
    error: type[Exception],
) -> None:
    proposal = await new_proposal(await new_actor("barrio"))
    commits: list[str] = []
    db._raw_writer.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    votes: list[Awaitable[object]] = [vote(db, proposal, VOTER.format(i)) for i in range(40)]
    votes.insert(20, db.run(bad_unit))
    results = await asyncio.gather(*votes, return_exceptions=True)
    assert isinstance(results.pop(20), error)
    assert results == list(range(40))  # every vote committed, in order, each its own leaf
    assert len(commits) == 1  # all in the failing unit's batch
    assert len(await ballot_repo.list_ballots(db.reader, proposal)) == 40
    assert await db.fetchall("SELECT name FROM local_actors WHERE kind = 'person'") == []
    assert await db.integrity_check() == "ok"
    # Later units start with immediate foreign keys again.
    with pytest.raises(sqlite3.IntegrityError):
        await db.run(missing_proposal)
    assert await vote(db, proposal, VOTER.format("late")) == 40


async def test_a_unit_whose_batch_sqlite_rolls_back_fails_that_batch_and_nothing_hangs(
    db: Database, new_actor: NewActor, new_proposal: NewProposalFactory
) -> None:
    proposal = await new_proposal(await new_actor("barrio"))

    async def rollback_conflict(conn: WriterConnection) -> None:
        # A ROLLBACK conflict clause ends the whole transaction, not the statement: what came
        # before in the batch is gone, and SQLite says so.
        await conn.execute("INSERT OR ROLLBACK INTO local_actors (name, kind, created_at)"
                           " VALUES ('barrio', 'assembly', 'now')")

    async def with_body(name: str, *, conflict: bool = False) -> None:
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO local_actors (name, kind, created_at) VALUES (?, 'person', 'now')", (name,)
            )
            if conflict:
                await rollback_conflict(conn)

    # The with-body unit takes the lock first, so it is in the batch that SQLite rolls back.
    first = with_body("w")
    before = [vote(db, proposal, VOTER.format(i)) for i in range(5)]
    bad = db.run(rollback_conflict)
    after = [vote(db, proposal, VOTER.format(i)) for i in range(5, 10)]
    results = await asyncio.wait_for(asyncio.gather(first, *before, bad, *after, return_exceptions=True), 10)
    assert all(isinstance(r, StorageError) for r in results[:6]), results  # rolled back by SQLite: told so
    assert isinstance(results[6], sqlite3.IntegrityError)
    assert results[7:] == [0, 1, 2, 3, 4]  # the rest commit in a new batch
    # A with-body unit that ends its own batch fails, and the writer goes on.
    with pytest.raises(sqlite3.IntegrityError):
        await asyncio.wait_for(with_body("x", conflict=True), 10)
    assert await vote(db, proposal, VOTER.format("late")) == 5
    assert len(await ballot_repo.list_ballots(db.reader, proposal)) == 6
    assert await db.fetchall("SELECT name FROM local_actors WHERE kind = 'person'") == []
    assert await db.integrity_check() == "ok"


async def test_an_appended_row_that_cannot_be_written_fails_alone(db: Database) -> None:
    from storage.inbox import append_inbox_activity

    def unit(i: int) -> Awaitable[None]:
        async def insert(conn: WriterConnection) -> None:
            await conn.execute(
                "INSERT INTO local_actors (name, kind, created_at) VALUES (?, 'person', 'now')", (f"p{i}",)
            )

        return db.run(insert)

    appends = [
        append_inbox_activity(db, f"https://s.example/{i}", "a", "Note", "{}", 0.0, max_bytes=4096)
        for i in range(20)
    ]
    bad = append_inbox_activity(db, "https://s.example/\udc00", "a", "Note", "{}", 0.0, max_bytes=4096)
    appends.insert(7, bad)
    results = await asyncio.gather(*appends, *(unit(i) for i in range(10)), return_exceptions=True)
    assert isinstance(results.pop(7), StorageError)
    assert results == [None] * 30
    row = await db.fetchone("SELECT COUNT(*) FROM inbox_activities")
    assert row is not None and row[0] == 20
    row = await db.fetchone("SELECT COUNT(*) FROM local_actors WHERE kind = 'person'")
    assert row is not None and row[0] == 10


async def test_the_schema_declares_no_deferred_foreign_key(db: Database) -> None:
    # A deferred foreign key fails at COMMIT, taking every unit of the batch with it.
    rows = await db.fetchall("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL")
    assert rows
    deferred = [r[0] for r in rows if re.search(r"(?<!NOT )DEFERRABLE\s+INITIALLY\s+DEFERRED", r[1], re.I)]
    assert deferred == []


def mode_of(path: Path) -> int:
    return path.stat().st_mode & 0o777


async def test_what_it_creates_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "made" / "deeper" / "db.sqlite3"
    db = await open_db(path)
    assert db.created
    try:
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO local_actors (name, kind, created_at) VALUES ('a', 'person', 'now')"
            )
        assert mode_of(tmp_path / "made") == mode_of(tmp_path / "made" / "deeper") == 0o700
        for name in ("db.sqlite3", "db.sqlite3-wal", "db.sqlite3-shm"):
            assert mode_of(path.with_name(name)) == 0o600, name
    finally:
        await db.close()
    again = await Database.open(path)
    assert not again.created
    await again.close()


async def test_an_open_folder_is_reported_not_changed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o777)
    db = await Database.open(folder / "db.sqlite3")
    await db.close()
    assert mode_of(folder) == 0o777
    [warning] = [r for r in caplog.records if r.levelname == "WARNING"]
    assert str(folder) in warning.getMessage() and "writable" in warning.getMessage()


async def test_a_missing_database_is_named_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "db.sqlite3"
    with pytest.raises(MissingDatabaseError, match=f"no database at {re.escape(str(path))}$"):
        await Database.open(path, create=False)
    assert not (tmp_path / "nowhere").exists()


async def test_an_unusable_path_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(StorageError) as caught:
        await Database.open(tmp_path / "a-file" / "db.sqlite3")
    message = str(caught.value)
    assert message == f"cannot create the database {tmp_path / 'a-file' / 'db.sqlite3'}: Not a directory"
    (tmp_path / "garbage.sqlite3").write_bytes(b"this is not a database at all" * 100)
    unreadable = r"cannot open the database .*garbage\.sqlite3: file is not a database"
    with pytest.raises(StorageError, match=unreadable):
        await Database.open(tmp_path / "garbage.sqlite3")


def hold_write_lock(path: Path) -> sqlite3.Connection:
    """Another connection holding the write lock (as a CLI command or a close does)."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    return other


async def insert_person(db: Database, name: str) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO local_actors (name, kind, created_at) VALUES (?, 'person', 'now')", (name,)
        )


async def test_a_held_write_lock_is_waited_for_then_named(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    await (await open_db(path)).close()
    db = await Database.open(path, busy_timeout_seconds=0.6)
    other = hold_write_lock(path)
    try:
        # Released within the timeout: the unit waits and commits.
        asyncio.get_running_loop().call_later(0.3, other.rollback)
        started = time.monotonic()
        await insert_person(db, "patient")
        assert 0.25 < time.monotonic() - started < 0.6
        # Held past it: refused, naming the file.
        other.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        locked = f"the database {re.escape(str(path))} is locked by another process"
        with pytest.raises(DatabaseLockedError, match=locked):
            await insert_person(db, "impatient")
        assert 0.6 <= time.monotonic() - started < 2.0
        other.rollback()
        await insert_person(db, "after")  # the writer is usable again
        names = {row[0] for row in await db.fetchall("SELECT name FROM local_actors")}
        assert names == {"patient", "after"}
    finally:
        other.close()
        await db.close()


async def test_waiting_for_the_lock_can_be_cancelled_at_once(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    db = await open_db(path)
    other = hold_write_lock(path)
    try:
        waiting = asyncio.ensure_future(insert_person(db, "cancelled"))
        await asyncio.sleep(0.3)
        started = time.monotonic()
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert time.monotonic() - started < 0.3  # not the ten seconds of the busy timeout
        other.rollback()
        await insert_person(db, "next")  # no BEGIN was left open by the cancelled wait
        assert [row[0] for row in await db.fetchall("SELECT name FROM local_actors")] == ["next"]
    finally:
        other.close()
        await db.close()


async def test_units_after_close_are_refused_not_left_waiting(tmp_path: Path) -> None:
    """A unit whose batch cannot begin (here: the database is closed) gets the error itself;
    it was once popped from the queue and then never answered, so its caller hung."""
    db = await open_db(tmp_path / "closed.sqlite3")
    await db.close()

    async def unit(conn: WriterConnection) -> None:
        await conn.execute("SELECT 1")

    async def body() -> None:
        async with db.transaction():
            pass

    for attempt in (db.run(unit), body(), db.append("SELECT 1", ())):
        with pytest.raises(StorageError, match="closed"):
            await asyncio.wait_for(attempt, 5)
