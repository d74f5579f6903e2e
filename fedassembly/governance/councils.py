"""Council aggregation: members' positions combined under the council's rule.

A member (an assembly, or a lower council) takes a position by deciding the council's
question. What it *supports* is its decided winner — for a yes/no question `yes` if it passed,
`no` if not — and nothing when it reached no decision (tie, no quorum, no majority): it is
counted as present, but abstains. The rules weigh members as follows:

- `majority`: one per member; `consensus`: one per member, and no member may support
  anything else than the winner (for yes/no: nobody says no);
- `weighted`: the roster size of the member's decision;
- `double_majority`: an option needs both a share of the members and a share of the people
  (roster sizes), each "more than half" by default or "at least" a configured fraction;
- `proportional`: the roster size split across options in proportion to the member's own
  tally, in exact fractions (a member whose tally is empty abstains).

Thresholds count supported options only (abstain, abstaining members do not), as in an
assembly. An aggregate keeps every counted position with the weight and split it was given,
so `recheck` can recompute it from those positions alone, and `position_from_aggregate` lets
it be counted in turn by a higher council.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from fedassembly.governance.errors import InvalidPositionError
from fedassembly.governance.model import YESNO_OPTIONS, MemberId, Outcome
from fedassembly.governance.tally import Result

RuleName = Literal["majority", "weighted", "double_majority", "consensus", "proportional"]
RULES: tuple[RuleName, ...] = (
    "majority",
    "weighted",
    "double_majority",
    "consensus",
    "proportional",
)


def rule_name_of(text: str) -> RuleName:
    """A council rule's name as a RuleName, or InvalidPositionError for an unknown one."""
    for name in RULES:
        if text == name:
            return name
    raise InvalidPositionError(f"unknown council rule {text!r}")


# Why a member's position is not counted; all but `no_position` come from the caller's
# verification of the position against the member's signed decision.
RefusedReason = Literal["late", "bad_proof", "digest_mismatch", "position_mismatch", "equivocation"]
NotCountedReason = Literal[
    "late", "bad_proof", "digest_mismatch", "position_mismatch", "equivocation", "no_position"
]
REFUSED_REASONS: tuple[RefusedReason, ...] = (
    "late",
    "bad_proof",
    "digest_mismatch",
    "position_mismatch",
    "equivocation",
)


@dataclass(frozen=True, slots=True)
class CouncilRule:
    """A council's rule; shares (double majority only) are "at least", None = more than half."""

    name: RuleName
    member_share: Fraction | None = None
    people_share: Fraction | None = None

    def __post_init__(self) -> None:
        if self.name not in RULES:
            raise InvalidPositionError(f"unknown council rule {self.name!r}")
        for share in (self.member_share, self.people_share):
            if share is None:
                continue
            if self.name != "double_majority":
                raise InvalidPositionError("only a double majority has shares")
            if not isinstance(share, Fraction) or not 0 < share <= 1:
                raise InvalidPositionError("a share is a fraction in (0, 1]")


@dataclass(frozen=True, slots=True)
class Position:
    """One member's decision on the question: its outcome and its tally (option → weight)."""

    member: MemberId
    decision_id: str
    digest: str
    roster_size: int
    outcome: Outcome
    tally: tuple[tuple[str, Fraction], ...]


@dataclass(frozen=True, slots=True)
class Counted:
    """A counted position, the weight it was given, and how that weight went to options."""

    position: Position
    weight: Fraction
    split: tuple[tuple[str, Fraction], ...]


@dataclass(frozen=True, slots=True)
class NotCounted:
    """A member whose position is not counted, and why."""

    member: MemberId
    roster_size: int
    reason: NotCountedReason


@dataclass(frozen=True, slots=True)
class AggregateRow:
    """Per option: how many counted members gave it weight, and the weight under the rule."""

    name: str
    members: int
    weight: Fraction


@dataclass(frozen=True, slots=True)
class Aggregate:
    """A council's result; `roster_size` is the people of all its members, counted or not."""

    rule: CouncilRule
    options: tuple[str, ...]
    roster_size: int
    counted: tuple[Counted, ...]
    not_counted: tuple[NotCounted, ...]
    tally: tuple[AggregateRow, ...]
    outcome: Outcome


def position_from_result(member: MemberId, decision_id: str, digest: str, result: Result) -> Position:
    """The position an assembly's decision takes: its outcome, roster size and option totals."""
    return Position(
        member,
        decision_id,
        digest,
        result.roster_size,
        result.outcome,
        tuple((row.name, Fraction(row.total)) for row in result.tally),
    )


def position_from_aggregate(
    member: MemberId, aggregate_id: str, digest: str, aggregate: Aggregate
) -> Position:
    """The position a council's aggregate takes in a higher council: councils nest."""
    return Position(
        member,
        aggregate_id,
        digest,
        aggregate.roster_size,
        aggregate.outcome,
        tuple((row.name, row.weight) for row in aggregate.tally),
    )


def aggregate(
    rule: CouncilRule,
    options: tuple[str, ...],
    members: Mapping[MemberId, int],
    positions: Iterable[Position],
    refused: Mapping[MemberId, RefusedReason] | None = None,
) -> Aggregate:
    """Count each member's position under the rule; members without one are `no_position`."""
    refused = refused or {}
    yesno = options == YESNO_OPTIONS
    by_member: dict[MemberId, Position] = {}
    for position in positions:
        _check_position(position, options, yesno)
        if position.member not in members:
            raise InvalidPositionError(f"{position.member} is not a member of the council")
        if position.member in by_member or position.member in refused:
            # Equivocation and refusals are the caller's findings; counting one of two
            # positions, or a refused one, would be a silent choice.
            raise InvalidPositionError(f"{position.member} has two positions, or a refused one")
        by_member[position.member] = position
    for member, reason in refused.items():
        if member not in members or reason not in REFUSED_REASONS:
            raise InvalidPositionError(f"cannot refuse {member} for {reason!r}")
    counted = tuple(_count(rule, options, yesno, by_member[m]) for m in sorted(by_member))
    not_counted = tuple(
        NotCounted(m, members[m], refused.get(m, "no_position"))
        for m in sorted(members)
        if m not in by_member
    )
    tally = tuple(
        AggregateRow(
            name,
            sum(1 for c in counted for option, w in c.split if option == name and w > 0),
            sum((w for c in counted for option, w in c.split if option == name), Fraction(0)),
        )
        for name in options
    )
    return Aggregate(
        rule=rule,
        options=options,
        roster_size=sum(c.position.roster_size for c in counted) + sum(n.roster_size for n in not_counted),
        counted=counted,
        not_counted=not_counted,
        tally=tally,
        outcome=_outcome(rule, options, yesno, tally),
    )


def recheck(aggregate_: Aggregate) -> bool:
    """True when recomputing the aggregate from its own counted positions gives it exactly."""
    members = {c.position.member: c.position.roster_size for c in aggregate_.counted}
    members.update((n.member, n.roster_size) for n in aggregate_.not_counted)
    refused: dict[MemberId, RefusedReason] = {
        n.member: n.reason for n in aggregate_.not_counted if n.reason != "no_position"
    }
    if len(members) != len(aggregate_.counted) + len(aggregate_.not_counted):
        return False  # a member listed twice
    try:
        again = aggregate(
            aggregate_.rule,
            aggregate_.options,
            members,
            (c.position for c in aggregate_.counted),
            refused,
        )
    except InvalidPositionError:
        return False
    return again == aggregate_


def _check_position(position: Position, options: tuple[str, ...], yesno: bool) -> None:
    where = f"the position of {position.member}"
    if isinstance(position.roster_size, bool) or position.roster_size < 0:
        raise InvalidPositionError(f"{where} has a negative roster size")
    outcome = position.outcome
    if any(w not in options for w in outcome.winners):
        raise InvalidPositionError(f"{where} names a winner that is not an option")
    if outcome.status == "decided" and len(outcome.winners) != 1:
        raise InvalidPositionError(f"{where} is decided but names {len(outcome.winners)} winners")
    if yesno and outcome.status == "decided" and outcome.passed is None:
        raise InvalidPositionError(f"{where} decides a yes/no question without saying passed")
    names = [name for name, _ in position.tally]
    if len(set(names)) != len(names) or any(name not in options for name in names):
        raise InvalidPositionError(f"{where} has a tally that does not match the options")
    if any(weight < 0 for _, weight in position.tally):
        raise InvalidPositionError(f"{where} has a negative tally")


def _support(position: Position, yesno: bool) -> str | None:
    """The option a position supports, or None when its member reached no decision."""
    outcome = position.outcome
    if outcome.status != "decided":
        return None
    if yesno:
        return "yes" if outcome.passed else "no"
    return outcome.winners[0]


def _count(rule: CouncilRule, options: tuple[str, ...], yesno: bool, position: Position) -> Counted:
    per_member = rule.name in ("majority", "consensus")
    weight = Fraction(1) if per_member else Fraction(position.roster_size)
    if rule.name == "proportional":
        totals = dict(position.tally)
        cast = sum(totals.values(), Fraction(0))
        split = (
            tuple((name, weight * totals[name] / cast) for name in options if totals.get(name, 0) > 0)
            if cast
            else ()
        )
        return Counted(position, weight, split)
    support = _support(position, yesno)
    return Counted(position, weight, () if support is None else ((support, weight),))


def _share_met(part: Fraction | int, whole: Fraction | int, share: Fraction | None) -> bool:
    if whole == 0:
        return False
    return 2 * part > whole if share is None else part >= share * whole


def _outcome(
    rule: CouncilRule, options: tuple[str, ...], yesno: bool, tally: tuple[AggregateRow, ...]
) -> Outcome:
    rows = [row for row in tally if not (yesno and row.name == "abstain")]
    members_cast = sum(row.members for row in rows)
    weight_cast = sum((row.weight for row in rows), Fraction(0))
    if weight_cast == 0 and members_cast == 0:
        return Outcome("no_majority", (), passed=False if yesno else None)
    if rule.name == "double_majority":
        passing = tuple(
            row.name
            for row in rows
            if _share_met(row.members, members_cast, rule.member_share)
            and _share_met(row.weight, weight_cast, rule.people_share)
        )
    elif rule.name == "consensus":
        # Nobody may support anything else: one supported option at most.
        supported = tuple(row.name for row in rows if row.members > 0)
        passing = supported if len(supported) == 1 else ()
    else:
        passing = tuple(row.name for row in rows if 2 * row.weight > weight_cast)
    if yesno:
        passed = "yes" in passing
        return Outcome("decided", ("yes",) if passed else ("no",), passed=passed)
    if not passing:
        return Outcome("no_majority", ())
    return Outcome("decided" if len(passing) == 1 else "tie", passing)
