"""Which signature scheme each host is signed in first: learned, held in memory, kept 30 days.

Theory of operation. A delivery is signed draft-cavage first, as Mastodon signs, unless its host
is known to take RFC 9421: it sent us a valid RFC 9421 signature (``heard``), or it refused
draft-cavage and accepted RFC 9421 on the second knock (``learned``). A host that refused RFC 9421
and accepted draft-cavage is remembered too, and then what it signs at our inbox does not undo
that: how it answers our deliveries is what counts for our deliveries. A choice holds for 30 days
after it was learned; then the host is knocked draft-cavage first again and its answer teaches
anew.

The choices live in memory: a delivery looks its host up in a dict, and neither the inbox nor the
sender reads the database for them. They are written through the ``SchemeStore`` port by one
background task, in batches: a choice that changes is written at once together with whatever
else changed meanwhile, and a host that keeps signing RFC 9421 at our inbox has its choice
refreshed at most once an hour, not on every POST. A failed write is logged and dropped: the
worst it costs is one double knock per host after a restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from federation.addresses import host_of
from federation.ports import SchemeStore
from federation.signatures import CAVAGE, RFC9421, Scheme

log = logging.getLogger("federation.signing_schemes")

CHOICE_SECONDS = 30 * 86400
REFRESH_SECONDS = 3600.0


class SchemeMemory:
    """The per-host choice of the scheme to sign in first, in memory, saved in the background."""

    def __init__(self, store: SchemeStore, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock
        self._choices: dict[str, tuple[Scheme, float]] = {}  # host -> (scheme, learned at)
        self._unsaved: dict[str, tuple[Scheme, float]] = {}
        self._writer: asyncio.Task[None] | None = None
        self._pruned_at = 0.0

    async def load(self) -> None:
        """Read the choices still in force (as the node starts, before anything is sent)."""
        self._choices.update(await self._store.load_schemes(self._clock() - CHOICE_SECONDS))

    def first_for(self, host: str) -> Scheme:
        """The scheme a delivery to ``host`` is signed in first."""
        return self._current(host, self._clock()) or CAVAGE

    def learned(self, host: str, scheme: Scheme) -> None:
        """A delivery to ``host`` was refused in the other scheme and accepted signed ``scheme``."""
        now = self._clock()
        if self._current(host, now) == scheme:  # a delivery in flight beside it learned it first
            return
        log.info("%s accepted %s after refusing the other scheme: signing %s first", host, scheme, scheme)
        self._remember(host, scheme, now)

    def heard(self, key_id: str, scheme: str) -> None:
        """Our inbox verified a ``scheme`` signature by ``key_id``: a host signing RFC 9421 takes it.

        On the inbox's hot path: a draft-cavage signature costs a comparison, an RFC 9421 one a
        dict lookup, and a write only when the host's choice is new or an hour old.
        """
        if scheme != RFC9421:
            return
        host = host_of(key_id)
        now = self._clock()
        choice = self._choices.get(host)
        if choice is not None and now - choice[1] <= CHOICE_SECONDS:
            known, learned_at = choice
            if known == CAVAGE or now - learned_at < REFRESH_SECONDS:
                return
        self._remember(host, RFC9421, now)

    async def drain(self) -> None:
        """Wait until every choice learned so far is written (the node is stopping)."""
        if self._writer is not None:
            await asyncio.shield(self._writer)

    def _current(self, host: str, now: float) -> Scheme | None:
        choice = self._choices.get(host)
        if choice is None or now - choice[1] > CHOICE_SECONDS:
            return None
        return choice[0]

    def _remember(self, host: str, scheme: Scheme, now: float) -> None:
        self._choices[host] = self._unsaved[host] = (scheme, now)
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        """Write what changed, batch after batch, until nothing is left unsaved."""
        try:
            while self._unsaved:
                batch, self._unsaved = self._unsaved, {}
                now = self._clock()
                forget_before = now - CHOICE_SECONDS
                if now - self._pruned_at >= REFRESH_SECONDS:
                    self._pruned_at = now
                    self._choices = {h: c for h, c in self._choices.items() if c[1] >= forget_before}
                try:
                    await self._store.save_schemes(batch, forget_before)
                except Exception:  # kept in memory; after a restart the host is relearned
                    log.exception("signature schemes of %d host(s) not saved", len(batch))
        finally:
            self._writer = None
