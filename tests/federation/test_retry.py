"""The pure delivery policies: classification, backoff schedule, Retry-After, lifecycle."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from federation.retry import (
    RETRY_AFTER_CAP,
    DeliveryStateError,
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

DAY = 86400.0


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_2xx_is_delivered(status: int) -> None:
    assert classify(status) == "delivered"


@pytest.mark.parametrize("status", [400, 403, 404, 405, 409, 410, 413, 415, 422, 451, 499])
def test_other_4xx_are_final(status: int) -> None:
    assert classify(status) == "final"


@pytest.mark.parametrize("status", [401, 408, 429])
def test_salvageable_4xx_retry(status: int) -> None:
    assert classify(status) == "retry"


@pytest.mark.parametrize("status", [500, 502, 503, 504, 599, 100, 301, 302, 304, 600, 0])
def test_5xx_and_anything_unexpected_retry(status: int) -> None:
    assert classify(status) == "retry"


@pytest.mark.parametrize(
    ("status", "pauses"),
    [(None, True), (500, True), (503, True), (408, True), (429, True), (401, False), (302, False)],
)
def test_host_trouble_pauses_the_host(status: int | None, pauses: bool) -> None:
    assert pauses_host(status) is pauses


def test_first_retry_is_first_retry_seconds_within_jitter() -> None:
    assert retry_delay(0, 30.0, 0.5) == pytest.approx(30.0)
    assert retry_delay(0, 30.0, 0.0) == pytest.approx(24.0)
    assert retry_delay(0, 30.0, 0.999999) == pytest.approx(36.0, rel=1e-5)


@pytest.mark.parametrize("attempt", range(16))
def test_jitter_stays_within_twenty_percent(attempt: int) -> None:
    middle = retry_delay(attempt, 30.0, 0.5)
    for jitter in (0.0, 0.25, 0.5, 0.75, 0.999999):
        assert 0.8 * middle <= retry_delay(attempt, 30.0, jitter) < 1.2 * middle


def test_delays_grow_monotonically() -> None:
    delays = [retry_delay(a, 30.0, 0.5) for a in range(16)]
    assert delays == sorted(delays)
    assert delays[-1] > 12 * 3600  # the last waits are many hours, like Mastodon's


def test_default_schedule_spans_two_to_three_days() -> None:
    # 16 attempts = 15 waits (after failures 0..14); Mastodon's count**4 schedule is ~2.1 days.
    waits = [retry_delay(a, 30.0, 0.5) for a in range(15)]
    assert 2.0 * DAY < sum(waits) < 3.0 * DAY
    # Even at the extremes of the jitter it stays between ~1.8 and ~2.7 days.
    assert sum(retry_delay(a, 30.0, 0.0) for a in range(15)) > 1.7 * DAY
    assert sum(retry_delay(a, 30.0, 0.999999) for a in range(15)) < 2.7 * DAY


def test_schedule_scales_with_first_retry() -> None:
    assert retry_delay(7, 0.05, 0.3) == pytest.approx(retry_delay(7, 30.0, 0.3) / 600)


def test_retry_after_delta_seconds() -> None:
    assert parse_retry_after("120", now=1000.0) == 120.0
    assert parse_retry_after(" 0 ", now=1000.0) == 0.0


def test_retry_after_http_date() -> None:
    now = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC).timestamp()
    later = datetime(2026, 5, 1, 12, 5, 0, tzinfo=UTC)
    assert parse_retry_after(format_datetime(later, usegmt=True), now) == pytest.approx(300.0)
    assert parse_retry_after("Fri, 01 May 2026 12:05:00 -0000", now) == pytest.approx(300.0)


def test_retry_after_date_in_the_past_means_now() -> None:
    assert parse_retry_after("Thu, 01 Jan 2015 00:00:00 GMT", now=2e9) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5", "12 seconds", "Mon, 99 Foo 2020"])
def test_retry_after_garbage_is_ignored(value: str | None) -> None:
    assert parse_retry_after(value, now=1000.0) is None


def test_retry_after_lengthens_but_never_shortens_the_backoff() -> None:
    assert honoured_delay(30.0, None) == 30.0
    assert honoured_delay(30.0, 5.0) == 30.0
    assert honoured_delay(30.0, 600.0) == 600.0


def test_retry_after_is_capped() -> None:
    assert RETRY_AFTER_CAP == 6 * 3600
    assert honoured_delay(30.0, 10 * DAY) == RETRY_AFTER_CAP
    assert honoured_delay(30.0, float(parse_retry_after("99999999999", 0.0) or 0)) == RETRY_AFTER_CAP
    # The backoff itself may exceed the cap late in the schedule; the cap limits only the header.
    assert honoured_delay(10 * 3600.0, 7 * 3600.0) == 10 * 3600.0


def test_retry_becomes_final_when_attempts_run_out() -> None:
    assert settle("retry", failures=15, max_attempts=16) == "retry"
    assert settle("retry", failures=16, max_attempts=16) == "final"
    assert settle("delivered", failures=16, max_attempts=16) == "delivered"
    assert settle("final", failures=1, max_attempts=16) == "final"


def test_lifecycle_table() -> None:
    assert transition("pending", "delivered") == "delivered"
    assert transition("pending", "retry") == "pending"
    assert transition("pending", "final") == "dead"


@pytest.mark.parametrize("state", ["delivered", "dead"])
@pytest.mark.parametrize("outcome", ["delivered", "retry", "final"])
def test_terminal_states_refuse_every_move(state: JobState, outcome: Outcome) -> None:
    with pytest.raises(DeliveryStateError):
        transition(state, outcome)
