"""The writer's batch: the units and appended rows one COMMIT makes durable (see ``storage.db``)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from storage.errors import StorageError


@dataclass(slots=True)
class Batch:
    done: asyncio.Future[None]
    appends: list[tuple[str, tuple[Any, ...]]]
    task: asyncio.Task[None] | None = None
    # Drained units' futures and results, answered when the commit is durable.
    results: list[tuple[asyncio.Future[Any], Any]] = field(default_factory=list)
    # Appended rows that could not be written, by their index in ``appends``.
    failed_appends: dict[int, Exception] = field(default_factory=dict)
    # Set when SQLite rolled the whole transaction back: nothing of this batch is committed.
    lost: StorageError | None = None


def grouped_appends(appends: list[tuple[str, tuple[Any, ...]]]) -> dict[str, list[int]]:
    """The indexes of the appended rows, by statement (one ``executemany`` each)."""
    groups: dict[str, list[int]] = {}
    for index, (sql, _params) in enumerate(appends):
        groups.setdefault(sql, []).append(index)
    return groups


def ends_the_drain(error: BaseException) -> bool:
    """Whether an error raised inside a unit stops the writer rather than only failing the unit:
    the process is exiting, or the drain task itself is being cancelled (shutdown)."""
    if isinstance(error, KeyboardInterrupt | SystemExit):
        return True
    if isinstance(error, asyncio.CancelledError):
        task = asyncio.current_task()
        return task is not None and task.cancelling() > 0
    return False
