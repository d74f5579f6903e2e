"""Deliveries signed and sent by a child process, so they use another core than the inbox.

Theory of operation. Python runs one event loop per core at most, and a node under load spends
its loop on the inbox; each outgoing POST costs it again as much (aiohttp's client, the signing
hop, the sockets). The delivery worker keeps everything that must be durable — claims, leases,
outcomes, all database writes — and hands only the sending to ``ProcessPoster``: a child
process (``python -c``, see ``_start``) with its own loop and a session made under the
same FetchPolicy, so the address checks, timeouts and limits are the same as in-process.

The two talk over the child's stdin and stdout in frames (4-byte big-endian length, then a
pickled list), a list per loop turn in either direction, so a burst costs a few writes, not one
per job. Pickle is safe here: the pipes are private to the two processes. A private key crosses
once per key id (and again if it changes). The child knocks twice like the in-process poster
(``federation.posting.knock``) but keeps no memory of hosts: the scheme to try first travels with
each job, and which scheme the answer belongs to comes back with its outcome, for the parent to
remember. If the child dies, every POST in flight fails as a
network error (the worker retries it, as for any lost connection) and the next POST starts a
new child; if the node dies, the child reads end-of-file and exits.

The child runs at a lower CPU priority (``SENDER_NICENESS``). Deliveries wait durably in the
queue and catch up, while the remote servers posting to our inbox wait on each answer, with
their own timeouts; when the two compete for a core, the inbox comes first. On a busy 2-core
machine this took bench/votes.py from about 1,900 to about 2,200 votes a second, and the last
receipt left no later.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import pickle
import struct
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from cryptography.hazmat.primitives import serialization

from federation import fetch
from federation.fetch import FetchError, FetchPolicy, FetchTimeoutError
from federation.keys import PrivateKey, load_private_key
from federation.posting import KNOCKS, SignedPost, knock
from federation.session import create_session
from federation.signatures import Scheme

log = logging.getLogger("federation.send_process")

_T = TypeVar("_T")
_HEADER = struct.Struct(">I")
SENDER_NICENESS = 10
# Beyond the POSTs' own deadlines, which the child enforces: time for the frames to cross.
_GRACE_SECONDS = 5.0
_RESTART_SECONDS = 1.0
# The FetchErrors a POST can raise, rebuilt by name on the parent's side.
_ERRORS: dict[str, type[FetchError]] = {
    cls.__name__: cls
    for cls in (
        fetch.InvalidURLError, fetch.ForbiddenAddressError, fetch.FetchTimeoutError,
        fetch.FetchNetworkError, fetch.ResponseTooLargeError,
    )
}


@dataclass(frozen=True, slots=True)
class _Job:
    """Parent to child: one POST to sign and send."""

    ref: int
    inbox: str
    body: bytes
    key_id: str
    pem: str | None  # the private key, only when this child has not seen it for this key id
    first: Scheme  # the signature scheme to try first


@dataclass(frozen=True, slots=True)
class _Outcome:
    """Child to parent: what came of one job."""

    ref: int
    status: int | None = None
    retry_after: str | None = None
    scheme: Scheme | None = None  # the scheme of the request that got this answer
    error: tuple[str, str] | None = None  # (exception class name, message)


def _frame(items: Sequence[object]) -> bytes:
    payload = pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(payload)) + payload


async def _read_frame(reader: asyncio.StreamReader) -> list[Any] | None:
    """The next frame's list, or None at end of file."""
    try:
        header = await reader.readexactly(_HEADER.size)
        # What the other process's _frame wrote: the pipe is private, so its items are not checked.
        items: list[Any] = pickle.loads(await reader.readexactly(_HEADER.unpack(header)[0]))
    except asyncio.IncompleteReadError:
        return None
    return items


class _Batcher(Generic[_T]):
    """Collects items during one loop turn and writes them as one frame."""

    def __init__(self, write: Callable[[bytes], object]) -> None:
        self._write = write
        self._items: list[_T] = []

    def add(self, item: _T) -> None:
        if not self._items:
            asyncio.get_running_loop().call_soon(self._flush)
        self._items.append(item)

    def _flush(self) -> None:
        items, self._items = self._items, []
        try:
            self._write(_frame(items))
        except (RuntimeError, ConnectionError) as error:  # the other side is gone
            # Its reader sees the end of the pipe and fails whatever was waiting on this frame.
            log.warning("sender pipe closed, %d item(s) not written: %s", len(items), error)


# --- the parent's side ----------------------------------------------------------------------


@dataclass
class _Child:
    process: asyncio.subprocess.Process
    batcher: _Batcher[_Job]
    pending: dict[int, asyncio.Future[_Outcome]] = field(default_factory=dict)
    keys: dict[str, PrivateKey] = field(default_factory=dict)
    reader: asyncio.Task[None] | None = None
    alive: bool = True


class ProcessPoster:
    """A SignedPoster whose POSTs are signed and sent by a child process (started on first use)."""

    def __init__(self, policy: FetchPolicy, *, connections: int) -> None:
        self._policy = policy
        self._connections = connections
        self._refs = itertools.count()
        self._child: _Child | None = None
        self._starting = asyncio.Lock()
        self._last_start = -_RESTART_SECONDS

    @property
    def timeout_seconds(self) -> float:
        return KNOCKS * self._policy.timeout_seconds

    async def post_signed(
        self, inbox: str, body: bytes, key_id: str, private_key: PrivateKey, first: Scheme
    ) -> SignedPost:
        child = await self._running()
        ref = next(self._refs)
        future: asyncio.Future[_Outcome] = asyncio.get_running_loop().create_future()
        child.pending[ref] = future
        pem = None
        if child.keys.get(key_id) is not private_key:
            child.keys[key_id] = private_key
            pem = _pem_of(private_key)
        child.batcher.add(_Job(ref, inbox, body, key_id, pem, first))
        try:
            async with asyncio.timeout(self.timeout_seconds + _GRACE_SECONDS):
                outcome = await future
        except TimeoutError:
            raise FetchTimeoutError(f"the sender process did not answer for {inbox}") from None
        finally:
            child.pending.pop(ref, None)
        if outcome.error is not None:
            name, message = outcome.error
            raise _ERRORS.get(name, RuntimeError)(message)
        assert outcome.status is not None and outcome.scheme is not None
        return SignedPost(outcome.status, outcome.retry_after, outcome.scheme)

    async def close(self) -> None:
        """Let the child finish what it holds and exit (killed if it takes longer than a POST)."""
        child, self._child = self._child, None
        if child is None:
            return
        if child.process.stdin is not None:
            child.process.stdin.close()
        try:
            await asyncio.wait_for(child.process.wait(), self.timeout_seconds + _GRACE_SECONDS)
        except TimeoutError:
            child.process.kill()
            await child.process.wait()
        if child.reader is not None:
            await child.reader

    @property
    def pid(self) -> int | None:
        """The running child's process id (None before the first POST or after it died)."""
        child = self._child
        return child.process.pid if child is not None and child.alive else None

    async def _running(self) -> _Child:
        async with self._starting:
            if self._child is None or not self._child.alive:
                self._child = await self._start()
            return self._child

    async def _start(self) -> _Child:
        # Spaced out, so a child that cannot start is not restarted in a tight loop.
        await asyncio.sleep(max(0.0, self._last_start + _RESTART_SECONDS - time.monotonic()))
        self._last_start = time.monotonic()
        # Not ``-m``: run as __main__, the child would pickle its classes under that name.
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "from federation.send_process import main; main()",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )
        assert process.stdin is not None
        child = _Child(process, _Batcher(process.stdin.write))
        process.stdin.write(_frame([self._policy, self._connections]))
        child.reader = asyncio.create_task(self._read_outcomes(child))
        log.info("sender process %d started", process.pid)
        return child

    async def _read_outcomes(self, child: _Child) -> None:
        assert child.process.stdout is not None
        try:
            while (outcomes := await _read_frame(child.process.stdout)) is not None:
                for outcome in outcomes:
                    future = child.pending.get(outcome.ref)
                    if future is not None and not future.done():
                        future.set_result(outcome)
        except Exception:  # a frame we cannot read: this child is no longer trusted
            log.exception("sender process %d sent an unreadable frame", child.process.pid)
            child.process.kill()
        finally:
            child.alive = False
            lost = _Outcome(-1, error=("FetchNetworkError", "the sender process exited"))
            for future in child.pending.values():
                if not future.done():
                    future.set_result(lost)
            code = await child.process.wait()
            if code != 0:
                log.warning("sender process %d exited with status %d", child.process.pid, code)


def _pem_of(key: PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


# --- the child's side -----------------------------------------------------------------------


async def _send(fetcher: fetch.SafeFetcher, job: _Job, key: PrivateKey) -> _Outcome:
    try:
        result = await knock(fetcher, job.inbox, job.body, job.key_id, key, job.first)
    except Exception as error:  # every failure goes back to the worker, which records it
        return _Outcome(job.ref, error=(type(error).__name__, str(error)))
    return _Outcome(job.ref, result.status, result.retry_after, result.scheme)


async def _serve_parent() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    transport, _ = await loop.connect_write_pipe(asyncio.Protocol, sys.stdout.buffer)
    outcomes: _Batcher[_Outcome] = _Batcher(transport.write)
    first = await _read_frame(reader)
    if first is None:
        return
    policy, connections = first
    session = create_session(policy, limit=connections)
    fetcher = fetch.SafeFetcher(session, policy)
    keys: dict[str, PrivateKey] = {}
    tasks: set[asyncio.Task[None]] = set()

    async def one(job: _Job) -> None:
        outcomes.add(await _send(fetcher, job, keys[job.key_id]))

    try:
        while (jobs := await _read_frame(reader)) is not None:
            for job in jobs:
                if job.pem is not None:
                    keys[job.key_id] = load_private_key(job.pem)
                task = loop.create_task(one(job))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(tasks)
        await asyncio.sleep(0)  # let the last outcomes' frame be written
    finally:
        await session.close()
        transport.close()


def main() -> None:
    """The child (started as ``python -c``, see ``_start``): serve the parent until its pipe closes."""
    logging.basicConfig(level=logging.INFO, format="sender %(levelname)s %(name)s: %(message)s")
    if hasattr(os, "nice"):  # POSIX
        os.nice(SENDER_NICENESS)
    try:
        import uvloop
    except ImportError:
        asyncio.run(_serve_parent())
    else:
        uvloop.run(_serve_parent())
