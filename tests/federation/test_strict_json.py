"""federation.strict_json: the one check of text at the edge, exact for every JSON value."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from federation.strict_json import BadText, loads

# Any code point, surrogates included: what a hostile \u escape can put in a str.
ANY_TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=12)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=12,
)


def keepable(value: Any) -> bool:
    """Whether a value holds no surrogate and no NaN or infinity: what loads must return intact."""
    if isinstance(value, str):
        return not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(keepable(v) for v in value)
    if isinstance(value, dict):
        return all(keepable(k) and keepable(v) for k, v in value.items())
    return True


@settings(derandomize=True, max_examples=400)
@given(VALUES, st.booleans())
def test_loads_returns_exactly_what_can_be_kept_and_refuses_the_rest(value: Any, ascii_only: bool) -> None:
    # Escaped (as Python writes JSON) and raw (as Mastodon and fedify do); surrogatepass makes
    # the raw form carry lone surrogates as bytes, which strict UTF-8 refuses.
    text = json.dumps(value, ensure_ascii=ascii_only)
    body = text.encode("utf-8", "surrogatepass")
    if keepable(value):
        assert loads(body) == value
    else:
        with pytest.raises(BadText):
            loads(body)


@pytest.mark.parametrize(
    "body",
    [
        b'{"type": "\\ud800"}',  # a lone high surrogate escape
        b'{"type": "\\uDC00x"}',  # a lone low one, upper case
        b'{"a": ["\\ud83d\\ud83d\\ude00"]}',  # a high one followed by a pair
        b'{"\\udfff": 1}',  # in a key
        b'{"a": "\\\\ud800\\udc00"}',  # an escaped backslash, then a lone low escape
        b'{"a": "\xed\xa0\x80"}',  # a surrogate encoded in UTF-8 (json.loads lets it through)
        b'{"a": "\xff"}',  # not UTF-8 at all
        '{"a": 1}'.encode("utf-16"),  # UTF-16, which json.loads would guess
        b'{"a": NaN}',
        b'{"a": -Infinity}',
    ],
)
def test_hostile_text_is_refused(body: bytes) -> None:
    with pytest.raises(BadText):
        loads(body)


@pytest.mark.parametrize(
    ("body", "value"),
    [
        (b'{"a": "\\ud83d\\ude00"}', {"a": "\U0001f600"}),  # an escaped pair is one character
        (b'{"a": "\\\\ud800"}', {"a": "\\ud800"}),  # an escaped backslash: no escape at all
        ('{"a": "ñandú 🎨"}'.encode(), {"a": "ñandú 🎨"}),
        (b'{"a": 1e308, "b": "\\u0000"}', {"a": 1e308, "b": "\x00"}),
    ],
)
def test_good_text_is_kept(body: bytes, value: Any) -> None:
    assert loads(body) == value


def test_what_is_not_json_stays_a_plain_value_error() -> None:
    for body in (b"", b"{", b'{"a": 1} x', b"[" * 100_000):
        with pytest.raises((ValueError, RecursionError)) as caught:
            loads(body)
        assert not isinstance(caught.value, BadText)
