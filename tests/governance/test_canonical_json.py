"""canonical_json writes exactly rfc8785's bytes, on its fast path and off it."""

from __future__ import annotations

import random
from typing import Any

import pytest
import rfc8785

from fedassembly.governance.canonical import canonical_json

TRICKY = [
    {"choice": "sí \"quoted\" \\ back\nline\ttab\b\f\r\x00\x1f\x7f \u2028 \U0001f600"},
    {"b": 1, "a": [True, False, None, -(2**53 - 1), 2**53 - 1, ""], "": {}},
    {"\U0001f600": 1, "\ufb01": 2, "z": 3},  # UTF-16 order puts the emoji before U+FB01
    {"scores": {"ñandú": 3, "Äpfel": -2, "apple": 0}},
    {"n": 2**53},  # outside the safe range: rfc8785 refuses it
    {"f": 1.0, "g": 1e21, "h": 0.1},  # floats use ES formatting
    {"t": ("tuple", 1)},
    [],
    "plain",
]


def _same(value: Any) -> None:  # Any: also values rfc8785 refuses (its value type is private)
    try:
        expected = rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as error:
        with pytest.raises(type(error)):
            canonical_json(value)
    else:
        assert canonical_json(value) == expected


@pytest.mark.parametrize("value", TRICKY)
def test_tricky_values(value: object) -> None:
    _same(value)


def test_lone_surrogate_refused_like_rfc8785() -> None:
    with pytest.raises(rfc8785.CanonicalizationError):
        canonical_json({"choice": "\ud800"})


def _random_value(rng: random.Random, depth: int = 0) -> object:
    alphabet = "aZ0 \"\\\n\x01é€\ufb01\U0001f600\U00010000"
    text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(6)))
    kind = rng.randrange(7 if depth < 3 else 4)
    if kind == 0:
        return text
    if kind == 1:
        return rng.choice([0, -1, 2**53 - 1, rng.randrange(-(10**9), 10**9)])
    if kind == 2:
        return rng.choice([True, False, None])
    if kind == 3:
        return rng.choice([0.5, -0.0, 1e-7, 123456789.0])
    if kind in (4, 5):
        return {
            "".join(rng.choice(alphabet) for _ in range(rng.randrange(4))): _random_value(rng, depth + 1)
            for _ in range(rng.randrange(5))
        }
    return [_random_value(rng, depth + 1) for _ in range(rng.randrange(5))]


def test_random_documents_match_rfc8785() -> None:
    rng = random.Random(8785)
    for _ in range(3000):
        _same(_random_value(rng))
