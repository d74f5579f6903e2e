"""federation.rate_limit: a token bucket per host, on a clock the test steps."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from federation.rate_limit import HostLimiter


class Clock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_host_spends_its_burst_then_waits_for_the_refill() -> None:
    clock = Clock()
    limiter = HostLimiter(50, 200, clock)
    assert [limiter.take("big.example") for _ in range(200)] == [0] * 200
    assert limiter.take("big.example") == 1  # 1/50 s away, said in whole seconds
    clock.now += 0.1  # five tokens back
    assert [limiter.take("big.example") for _ in range(6)] == [0, 0, 0, 0, 0, 1]


def test_retry_after_is_the_whole_seconds_until_the_next_token() -> None:
    clock = Clock()
    limiter = HostLimiter(0.4, 2, clock)
    assert [limiter.take("h.example") for _ in range(3)] == [0, 0, 3]  # 2.5 s, rounded up
    clock.now += 2.0
    assert limiter.take("h.example") == 1
    clock.now += 0.5
    assert limiter.take("h.example") == 0


def test_a_long_pause_refills_no_more_than_the_burst() -> None:
    clock = Clock()
    limiter = HostLimiter(10, 3, clock)
    for _ in range(3):
        limiter.take("h.example")
    clock.now += 86_400
    assert [limiter.take("h.example") for _ in range(4)] == [0, 0, 0, 1]


def test_hosts_have_buckets_of_their_own() -> None:
    limiter = HostLimiter(1, 2, Clock())
    assert [limiter.take("a.example") for _ in range(3)] == [0, 0, 1]
    assert [limiter.take("b.example") for _ in range(2)] == [0, 0]


def test_a_clock_stepped_back_neither_refills_nor_breaks_the_bucket() -> None:
    clock = Clock()
    limiter = HostLimiter(1, 1, clock)
    assert limiter.take("h.example") == 0
    clock.now -= 3_600
    assert limiter.take("h.example") == 1
    clock.now += 1
    assert limiter.take("h.example") == 0


def test_refusals_are_reported_once_per_window_with_their_count() -> None:
    clock = Clock()
    limiter = HostLimiter(1, 1, clock, report_every=60)
    assert limiter.count_refusal("h.example") == 1  # the first refusal of a flood: at once
    assert [limiter.count_refusal("h.example") for _ in range(99)] == [0] * 99
    assert limiter.count_refusal("other.example") == 1
    clock.now += 59.9
    assert limiter.count_refusal("h.example") == 0
    clock.now += 0.1
    assert limiter.count_refusal("h.example") == 101  # everything since the last line, this one too
    assert limiter.count_refusal("h.example") == 0


def test_only_the_most_recently_seen_hosts_are_kept() -> None:
    limiter = HostLimiter(1, 1, Clock(), max_hosts=2)
    assert limiter.take("a.example") == 0
    assert limiter.take("b.example") == 0
    assert limiter.take("a.example") == 1  # a is now the most recently seen
    assert limiter.take("c.example") == 0  # b is dropped: a full bucket is the same as none
    assert limiter.take("a.example") == 1
    assert limiter.take("b.example") == 0


@pytest.mark.parametrize(("rate", "burst"), [(0, 10), (-1, 10), (1, 0)])
def test_a_limit_that_could_never_admit_is_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        HostLimiter(rate, burst, Clock())


@given(rate=st.floats(0.01, 1_000), burst=st.integers(1, 300), spent=st.integers(0, 600))
def test_after_waiting_retry_after_seconds_a_request_is_admitted(rate: float, burst: int, spent: int) -> None:
    clock = Clock()
    limiter = HostLimiter(rate, burst, clock)
    waits = [limiter.take("h.example") for _ in range(spent)]
    assert waits[:burst] == [0] * min(burst, spent)
    wait = limiter.take("h.example")
    if wait:
        clock.now += wait
        assert limiter.take("h.example") == 0
