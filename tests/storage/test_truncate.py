"""storage.truncate: bounded copies of what others send, still readable."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.truncate import bounded_json, cut_text

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=40,
)


def test_text_that_fits_is_kept_whole_and_longer_text_is_cut_between_characters() -> None:
    assert cut_text("héllo", 6) == "héllo"
    assert cut_text("héllo", 2) == "h"  # "é" is two bytes: not cut in half
    assert cut_text("héllo", 3) == "hé"
    assert cut_text("x" * 10_000, 4096) == "x" * 4096


@given(text=st.text(), max_bytes=st.integers(0, 64))
def test_cut_text_is_a_prefix_within_the_limit(text: str, max_bytes: int) -> None:
    cut = cut_text(text, max_bytes)
    assert text.startswith(cut) and len(cut.encode()) <= max_bytes
    assert len(cut.encode()) >= min(len(text.encode()), max_bytes) - 3  # at most part of one character


def test_a_document_that_fits_is_kept_as_it_is() -> None:
    note = {"type": "Note", "name": "green"}
    assert json.loads(bounded_json(note, 256)) == note


def test_a_long_document_keeps_its_length_and_its_beginning() -> None:
    note = {"type": "Note", "name": "\"quoted\" \\ " * 100_000}
    stored = bounded_json(note, 4096)
    assert len(stored.encode()) <= 4096
    kept = json.loads(stored)
    assert kept["truncated_from_bytes"] == len(json.dumps(note))
    assert json.dumps(note).startswith(kept["excerpt"]) and len(kept["excerpt"]) > 1000


@given(value=JSON, max_bytes=st.integers(256, 2048))
def test_bounded_json_always_fits_and_reads_back(value: Any, max_bytes: int) -> None:
    stored = bounded_json(value, max_bytes)
    assert len(stored.encode()) <= max_bytes
    kept = json.loads(stored)
    if len(json.dumps(value)) <= max_bytes:
        assert kept == value
    else:
        assert json.dumps(value).startswith(kept["excerpt"])


def test_a_limit_too_small_for_the_marker_is_an_error() -> None:
    with pytest.raises(ValueError):
        bounded_json({"name": "x" * 100}, 20)
