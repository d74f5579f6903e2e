"""Open-loop traffic: requests sent at their scheduled times whatever came of earlier ones, and
their latencies measured from those times (bench/soak.py).

A closed-loop client slows down with the server it measures, hiding how late the server got; an
open-loop one keeps to the schedule, so a server that falls behind shows it in the latencies.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field

from lean_http import OpenLoopClient


@dataclass(frozen=True, slots=True)
class Event:
    """One request of the schedule, ready to write."""

    at: float  # seconds after the start
    kind: str
    raw: bytes


@dataclass
class Stats:
    """Latencies by kind (seconds from the scheduled time to the answer) and errors by kind and cause."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    windows: dict[int, list[float]] = field(default_factory=dict)  # latencies by minute of the schedule

    def timeline(self) -> str:
        """p99 per minute of the schedule: a node that degrades over the run shows it here."""
        return ", ".join(f"{1000 * percentile(sorted(values), 0.99):.0f}"
                         for _, values in sorted(self.windows.items()))

    def line(self, kind: str, seconds: float) -> str:
        values = sorted(self.latencies.get(kind, []))
        errors = sum(count for name, count in self.errors.items() if kind in ("all", name.split(":")[0]))
        if not values:
            return f"{kind:<11} no answers, {errors} errors"
        return (f"{kind:<11} {len(values):>7} answered  {len(values) / seconds:>7.1f}/s  "
                f"p50 {1000 * statistics.median(values):>6.1f} ms  "
                f"p99 {1000 * percentile(values, 0.99):>7.1f} ms  errors {errors}")


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def run_traffic(
    events: list[Event], client: OpenLoopClient, stats: Stats, start: float, expected: dict[str, int]
) -> None:
    """Send each event at its time (monotonic ``start`` + at), never waiting for an answer; a status
    other than ``expected[kind]`` counts as an error."""
    in_flight: set[asyncio.Task[None]] = set()

    async def fire(event: Event, scheduled: float) -> None:
        try:
            status = await client.send(event.raw)
        except (OSError, asyncio.IncompleteReadError) as error:
            stats.errors[f"{event.kind}: {type(error).__name__}"] += 1
            return
        latency = time.monotonic() - scheduled
        stats.latencies.setdefault(event.kind, []).append(latency)
        stats.windows.setdefault(int(event.at // 60), []).append(latency)
        if status != expected[event.kind]:
            stats.errors[f"{event.kind}: HTTP {status}"] += 1

    for event in events:
        delay = start + event.at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(fire(event, start + event.at))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    if in_flight:
        await asyncio.wait(in_flight, timeout=30)
