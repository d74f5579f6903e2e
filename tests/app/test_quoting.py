"""app.quoting: a reply quotes at most an excerpt of what it answers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from fedassembly.app.quoting import excerpt


def test_short_words_are_quoted_whole_and_long_ones_cut_with_an_ellipsis() -> None:
    assert excerpt("green", 80) == "green"
    assert excerpt("x" * 80, 80) == "x" * 80
    assert excerpt("x" * 81, 80) == "x" * 79 + "…"


@given(text=st.text(), limit=st.integers(1, 200))
def test_an_excerpt_is_never_longer_than_the_limit_and_starts_like_the_text(text: str, limit: int) -> None:
    quoted = excerpt(text, limit)
    assert len(quoted) <= limit
    assert quoted == text or (quoted.endswith("…") and text.startswith(quoted[:-1]))
