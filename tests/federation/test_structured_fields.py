"""The RFC 8941 subset on its own: its own error, and round trips of what signatures serialize."""

from __future__ import annotations

import pytest

from federation.structured_fields import (
    Item,
    Parameters,
    StructuredFieldError,
    Token,
    parse_dictionary,
    serialize_inner_list,
)


def test_parses_inner_lists_items_and_parameters() -> None:
    parsed = parse_dictionary('sig1=("@method" "content-digest");created=1;keyid="k";alg=ed25519, d=:AAE=:')
    components, params = parsed["sig1"]
    assert components == [("@method", {}), ("content-digest", {})]
    assert params == {"created": 1, "keyid": "k", "alg": "ed25519"}
    assert isinstance(params["alg"], Token) and not isinstance(params["keyid"], Token)
    assert parsed["d"] == (b"\x00\x01", {})


def test_serializes_what_it_parses() -> None:
    items: list[Item] = [("@method", {}), ("@target-uri", {})]
    params: Parameters = {"created": 1, "keyid": 'a"b', "alg": Token("ed25519"), "f": 0.5}
    text = serialize_inner_list(items, params)
    assert text == '("@method" "@target-uri");created=1;keyid="a\\"b";alg=ed25519;f=0.5'
    assert parse_dictionary("x=" + text)["x"] == (items, params)


@pytest.mark.parametrize(
    "text", ['a=("x"', "a=1,", 'a="\\x"', "a=:!!:", "a=:AAE:", "a=?2", "A=1", 'a=("x")y']
)
def test_syntax_errors_are_its_own_error(text: str) -> None:
    with pytest.raises(StructuredFieldError):
        parse_dictionary(text)
    # A ValueError, not a signature refusal: callers decide what a malformed field means.
    assert issubclass(StructuredFieldError, ValueError)
