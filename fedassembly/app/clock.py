"""Timestamps as the wire wants them: RFC 3339 UTC with a Z."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def iso(at: float) -> str:
    """``at`` (seconds since the epoch) as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_iso() -> str:
    """The current time as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return iso(time.time())


def parse_iso(text: str) -> float:
    """An RFC 3339 timestamp (with Z or an offset) as seconds since the epoch; ValueError if bad."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("timestamp needs a time zone (Z or an offset)")
    return value.timestamp()
