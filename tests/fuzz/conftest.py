"""The fuzz folder's node: one per test module (hypothesis examples reuse it), see harness.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fuzz.harness import FuzzNode


@pytest.fixture(scope="module")
def fuzz_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzNode]:
    harness = FuzzNode(tmp_path_factory.mktemp("fuzz")).start()
    try:
        yield harness
        harness.run(harness.assert_sound())
    finally:
        harness.stop()
