"""Blocking remote actors and domains, and the in-memory block list the inbox consults.

``block`` and ``unblock`` change the table in one unit (a CLI command beside the running node,
or the node itself). The node never reads the table per request: its ``Blocklist`` holds the
blocked domains (the configured ``federation.blocked_domains`` with them) and actors as sets the
inbox verifier checks before any signature work, and ``run_blocklist`` reloads them, in place,
whenever the table's version has moved — one small read a second, a reload only on a change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass, field

from fedassembly.app.errors import InvalidError, NotFoundError
from fedassembly.app.node import Node
from fedassembly.app.remote_actors import RemoteActorError
from fedassembly.app.urls import split_handle
from federation.addresses import host_of
from storage import blocks as block_repo
from storage.blocks import Block
from storage.db import Connection

log = logging.getLogger("fedassembly.app.blocks")

REFRESH_SECONDS = 1.0
_DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")


async def block_target(node: Node, text: str) -> tuple[str, str]:
    """``(kind, target)`` for an actor IRI, an ``@user@host`` (resolved by WebFinger) or a domain."""
    text = text.strip()
    if text.startswith(("http://", "https://")):
        target, kind = text, "actor"
        if not host_of(target):
            raise InvalidError(f"{text!r} is not an actor IRI")
    elif split_handle(text) is not None:
        try:
            target, kind = (await node.remote.resolve(text)).id, "actor"
        except RemoteActorError as error:
            raise NotFoundError(f"{error}; give the actor's IRI or its domain instead") from error
    else:
        target, kind = text.lower().rstrip("."), "domain"
        if not _DOMAIN.fullmatch(target):
            raise InvalidError(f"{text!r} is neither an actor IRI, @user@host nor a domain")
    if node.urls.is_ours(target) or host_of(node.urls.base) in (target, host_of(target)):
        raise InvalidError(f"{text} is this node")
    return kind, target


async def block(node: Node, text: str) -> tuple[str, bool]:
    """Refuse an actor or a domain from now on; (what is blocked, whether it is new)."""
    kind, target = await block_target(node, text)
    async with node.db.transaction() as conn:
        added = await block_repo.put_block(conn, Block(target, kind, node.now_iso()))
    return target, added


async def unblock(node: Node, text: str) -> str:
    """Lift a block; NotFoundError when there is none."""
    _kind, target = await block_target(node, text)
    async with node.db.transaction() as conn:
        if not await block_repo.delete_block(conn, target):
            raise NotFoundError(f"{target} is not blocked")
    return target


@dataclass(slots=True)
class Blocklist:
    """What the inbox refuses, as live sets (the verifier holds them and sees every reload)."""

    configured: frozenset[str]
    domains: set[str] = field(default_factory=set)
    actors: set[str] = field(default_factory=set)
    version: int | None = None

    def __post_init__(self) -> None:
        self.domains.update(self.configured)

    async def refresh(self, conn: Connection) -> bool:
        """Reload from the table when its version moved; True when it did."""
        version = await block_repo.get_blocks_version(conn)
        if version == self.version:
            return False
        # Read after the version: a change in between is loaded now and again at the next check.
        blocks = await block_repo.list_blocks(conn)
        self.domains.clear()
        self.domains.update(self.configured, (b.target for b in blocks if b.kind == "domain"))
        self.actors.clear()
        self.actors.update(b.target for b in blocks if b.kind == "actor")
        if self.version is not None:
            log.info("block list reloaded: %d domains, %d actors", len(self.domains), len(self.actors))
        self.version = version
        return True


async def run_blocklist(node: Node, blocklist: Blocklist, stop: asyncio.Event) -> None:
    """Keep ``blocklist`` in step with the table until ``stop`` is set."""
    while not stop.is_set():
        try:
            await blocklist.refresh(node.db.reader)
        except Exception:
            log.exception("reloading the block list failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), REFRESH_SECONDS)
