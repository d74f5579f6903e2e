"""JSON bodies from the network, checked once at the edge: UTF-8 text, no lone surrogates, no NaN.

Python's ``json`` accepts more than JSON text (RFC 8259) and more than we can keep. On bytes it
decodes with ``surrogatepass`` (a surrogate encoded in UTF-8 gets through) and guesses UTF-16
and UTF-32; a ``\\ud800`` escape without its pair becomes a lone surrogate in a ``str``, which
every later ``encode`` refuses (SQLite binding a parameter, a reply, a signature); ``NaN`` and
``Infinity`` are read as floats that canonical JSON refuses. Each would fail far from here, in
the middle of a write or an answer, so a body carrying one is refused before anything reads it.

Cost on the inbox's hot path: the strict decode is one pass in C (it replaces the one
``json.loads`` makes), and the surrogate check is two substring searches unless the text holds a
``\\uD8``–``\\uDF`` escape; then one regular expression, and the values are walked only when it
finds a lone one or the text escapes a backslash.
"""

from __future__ import annotations

import json
import re
from typing import Any, NoReturn

__all__ = ["BadText", "loads"]

# A surrogate escape, with the low one that pairs with it when it is a high one. Scanning left to
# right, every match without the pair is lone: a high one alone, or a low one no high one took.
# Exact unless the text escapes a backslash (then "\\ud800" is no escape at all): such text is
# checked value by value instead.
_SURROGATE_ESCAPE = re.compile(
    r"\\u[dD](?:[89abAB][0-9a-fA-F]{2}(\\u[dD][c-fC-F][0-9a-fA-F]{2})?|[c-fC-F][0-9a-fA-F]{2})"
)


class BadText(ValueError):
    """The body is not JSON text we can keep: not UTF-8, a lone surrogate, NaN or Infinity."""


def _refuse_constant(name: str) -> NoReturn:
    raise BadText(f"{name} is not a JSON number")


# One decoder for every call: json.loads with an argument would build a new one each time.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def loads(body: bytes) -> Any:
    """The JSON value of ``body``: BadText for text we cannot keep, ValueError or RecursionError
    for what is not JSON at all."""
    try:
        text = body.decode("utf-8")  # strict: no surrogates, no invalid bytes, no UTF-16 guess
    except UnicodeDecodeError as error:
        raise BadText(f"not UTF-8 (byte {error.start})") from error
    value = _DECODER.decode(text)
    if ("\\ud" in text or "\\uD" in text) and _may_have_lone_escape(text) and _has_lone_surrogate(value):
        raise BadText("a \\u escape is a lone surrogate")
    return value


def _may_have_lone_escape(text: str) -> bool:
    if "\\\\" in text:
        return True
    return any(match.group(1) is None for match in _SURROGATE_ESCAPE.finditer(text))


def _has_lone_surrogate(value: Any) -> bool:
    """Whether any string (key or value) holds a surrogate; strict UTF-8 text cannot, so only a
    lone escape made it (an escaped pair, as Python's json.dumps writes an emoji, is one character)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
