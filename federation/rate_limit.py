"""A token bucket per remote host: how many requests a host may send before it must wait.

Each host's bucket holds at most ``burst`` tokens and refills at ``rate`` tokens a second; a
request takes one token, or is refused with the whole seconds after which one is there again
(an HTTP ``Retry-After``). A full bucket is the same as no bucket, so only hosts seen lately are
kept, at most ``max_hosts`` of them (the least recently seen go first).

Refusals are counted per host so that a caller can log a flood once per ``report_every``
seconds instead of once per request. Pure: no I/O, the clock is passed in.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float  # when ``tokens`` was last brought up to date
    refused: int = 0  # refusals since the last report
    reported: float = -math.inf  # when the host's refusals were last reported


class HostLimiter:
    """Token buckets by host, refilled at ``rate`` a second up to ``burst``."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float], *,
        report_every: float = 60.0, max_hosts: int = 20_000,
    ):
        if rate <= 0 or burst < 1:
            raise ValueError("a host limit needs a positive rate and a burst of at least 1")
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._report_every = report_every
        self._max_hosts = max_hosts
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, host: str) -> int:
        """Take one of ``host``'s tokens: 0 when there was one, else the seconds to wait (>= 1)."""
        now = self._clock()
        bucket = self._bucket(host, now)
        # A clock stepped back refills nothing; it never takes tokens away either.
        bucket.tokens = min(self._burst, bucket.tokens + max(0.0, now - bucket.stamp) * self._rate)
        bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0
        return max(1, math.ceil((1.0 - bucket.tokens) / self._rate))

    def count_refusal(self, host: str) -> int:
        """Count a refusal of ``host``; the refusals to report now (this one included), else 0.

        The first refusal of a flood is reported at once, later ones at most every
        ``report_every`` seconds, so a flood costs one log line per host per window.
        """
        now = self._clock()
        bucket = self._bucket(host, now)
        bucket.refused += 1
        if now - bucket.reported < self._report_every:
            return 0
        reported, bucket.refused, bucket.reported = bucket.refused, 0, now
        return reported

    def _bucket(self, host: str, now: float) -> _Bucket:
        bucket = self._buckets.get(host)
        if bucket is None:
            bucket = self._buckets[host] = _Bucket(self._burst, now)
            if len(self._buckets) > self._max_hosts:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(host)
        return bucket
