"""Every actor on a roster of this node, in memory: how the inbox tells members from strangers.

The inbox asks for every request, so the answer must cost no database round trip. The set is
loaded at start and kept up to date from the database itself, whoever writes the roster (the
node, a CLI command in another process, an import): every second the node reads the roster
entries added after the last one it saw (an indexed range read, see
``storage.members.list_roster_entries_from``), and before refusing a stranger it looks once
more (at most every ``FRESH_SECONDS``), so a member added a moment ago is not refused. Removals
are caught by a whole reload every ``RELOAD_SECONDS``: until then a removed member is still
let past the stranger limit, which costs nothing but their own server's requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from storage import members as member_repo
from storage.db import Database

log = logging.getLogger("fedassembly.app.roster_index")

CATCH_UP_SECONDS = 1.0
FRESH_SECONDS = 0.1
RELOAD_SECONDS = 60.0


class RosterIndex:
    """The actor IRIs on any roster of this node, caught up from the database."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._members: set[str] = set()
        self._last: tuple[int, str] | None = None  # the roster entry with the largest rowid seen
        self._checked = -float("inf")  # time.monotonic() of the last look at the database
        self._lock = asyncio.Lock()

    def __contains__(self, actor: object) -> bool:
        return actor in self._members

    async def load(self) -> None:
        """Read every roster entry again (at start, and to forget members taken off)."""
        async with self._lock:
            await self._load()

    async def catch_up(self, max_age: float = 0.0) -> None:
        """Add the entries written since the last look, unless one was taken within ``max_age``
        seconds; concurrent callers share one look."""
        async with self._lock:
            if time.monotonic() - self._checked < max_age:
                return
            if self._last is None:
                await self._load()
                return
            entries = await member_repo.list_roster_entries_from(self._db.reader, self._last[0])
            if not entries or entries[0] != self._last:
                # The newest entry seen is gone: a later one may have taken its rowid.
                await self._load()
                return
            self._members.update(member for _, member in entries)
            self._last = entries[-1]
            self._checked = time.monotonic()

    async def _load(self) -> None:
        checked = time.monotonic()
        entries = await member_repo.list_roster_entries_from(self._db.reader, 0)
        self._members = {member for _, member in entries}
        self._last = entries[-1] if entries else None
        self._checked = checked

    async def run(self, stop: asyncio.Event) -> None:
        """Catch up every second and reload every minute, until ``stop`` is set."""
        reloaded = time.monotonic()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), CATCH_UP_SECONDS)
            if stop.is_set():
                return
            try:
                if time.monotonic() - reloaded >= RELOAD_SECONDS:
                    await self.load()
                    reloaded = time.monotonic()
                else:
                    await self.catch_up()
            except Exception:
                log.exception("the roster index could not be brought up to date")
