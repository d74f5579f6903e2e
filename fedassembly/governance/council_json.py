"""Aggregates to and from JSON, for publishing at `/aggregate` and re-reading from a peer.

Weights are exact: an integer when whole, else the fraction's text ("241/3"), which only the
proportional rule produces. Shares are written the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any, TypeVar

from fedassembly.governance.councils import (
    REFUSED_REASONS,
    Aggregate,
    AggregateRow,
    CouncilRule,
    Counted,
    NotCounted,
    Position,
    rule_name_of,
)
from fedassembly.governance.errors import GovernanceError, InvalidAggregateError
from fedassembly.governance.tally import outcome_from_json, outcome_to_json

T = TypeVar("T")


def number_to_json(value: Fraction) -> int | str:
    """An exact weight: int when whole, else "numerator/denominator"."""
    return value.numerator if value.denominator == 1 else str(value)


def number_from_json(value: Any) -> Fraction:
    """Read `number_to_json`'s shape; floats are refused (they are not exact)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidAggregateError(f"{value!r} is not an exact number")
    try:
        return Fraction(value)
    except (ValueError, ZeroDivisionError):
        raise InvalidAggregateError(f"{value!r} is not an exact number") from None


def position_to_json(position: Position) -> dict[str, Any]:
    """`{member, decision, digest, rosterSize, outcome, tally: [{name, total}]}`."""
    return {
        "member": position.member,
        "decision": position.decision_id,
        "digest": position.digest,
        "rosterSize": position.roster_size,
        "outcome": outcome_to_json(position.outcome),
        "tally": [{"name": n, "total": number_to_json(w)} for n, w in position.tally],
    }


def position_from_json(data: Any) -> Position:
    """Read `position_to_json`'s shape."""
    obj = _object(data, "a position")
    return Position(
        member=_str(obj, "member"),
        decision_id=_str(obj, "decision"),
        digest=_str(obj, "digest"),
        roster_size=_int(obj, "rosterSize"),
        outcome=_outcome(obj.get("outcome")),
        tally=tuple(
            (_str(row, "name"), number_from_json(row.get("total")))
            for row in _list(obj, "tally", lambda r: _object(r, "a tally row"))
        ),
    )


def aggregate_to_json(aggregate: Aggregate) -> dict[str, Any]:
    """The aggregate's values: rule, options, rosterSize, positions, notCounted, tally, outcome."""
    rule: dict[str, Any] = {"name": aggregate.rule.name}
    if aggregate.rule.member_share is not None:
        rule["memberShare"] = number_to_json(aggregate.rule.member_share)
    if aggregate.rule.people_share is not None:
        rule["peopleShare"] = number_to_json(aggregate.rule.people_share)
    return {
        "rule": rule,
        "options": list(aggregate.options),
        "rosterSize": aggregate.roster_size,
        "positions": [
            {
                **position_to_json(c.position),
                "weight": number_to_json(c.weight),
                "split": [{"name": n, "weight": number_to_json(w)} for n, w in c.split],
            }
            for c in aggregate.counted
        ],
        "notCounted": [
            {"member": n.member, "rosterSize": n.roster_size, "reason": n.reason}
            for n in aggregate.not_counted
        ],
        "tally": [
            {"name": r.name, "members": r.members, "weight": number_to_json(r.weight)}
            for r in aggregate.tally
        ],
        "outcome": outcome_to_json(aggregate.outcome),
    }


def aggregate_from_json(data: Any) -> Aggregate:
    """Read `aggregate_to_json`'s shape; InvalidAggregateError names what is malformed."""
    obj = _object(data, "an aggregate")
    rule_obj = _object(obj.get("rule"), "a rule")
    try:
        rule = CouncilRule(
            rule_name_of(_str(rule_obj, "name")),
            _share(rule_obj.get("memberShare")),
            _share(rule_obj.get("peopleShare")),
        )
    except GovernanceError as error:
        raise InvalidAggregateError(error.reason) from None
    return Aggregate(
        rule=rule,
        options=tuple(_list(obj, "options", lambda o: _text(o, "an option"))),
        roster_size=_int(obj, "rosterSize"),
        counted=tuple(_list(obj, "positions", _counted)),
        not_counted=tuple(_list(obj, "notCounted", _not_counted)),
        tally=tuple(
            AggregateRow(_str(r, "name"), _int(r, "members"), number_from_json(r.get("weight")))
            for r in _list(obj, "tally", lambda r: _object(r, "a tally row"))
        ),
        outcome=_outcome(obj.get("outcome")),
    )


def _counted(data: Any) -> Counted:
    obj = _object(data, "a position")
    return Counted(
        position=position_from_json(obj),
        weight=number_from_json(obj.get("weight")),
        split=tuple(
            (_str(s, "name"), number_from_json(s.get("weight")))
            for s in _list(obj, "split", lambda s: _object(s, "a split"))
        ),
    )


def _not_counted(data: Any) -> NotCounted:
    obj = _object(data, "a member not counted")
    reason = obj.get("reason")
    if reason not in (*REFUSED_REASONS, "no_position"):
        raise InvalidAggregateError(f"unknown reason {reason!r}")
    return NotCounted(_str(obj, "member"), _int(obj, "rosterSize"), reason)


def _share(value: Any) -> Fraction | None:
    return None if value is None else number_from_json(value)


def _outcome(value: Any) -> Any:
    try:
        return outcome_from_json(value)
    except ValueError as error:
        raise InvalidAggregateError(str(error)) from None


def _object(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidAggregateError(f"{what} is a JSON object")
    return value


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidAggregateError(f"{what} is a string")
    return value


def _str(obj: Mapping[str, Any], key: str) -> str:
    return _text(obj.get(key), f'"{key}"')


def _int(obj: Mapping[str, Any], key: str) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidAggregateError(f'"{key}" is a non-negative integer')
    return value


def _list(obj: Mapping[str, Any], key: str, item: Callable[[Any], T]) -> list[T]:
    value = obj.get(key)
    if not isinstance(value, list):
        raise InvalidAggregateError(f'"{key}" is a list')
    return [item(element) for element in value]
