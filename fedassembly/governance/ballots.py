"""Ballots as values, and their JSON shapes in the API: choice, choices, ranking, scores."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fedassembly.governance.errors import InvalidBallotError
from fedassembly.governance.model import Method


@dataclass(frozen=True, slots=True)
class Choice:
    """One option: a single-choice or yes/no ballot."""

    option: str


@dataclass(frozen=True, slots=True)
class Choices:
    """A set of approved options: an approval ballot (possibly empty: present, approving none)."""

    options: frozenset[str]


@dataclass(frozen=True, slots=True)
class Ranking:
    """Options from most to least preferred; unranked options tie below every ranked one."""

    order: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Scores:
    """(option, score) pairs sorted by option; an omitted option scores 0."""

    scores: tuple[tuple[str, int], ...]

    @classmethod
    def of(cls, scores: Mapping[str, int]) -> Scores:
        """Build from a mapping, sorted so that equal ballots compare and hash equal."""
        return cls(tuple(sorted(scores.items())))


Ballot = Choice | Choices | Ranking | Scores

_KEYS = ("choice", "choices", "ranking", "scores")


def ballot_from_json(method: Method, data: Any) -> Ballot:
    """Read `{"choice"}`, `{"choices"}`, `{"ranking"}` or `{"scores"}`; shapes only, no options.

    A shape that says the same thing as the method's own is converted (one choice on an
    approval proposal, a one-element `choices` on a single-choice one, one choice as a
    first preference); any other mismatch is kept for `validate_ballot` to refuse by name.
    """
    if not isinstance(data, Mapping):
        raise InvalidBallotError("a ballot is a JSON object")
    keys = [key for key in _KEYS if key in data]
    if len(keys) != 1 or len(data) != 1:
        raise InvalidBallotError("a ballot has exactly one of the keys choice, choices, ranking, scores")
    key = keys[0]
    value = data[key]
    if key == "choice":
        option = _option(value)
        if method == "approval":
            return Choices(frozenset((option,)))
        if method == "ranked":
            return Ranking((option,))
        return Choice(option)
    if key == "choices":
        options = _options(value, "choices")
        if method in ("single", "yesno") and len(options) == 1:
            return Choice(options[0])
        # A repeated approval says the same thing twice (as a repeated Mastodon vote does).
        return Choices(frozenset(options))
    if key == "ranking":
        return Ranking(tuple(_options(value, "ranking")))
    if not isinstance(value, Mapping):
        raise InvalidBallotError('"scores" is an object of option names to integers')
    for option, score in value.items():
        _option(option)
        # bool is an int in Python but never a score in JSON.
        if isinstance(score, bool) or not isinstance(score, int):
            raise InvalidBallotError(f"the score of {option!r} is not an integer")
    return Scores.of(value)


def ballot_to_json(ballot: Ballot) -> dict[str, Any]:
    """The API's JSON shape of a ballot; approvals sorted so equal ballots give equal JSON."""
    if isinstance(ballot, Choice):
        return {"choice": ballot.option}
    if isinstance(ballot, Choices):
        return {"choices": sorted(ballot.options)}
    if isinstance(ballot, Ranking):
        return {"ranking": list(ballot.order)}
    return {"scores": dict(ballot.scores)}


def _option(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidBallotError("an option is named by its text, a string")
    return value


def _options(value: Any, key: str) -> list[str]:
    if not isinstance(value, list):
        raise InvalidBallotError(f'"{key}" is a list of option names')
    return [_option(item) for item in value]
