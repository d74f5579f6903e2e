"""A node's clock that a test steps: the wall clock plus an offset, never slept for."""

from __future__ import annotations

import time


class SteppedClock:
    """``time.time()`` plus ``offset`` seconds; ``step`` moves it forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def step(self, seconds: float) -> None:
        self.offset += seconds
