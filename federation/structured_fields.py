"""RFC 8941 structured fields, the subset HTTP message signatures use: parse a Dictionary,
serialize an Inner List with its parameters.

Knows nothing of signatures: every syntax error is a `StructuredFieldError`, which the caller
turns into its own refusal.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence


class StructuredFieldError(ValueError):
    """A structured field does not follow the RFC 8941 syntax (or the subset parsed here)."""


class Token(str):
    """An RFC 8941 token: serialized bare, unlike a string."""

    __slots__ = ()


# A bare item (Token is a str) and the shapes built from it.
Bare = int | float | str | bytes | bool
Parameters = dict[str, Bare]
Item = tuple[Bare, Parameters]
Member = tuple[Bare | list[Item], Parameters]

_KEY = re.compile(r"[a-z*][a-z0-9_.*-]*")
_TOKEN = re.compile(r"[A-Za-z*][0-9A-Za-z!#$%&'*+.^_`|~:/-]*")
_NUMBER = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,3})?")
_BYTES = re.compile(r":([A-Za-z0-9+/=]*):")


def parse_dictionary(text: str) -> dict[str, Member]:
    """Parse an RFC 8941 Dictionary: member name → (bare item or inner list, parameters)."""
    return _Parser(text).dictionary()


def serialize_inner_list(items: Sequence[Item], params: Mapping[str, Bare]) -> str:
    """Serialize an Inner List with its parameters, e.g. `("@method" "@target-uri");created=1`."""
    inner = " ".join(_serialize_bare(value) + _serialize_params(p) for value, p in items)
    return f"({inner}){_serialize_params(params)}"


class _Parser:
    """Parses one field value, left to right."""

    def __init__(self, text: str) -> None:
        self.text = text.strip(" ")
        self.pos = 0

    def dictionary(self) -> dict[str, Member]:
        result: dict[str, Member] = {}
        while self.pos < len(self.text):
            key = self._key()
            if self._peek() == "=":
                self.pos += 1
                result[key] = self._inner_list() if self._peek() == "(" else self._item()
            else:
                result[key] = (True, self._params())
            self._skip(" \t")
            if self.pos == len(self.text):
                break
            self._expect(",")
            self._skip(" \t")
            if self.pos == len(self.text):
                raise StructuredFieldError("structured field ends with a comma")
        return result

    def _inner_list(self) -> Member:
        self._expect("(")
        items: list[Item] = []
        while True:
            self._skip(" ")
            if self._peek() == ")":
                self.pos += 1
                return items, self._params()
            items.append(self._item())
            if self._peek() not in (" ", ")"):
                raise StructuredFieldError("malformed inner list in structured field")

    def _item(self) -> Item:
        return self._bare(), self._params()

    def _params(self) -> Parameters:
        params: Parameters = {}
        while self._peek() == ";":
            self.pos += 1
            self._skip(" ")
            key = self._key()
            if self._peek() == "=":
                self.pos += 1
                params[key] = self._bare()
            else:
                params[key] = True
        return params

    def _bare(self) -> Bare:
        char = self._peek()
        if char == '"':
            return self._string()
        if char == ":":
            match = _BYTES.match(self.text, self.pos)
            if match is None:
                raise StructuredFieldError("malformed byte sequence in structured field")
            self.pos = match.end()
            try:
                return base64.b64decode(match.group(1), validate=True)
            except (binascii.Error, ValueError) as exc:
                raise StructuredFieldError("byte sequence in structured field is not valid base64") from exc
        if char == "?":
            value = self.text[self.pos + 1 : self.pos + 2]
            if value not in ("0", "1"):
                raise StructuredFieldError("malformed boolean in structured field")
            self.pos += 2
            return value == "1"
        number = _NUMBER.match(self.text, self.pos)
        if number is not None:
            self.pos = number.end()
            text = number.group(0)
            return float(text) if number.group(1) else int(text)
        token = _TOKEN.match(self.text, self.pos)
        if token is not None:
            self.pos = token.end()
            return Token(token.group(0))
        raise StructuredFieldError(f"unexpected character at offset {self.pos} in structured field")

    def _string(self) -> str:
        self.pos += 1
        chars = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            self.pos += 1
            if char == "\\":
                escaped = self.text[self.pos : self.pos + 1]
                if escaped not in ('"', "\\"):
                    raise StructuredFieldError("invalid escape in structured-field string")
                chars.append(escaped)
                self.pos += 1
            elif char == '"':
                return "".join(chars)
            elif not " " <= char <= "~":
                raise StructuredFieldError("invalid character in structured-field string")
            else:
                chars.append(char)
        raise StructuredFieldError("unterminated structured-field string")

    def _key(self) -> str:
        match = _KEY.match(self.text, self.pos)
        if match is None:
            raise StructuredFieldError(f"expected a key at offset {self.pos} in structured field")
        self.pos = match.end()
        return match.group(0)

    def _peek(self) -> str:
        return self.text[self.pos : self.pos + 1]

    def _skip(self, chars: str) -> None:
        while self._peek() and self._peek() in chars:
            self.pos += 1

    def _expect(self, char: str) -> None:
        if self._peek() != char:
            raise StructuredFieldError(f"expected {char!r} at offset {self.pos} in structured field")
        self.pos += 1


def _serialize_params(params: Mapping[str, Bare]) -> str:
    return "".join(
        f";{key}" if value is True else f";{key}={_serialize_bare(value)}"
        for key, value in params.items()
    )


def _serialize_bare(value: Bare) -> str:
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = f"{value:.3f}".rstrip("0")
        return text + "0" if text.endswith(".") else text
    if isinstance(value, bytes):
        return ":" + base64.b64encode(value).decode("ascii") + ":"
    if isinstance(value, Token):
        return str(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
