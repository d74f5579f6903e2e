"""The services of one node, as the use cases see them; the shell (``fedassembly.main``) builds it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp

from fedassembly.app.clock import iso
from fedassembly.app.local_keys import LocalKeys
from fedassembly.app.remote_actors import RemoteDirectory
from fedassembly.app.urls import Urls
from fedassembly.settings import Settings
from federation.fetch import SafeFetcher
from storage.actors import LocalActor
from storage.db import Database


@dataclass(slots=True)
class Node:
    settings: Settings
    urls: Urls
    db: Database
    session: aiohttp.ClientSession
    fetcher: SafeFetcher
    keys: LocalKeys
    remote: RemoteDirectory
    instance: LocalActor
    # Seconds since the epoch; use cases read the time only here, so tests can step it.
    clock: Callable[[], float] = field(default=time.time)
    # Set by the server: pokes the in-process delivery worker (the CLI's rows are polled).
    wake_delivery: Callable[[], None] | None = None

    def now_iso(self) -> str:
        """The node's current time as ``YYYY-MM-DDTHH:MM:SSZ``."""
        return iso(self.clock())

    def delivery_queued(self) -> None:
        """Tell an in-process delivery worker that committed rows are waiting."""
        if self.wake_delivery is not None:
            self.wake_delivery()

    async def close(self) -> None:
        """Close the HTTP session and the database."""
        await self.session.close()
        await self.db.close()
