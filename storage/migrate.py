"""Numbered schema migrations, applied in order at start.

Each file ``migrations/NNNN_name.sql`` moves the schema from version NNNN-1 to NNNN. The version
lives in ``PRAGMA user_version`` and every step runs in one transaction with its version bump, so
a crash mid-upgrade leaves the database at the last complete version and the next start resumes.
A database newer than this release is refused rather than guessed at.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from storage.db import Connection, Database, StorageError, fetchone

log = logging.getLogger("storage.migrate")

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(folder: Path | None = None) -> list[Migration]:
    """The migrations shipped in ``folder`` (default: this package's), checked to be 1..N."""
    root = folder if folder is not None else Path(__file__).parent / "migrations"
    found = []
    for entry in root.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise StorageError(f"migrations are not numbered 1..N: {[m.version for m in found]}")
    return found


async def schema_version(conn: Connection) -> int:
    """The schema version recorded in the database file."""
    row = await fetchone(conn, "PRAGMA user_version")
    return int(row[0]) if row else 0


async def migrate(db: Database, migrations: list[Migration] | None = None) -> int:
    """Apply every migration newer than the database; return the resulting version."""
    migrations = load_migrations() if migrations is None else migrations
    latest = migrations[-1].version if migrations else 0
    async with db.transaction() as conn:
        current = await schema_version(conn)
    if current > latest:
        raise StorageError(
            f"database schema {current} is newer than this release ({latest}); upgrade fedassembly"
        )
    for migration in migrations[current:]:
        async with db.transaction() as conn:
            # executescript would commit; run the statements one by one inside our savepoint.
            for statement in _statements(migration.sql):
                await conn.execute(statement)
            await conn.execute(f"PRAGMA user_version = {migration.version}")
        log.info("schema migrated to %04d_%s", migration.version, migration.name)
    return max(current, latest)


def _statements(sql: str) -> list[str]:
    """Split a migration file into statements (our files keep ';' out of literals and triggers)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]
