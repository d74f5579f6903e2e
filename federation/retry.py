"""Pure delivery policies: what an answer means, when to try again, and a job's lifecycle.

Everything here works on plain values (status codes, header strings, seconds, a jitter drawn by
the caller), so the schedule can be tested exhaustively without a network or a clock.

Lifecycle of a delivery job, as a table: ``pending`` is the only live state; an attempt moves it
to ``delivered`` (the row is deleted), back to ``pending`` (rescheduled) or to ``dead`` (kept with
its last error). ``delivered`` and ``dead`` are terminal.
"""

from __future__ import annotations

from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Literal

Outcome = Literal["delivered", "retry", "final"]
JobState = Literal["pending", "delivered", "dead"]

# Mastodon honours Retry-After but never waits longer than a few hours for one answer; a hostile
# or confused server must not park our queue for days with one header.
RETRY_AFTER_CAP = 6 * 3600.0

# Mastodon treats these client errors as salvageable: 401 (key not fetched yet, clock skew),
# 408 (timeout) and 429 (rate limited). Every other 4xx will not change by retrying.
_RETRYABLE_4XX = frozenset({401, 408, 429})
# Answers that say the host itself is struggling; 401 is about our key, not the host's health.
_HOST_TROUBLE_4XX = frozenset({408, 429})

_TRANSITIONS: dict[tuple[JobState, Outcome], JobState] = {
    ("pending", "delivered"): "delivered",
    ("pending", "retry"): "pending",
    ("pending", "final"): "dead",
}


class DeliveryStateError(Exception):
    """A delivery job was asked to move out of a terminal state."""


def classify(status: int) -> Outcome:
    """2xx is delivered; 401, 408, 429, 5xx and anything unexpected retry; every other 4xx is final."""
    if 200 <= status < 300:
        return "delivered"
    if 400 <= status < 500 and status not in _RETRYABLE_4XX:
        return "final"
    return "retry"


def pauses_host(status: int | None) -> bool:
    """Whether a failed attempt (``None``: no answer at all) means the host should be left alone."""
    return status is None or status >= 500 or status in _HOST_TROUBLE_4XX


def retry_delay(attempt: int, first_retry_seconds: float, jitter: float) -> float:
    """Seconds before the next try after failure number ``attempt`` (0-based); ``jitter`` in [0, 1)."""
    # Polynomial like Mastodon's (count**4): 16 steps at 30 s span about three days; the ±20 %
    # jitter spreads the retries of one outage so a recovering host is not hit all at once.
    return first_retry_seconds * (1 + attempt**4 / 20) * (0.8 + 0.4 * jitter)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds a ``Retry-After`` value asks us to wait (delta-seconds or HTTP-date); None if unusable."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" parses as naive; HTTP dates are always GMT anyway
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def honoured_delay(backoff: float, retry_after: float | None) -> float:
    """The delay actually used: the backoff, or longer if the server asked (capped at RETRY_AFTER_CAP)."""
    if retry_after is None:
        return backoff
    return max(backoff, min(retry_after, RETRY_AFTER_CAP))


def settle(outcome: Outcome, failures: int, max_attempts: int) -> Outcome:
    """The outcome to record: a retry becomes final once ``failures`` reaches ``max_attempts``."""
    if outcome == "retry" and failures >= max_attempts:
        return "final"
    return outcome


def transition(state: JobState, outcome: Outcome) -> JobState:
    """A job's next state after an attempt's outcome; DeliveryStateError from a terminal state."""
    try:
        return _TRANSITIONS[(state, outcome)]
    except KeyError:
        raise DeliveryStateError(f"a {state} delivery cannot take outcome {outcome}") from None
