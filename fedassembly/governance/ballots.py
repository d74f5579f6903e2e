"""Ballots as values, their JSON shapes in the API (choice, choices, ranking, scores), the
rules a ballot must meet to count on its proposal, and what a poll vote makes of a ballot.

Every refusal is an InvalidBallotError with a code: `wrong_method` for a shape the proposal's
method does not take (whatever it holds), `unknown_option` for an option that is not one of the
proposal's (compared exactly, case-sensitive), `invalid` for the rest (malformed JSON, an option
ranked twice, a score out of range).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from fedassembly.governance.errors import InvalidBallotError
from fedassembly.governance.model import MAX_SCORE, MIN_SCORE, Method, ProposalSpec


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

# Each JSON key in words, as a refusal names it.
_WORDS = {"choice": "one choice", "choices": "a set of choices", "ranking": "a ranking", "scores": "scores"}
# The key of each method's own shape, and the keys it reads: its own, and those that say the
# same thing in another shape (converted by `ballot_from_json`). `choices` on a single-choice
# or yes/no proposal is read so that a one-element list converts and a longer one is refused
# with its size.
_OWN_KEY: dict[Method, str] = {
    "single": "choice",
    "yesno": "choice",
    "approval": "choices",
    "ranked": "ranking",
    "score": "scores",
}
_READS: dict[Method, frozenset[str]] = {
    "single": frozenset({"choice", "choices"}),
    "yesno": frozenset({"choice", "choices"}),
    "approval": frozenset({"choice", "choices"}),
    "ranked": frozenset({"choice", "ranking"}),
    "score": frozenset({"scores"}),
}


def ballot_from_json(method: Method, data: Any) -> Ballot:
    """Read `{"choice"}`, `{"choices"}`, `{"ranking"}` or `{"scores"}` for a `method` proposal.

    A shape that says the same thing as the method's own is converted (one choice on an
    approval proposal, a one-element `choices` on a single-choice one, one choice as a
    first preference); a shape the method does not take is refused as `wrong_method` before
    its contents are read. Options are not checked against the proposal: `validate_ballot`
    does that.
    """
    if not isinstance(data, Mapping):
        raise InvalidBallotError("a ballot is a JSON object")
    keys = [key for key in _KEYS if key in data]
    if len(keys) != 1 or len(data) != 1:
        raise InvalidBallotError("a ballot has exactly one of the keys choice, choices, ranking, scores")
    key = keys[0]
    if key not in _READS[method]:
        raise _wrong_method(method, _WORDS[key])
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


def validate_ballot(spec: ProposalSpec, ballot: Ballot) -> None:
    """Refuse a ballot whose shape does not fit the method or that names an unknown option."""
    check_ballot(spec.method, spec.options, ballot)


def check_ballot(method: Method, options: Collection[str], ballot: Ballot) -> None:
    """`validate_ballot` given only the proposal's method and options.

    The shape comes first: a ballot the method does not take is `wrong_method` whatever it
    names. Then each option in turn: `unknown_option` for one not among `options`, `invalid`
    for one ranked or scored twice or a score outside MIN_SCORE..MAX_SCORE.
    """
    if isinstance(ballot, Choices) and method in ("single", "yesno") and len(ballot.options) != 1:
        count = len(ballot.options)
        raise InvalidBallotError(f"a {method} proposal takes exactly one choice, not {count}", "wrong_method")
    expected = {
        "single": Choice,
        "yesno": Choice,
        "approval": Choices,
        "ranked": Ranking,
        "score": Scores,
    }[method]
    if not isinstance(ballot, expected):
        raise _wrong_method(method, _describe(ballot))
    known = options if isinstance(options, frozenset | set) else frozenset(options)
    if isinstance(ballot, Choice):
        _check_known(ballot.option, known)
    elif isinstance(ballot, Choices):
        for option in sorted(ballot.options):
            _check_known(option, known)
    elif isinstance(ballot, Ranking):
        seen: set[str] = set()
        for option in ballot.order:
            _check_known(option, known)
            if option in seen:
                raise InvalidBallotError(f"option {option!r} is ranked twice")
            seen.add(option)
    else:
        seen = set()
        for option, score in ballot.scores:
            _check_known(option, known)
            if option in seen:
                raise InvalidBallotError(f"option {option!r} is scored twice")
            seen.add(option)
            if isinstance(score, bool) or not isinstance(score, int):
                raise InvalidBallotError(f"the score of {option!r} is not an integer")
            if not MIN_SCORE <= score <= MAX_SCORE:
                raise InvalidBallotError(
                    f"the score of {option!r} is {score}, outside {MIN_SCORE}..{MAX_SCORE}"
                )


def poll_vote(
    method: Method, options: Collection[str], previous: Ballot | None, option: str
) -> Ballot | None:
    """The voter's ballot after one poll vote — a Note naming one option, as Mastodon sends
    one per chosen option — or None when it changes nothing (the result equals `previous`).

    Single choice and yes/no: the option replaces the choice. Approval: the option is added
    to the approvals in `previous` (the same option again changes nothing). Ranked: the option
    becomes the only, first preference, replacing the earlier ballot (a poll cannot rank).
    Score: refused as `wrong_method`, whatever the option (a poll cannot send scores); then an
    option not among `options`, compared exactly, is refused as `unknown_option`.
    """
    data: dict[str, Any]
    if method == "approval" and isinstance(previous, Choices):
        data = {"choices": [*previous.options, option]}
    else:
        data = {"choice": option}
    ballot = ballot_from_json(method, data)
    check_ballot(method, options, ballot)
    return None if ballot == previous else ballot


def _wrong_method(method: Method, given: str) -> InvalidBallotError:
    article = "an" if method == "approval" else "a"
    takes = _WORDS[_OWN_KEY[method]]
    return InvalidBallotError(f"{article} {method} proposal takes {takes}, not {given}", "wrong_method")


def _check_known(option: str, known: Collection[str]) -> None:
    if option not in known:
        raise InvalidBallotError(f"unknown option {option!r}", "unknown_option")


def _describe(ballot: object) -> str:
    for kind, key in ((Choice, "choice"), (Choices, "choices"), (Ranking, "ranking"), (Scores, "scores")):
        if isinstance(ballot, kind):
            return _WORDS[key]
    return f"a {type(ballot).__name__}"


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
