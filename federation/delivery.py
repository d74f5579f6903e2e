"""The delivery worker: claims queued POSTs under a lease, signs and sends them, records outcomes.

Theory of operation. The queue lives in the database (rows written in the transaction of the
change that causes them), so this worker holds nothing that a crash could lose: a job is leased
when claimed, deleted only after a 2xx, rescheduled or given up otherwise. It is the node's only
worker, so on start every lease is stale (left by a process that died, even by ``kill -9``) and
is dropped at once instead of waiting for it to expire.

``run`` is a feeder plus a pool: the feeder keeps a small backlog of claimed jobs and starts one
task per job while fewer than ``concurrency`` are in flight, so one slow host holds one slot, never
the others. It sleeps until the next job is due, ``wake()`` (jobs queued by this process), a job
finishing, or at most a second (jobs queued by another process, e.g. the CLI, are not signalled).
Each failure is recorded in its own small transaction (the database commits concurrent ones
together). Deletions after a 2xx are coalesced further, one batch gathering while the previous
one commits, since at fan-out rates the single SQLite writer would otherwise be the bottleneck;
a send still counts as done only once its deletion is durable.

A retryable failure that says the host is unwell pauses the host until that job's next attempt,
in the store (later claims skip it) and here (jobs already claimed for it are handed back
unattempted), so a struggling server is not hammered; a 2xx lifts the pause.

Each POST is signed in the scheme the host takes first (``SchemeMemory``, a lookup in memory) and
knocks again in the other when refused (``federation.posting``); when the other was accepted,
the memory learns it for the host's next deliveries.
"""

from __future__ import annotations

import asyncio
import logging
import random as random_module
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from federation.fetch import FetchError, ForbiddenAddressError, InvalidURLError
from federation.ports import DeliveryJob, DeliveryStore, SenderKeys
from federation.posting import SignedPoster
from federation.retry import (
    JobState,
    Outcome,
    classify,
    honoured_delay,
    parse_retry_after,
    pauses_host,
    retry_delay,
    settle,
    transition,
)
from federation.signing_schemes import SchemeMemory

log = logging.getLogger("federation.delivery")

# Jobs queued by another process (the CLI) are not signalled to us: look at least this often.
MAX_IDLE_SECONDS = 1.0
# Floor on an idle sleep, so a due time a hair in the past cannot turn the feeder into a spin.
MIN_IDLE_SECONDS = 0.005
RUN_ONCE_LIMIT = 1000
# Our refusals to send there: a retry would be refused the same way, so give up at once.
_FINAL_FETCH_ERRORS = (InvalidURLError, ForbiddenAddressError)


@dataclass(frozen=True, slots=True)
class _Attempt:
    """What one POST came to: its outcome, the status (None: no answer), Retry-After, error text."""

    outcome: Outcome
    status: int | None
    retry_after: str | None
    error: str


class _Coalescer:
    """Writes the jobs handed to ``add`` in batches: while one batch is being committed, the next
    gathers. ``add`` returns once its job's batch is durable (or raises what the write raised)."""

    def __init__(self, write: Callable[[list[DeliveryJob]], Awaitable[None]]) -> None:
        self._write = write
        self._jobs: list[DeliveryJob] = []
        self._done: asyncio.Future[None] | None = None
        self._writer: asyncio.Task[None] | None = None

    async def add(self, job: DeliveryJob) -> None:
        """Queue ``job`` for the next batch and wait until that batch is written."""
        if self._done is None:
            self._done = asyncio.get_running_loop().create_future()
        done = self._done
        self._jobs.append(job)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_batches())
        await asyncio.shield(done)

    async def drain(self) -> None:
        """Wait until every batch handed over so far is written."""
        if self._writer is not None:
            await asyncio.shield(self._writer)

    async def _write_batches(self) -> None:
        try:
            while self._jobs:
                jobs, done = self._jobs, self._done
                self._jobs, self._done = [], None
                assert done is not None
                try:
                    await self._write(jobs)
                except asyncio.CancelledError:
                    done.cancel()  # the loop is going away: release the waiters too
                    raise
                except Exception as error:
                    done.set_exception(error)
                    done.exception()  # retrieved here: waiters may have been cancelled meanwhile
                else:
                    done.set_result(None)
        finally:
            self._writer = None


class DeliveryWorker:
    """Sends the durable delivery queue: signed POSTs, retried on Mastodon's terms, at most
    ``concurrency`` at a time."""

    def __init__(
        self,
        store: DeliveryStore,
        poster: SignedPoster,
        keys: SenderKeys,
        *,
        schemes: SchemeMemory,
        concurrency: int,
        first_retry_seconds: float,
        max_attempts: int,
        clock: Callable[[], float] = time.time,
        random: Callable[[], float] = random_module.random,
        lease_seconds: float = 300.0,
    ) -> None:
        if concurrency < 1 or max_attempts < 1 or first_retry_seconds <= 0 or lease_seconds <= 0:
            raise ValueError("concurrency and max_attempts >= 1, first_retry and lease > 0")
        self._store = store
        self._poster = poster
        self._keys = keys
        self._schemes = schemes
        self._concurrency = concurrency
        self._first_retry = first_retry_seconds
        self._max_attempts = max_attempts
        self._clock = clock
        self._random = random
        self._lease_seconds = lease_seconds
        self._wakeup = asyncio.Event()
        # host -> paused until: mirrors the store's pauses this worker set, for jobs it already holds.
        self._paused: dict[str, float] = {}
        self._delivered = _Coalescer(self._record_delivered)

    def wake(self) -> None:
        """Ask the running feeder to look for due jobs now (call after queueing in this process)."""
        self._wakeup.set()

    async def run_once(self, limit: int = RUN_ONCE_LIMIT) -> int:
        """Claim up to ``limit`` due jobs, send them ``concurrency`` at a time; return how many were sent."""
        jobs = await self._claim(limit)
        slots = asyncio.Semaphore(self._concurrency)

        async def one(job: DeliveryJob) -> bool:
            async with slots:
                return await self._process(job)

        return sum(await asyncio.gather(*(one(job) for job in jobs)))

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set, then let the sends in flight finish and drop every lease."""
        await self._store.release_leases()
        backlog: deque[DeliveryJob] = deque()
        in_flight: set[asyncio.Task[bool]] = set()
        watcher = asyncio.create_task(self._wake_on(stop))
        try:
            await self._feed(stop, backlog, in_flight)
            if in_flight:
                # A send is bounded by the fetch timeout; give the last ones that long to land.
                await asyncio.wait(in_flight, timeout=self._poster.timeout_seconds)
        finally:
            watcher.cancel()
            for task in in_flight:
                task.cancel()
            await asyncio.gather(watcher, *in_flight, return_exceptions=True)
            await self._delivered.drain()
        # Jobs still in the backlog were never attempted; they are due again at once on restart.
        await self._store.release_leases()

    async def _wake_on(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self.wake()

    async def _feed(
        self, stop: asyncio.Event, backlog: deque[DeliveryJob], in_flight: set[asyncio.Task[bool]]
    ) -> None:
        while not stop.is_set():
            # Cleared before looking, so a wake-up that arrives while we look is not lost.
            self._wakeup.clear()
            idle = MAX_IDLE_SECONDS
            try:
                self._start(backlog, in_flight)
                # Keep about one pool's worth claimed ahead, so a finished send is replaced at
                # once, while leases stay few and short-lived.
                if len(backlog) < self._concurrency:
                    wanted = 2 * self._concurrency - len(backlog)
                    claimed = await self._claim(wanted)
                    backlog.extend(claimed)
                    self._start(backlog, in_flight)
                    if len(claimed) < wanted:
                        idle = await self._idle_seconds()
            except Exception:  # the feeder outlives a failing database; try again shortly
                log.exception("delivery feeder failed; retrying in %.0f s", MAX_IDLE_SECONDS)
            if stop.is_set():
                break
            try:
                async with asyncio.timeout(idle):
                    await self._wakeup.wait()
            except TimeoutError:
                pass

    def _start(self, backlog: deque[DeliveryJob], in_flight: set[asyncio.Task[bool]]) -> None:
        while backlog and len(in_flight) < self._concurrency:
            task = asyncio.create_task(self._process(backlog.popleft()))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            # A free slot (or a new due time, or a lifted pause) is a reason to look again.
            task.add_done_callback(lambda _task: self._wakeup.set())

    async def _idle_seconds(self) -> float:
        due = await self._store.next_due_at()
        if due is None:
            return MAX_IDLE_SECONDS
        return min(MAX_IDLE_SECONDS, max(MIN_IDLE_SECONDS, due - self._clock()))

    async def _claim(self, limit: int) -> list[DeliveryJob]:
        now = self._clock()
        self._paused = {host: until for host, until in self._paused.items() if until > now}
        return list(await self._store.claim(now, now + self._lease_seconds, limit))

    async def _process(self, job: DeliveryJob) -> bool:
        """Attempt one job and record its outcome; True if it was sent. Never raises Exception."""
        sent = False
        try:
            if self._paused.get(job.host, 0.0) > self._clock():
                # Claimed before its host failed: hand it back untried; the claim skips the host
                # until the pause ends.
                await self._store.release([job.id])
                return False
            attempt = await self._send(job)
            sent = True
            await self._record(job, attempt)
        except Exception:  # one job's bug or a failed write must not kill the pool
            log.exception("delivery %d of %s to %s failed to complete", job.id, job.activity_id, job.inbox)
        return sent

    async def _send(self, job: DeliveryJob) -> _Attempt:
        """POST the signed activity and say what came of it."""
        try:
            key_id, private_key = await self._keys.key_for(job.sender_id)
            first = self._schemes.first_for(job.host)
            result = await self._poster.post_signed(job.inbox, job.body, key_id, private_key, first)
        except _FINAL_FETCH_ERRORS as error:
            return _Attempt("final", None, None, f"refused: {error}")
        except FetchError as error:
            return _Attempt("retry", None, None, f"{type(error).__name__}: {error}")
        except Exception as error:  # a missing key, a bad PEM: logged, retried within max_attempts
            log.exception("delivery %d to %s could not be sent", job.id, job.inbox)
            return _Attempt("retry", None, None, f"{type(error).__name__}: {error}")
        if result.scheme != first:
            self._schemes.learned(job.host, result.scheme)
        return _Attempt(classify(result.status), result.status, result.retry_after, f"HTTP {result.status}")

    async def _record_delivered(self, jobs: list[DeliveryJob]) -> None:
        await self._store.record_delivered([job.id for job in jobs], {job.host for job in jobs})

    async def _record(self, job: DeliveryJob, attempt: _Attempt) -> None:
        now = self._clock()
        failures = job.attempts + 1
        state: JobState = transition("pending", settle(attempt.outcome, failures, self._max_attempts))
        if state == "delivered":
            await self._delivered.add(job)
            self._paused.pop(job.host, None)
        elif state == "dead":
            await self._store.record_final(job.id, failures, attempt.error)
            log.warning(
                "delivery of %s to %s given up after %d attempt(s): %s",
                job.activity_id,
                job.inbox,
                failures,
                attempt.error,
            )
        else:
            backoff = retry_delay(job.attempts, self._first_retry, self._random())
            next_attempt_at = now + honoured_delay(backoff, parse_retry_after(attempt.retry_after, now))
            # Pause until this job's own retry: the host is retried no later than its own jobs.
            pause_until = next_attempt_at if pauses_host(attempt.status) else None
            await self._store.record_retry(
                job.id,
                job.host,
                attempts=failures,
                next_attempt_at=next_attempt_at,
                error=attempt.error,
                pause_host_until=pause_until,
                now=now,
            )
            if pause_until is not None:
                current = self._paused.get(job.host)
                if current is None or current <= now or pause_until < current:
                    self._paused[job.host] = pause_until
