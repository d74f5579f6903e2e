"""The entry point: delegation, then the method, then quorum — one proposal's result.

`decide` is what a node runs at the close and what anyone who may read the ballots runs to
recount a decision; `live_counts` is the cheap part of it that a node publishes while a
proposal is open. Ballots from anyone off the roster are ignored (a member removed from the
roster stops counting), every distinct ballot is validated once against the proposal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from itertools import compress
from operator import attrgetter
from typing import Any

from fedassembly.governance.ballots import Ballot, Choice, Choices, Ranking, Scores, validate_ballot
from fedassembly.governance.delegation import Delegation, DelegationResult, resolve_delegation
from fedassembly.governance.errors import InvalidBallotError
from fedassembly.governance.methods import Group, count, count_rows
from fedassembly.governance.model import (
    MemberId,
    Outcome,
    ProposalId,
    ProposalSpec,
    Status,
    TallyRow,
)
from fedassembly.governance.schulze import SchulzeResult

_STATUSES: tuple[Status, ...] = ("decided", "tie", "no_quorum", "no_majority")


@dataclass(frozen=True, slots=True)
class Result:
    """A proposal's result: what its published decision states (tally, turnout, roster size,
    quorum met, outcome) plus the working behind it (delegation resolved, Schulze's relation)."""

    tally: tuple[TallyRow, ...]
    turnout: int
    roster_size: int
    quorum_met: bool
    outcome: Outcome
    delegation: DelegationResult
    schulze: SchulzeResult | None = None


@dataclass(frozen=True, slots=True)
class LiveCounts:
    """What an open proposal shows: per-option rows and how many members' weight is counted."""

    tally: tuple[TallyRow, ...]
    voters_count: int


def decide(
    spec: ProposalSpec,
    members: Collection[MemberId],
    delegations: Iterable[Delegation],
    ballots: Mapping[MemberId, Ballot],
    proposal_id: ProposalId,
) -> Result:
    """Resolve delegation, count with the proposal's method, then require the quorum."""
    roster = frozenset(members)
    delegation = resolve_delegation(roster, delegations, ballots.keys(), proposal_id, spec.area)
    counted = count(spec, _group(spec, ballots, delegation))
    turnout = delegation.counted
    quorum_met = quorum_is_met(spec, turnout, len(roster))
    outcome = counted.outcome
    if not quorum_met:
        outcome = Outcome("no_quorum", (), passed=False if spec.method == "yesno" else None)
    return Result(
        tally=counted.rows,
        turnout=turnout,
        roster_size=len(roster),
        quorum_met=quorum_met,
        outcome=outcome,
        delegation=delegation,
        schulze=counted.schulze,
    )


def live_counts(
    spec: ProposalSpec,
    members: Collection[MemberId],
    delegations: Iterable[Delegation],
    ballots: Mapping[MemberId, Ballot],
    proposal_id: ProposalId,
) -> LiveCounts:
    """Current rows and voters count, as `decide` would give them now, without the outcome."""
    roster = frozenset(members)
    delegation = resolve_delegation(roster, delegations, ballots.keys(), proposal_id, spec.area)
    return LiveCounts(count_rows(spec, _group(spec, ballots, delegation)), delegation.counted)


def quorum_is_met(spec: ProposalSpec, turnout: int, roster_size: int) -> bool:
    """turnout ≥ quorum × roster size, compared exactly in integers."""
    return turnout * spec.quorum.denominator >= spec.quorum.numerator * roster_size


# The one field of each ballot type: the key identical ballots are grouped by. Grouping by
# it rather than by the ballot keeps hashing and comparing in C (the dataclass's own
# __hash__/__eq__ are Python calls), which is most of the cost of a tally of a large roster.
_PAYLOAD = {
    "single": (Choice, attrgetter("option")),
    "yesno": (Choice, attrgetter("option")),
    "approval": (Choices, attrgetter("options")),
    "ranked": (Ranking, attrgetter("order")),
    "score": (Scores, attrgetter("scores")),
}


def _group(
    spec: ProposalSpec, ballots: Mapping[MemberId, Ballot], delegation: DelegationResult
) -> list[Group]:
    """Identical ballots merged with their voters and weight, each distinct ballot validated."""
    kind, payload = _PAYLOAD[spec.method]
    voters = delegation.voters
    try:
        # In the ballots' own order (sequential in memory, unlike the voter set), keeping
        # only the roster's voters. The payload attribute names differ between ballot types,
        # so a ballot of another type fails here and is refused below with its voter named.
        voters_per_payload = Counter(
            map(payload, compress(ballots.values(), map(voters.__contains__, ballots.keys())))
        )
    except AttributeError:
        voters_per_payload = Counter()
    weight_per_payload = Counter(voters_per_payload)
    for voter, carried in delegation.received.items():
        weight_per_payload[payload(ballots[voter])] += carried
    groups = [
        (kind(key), voters_count, weight_per_payload[key]) for key, voters_count in voters_per_payload.items()
    ]
    if sum(voters_per_payload.values()) != len(voters):
        _refuse_first_invalid(spec, ballots, voters)
    for ballot, _, _ in groups:
        try:
            validate_ballot(spec, ballot)
        except InvalidBallotError:
            _refuse_first_invalid(spec, ballots, voters)
    return groups


def _refuse_first_invalid(
    spec: ProposalSpec, ballots: Mapping[MemberId, Ballot], voters: Iterable[MemberId]
) -> None:
    for voter in sorted(voters):
        try:
            validate_ballot(spec, ballots[voter])
        except InvalidBallotError as error:
            raise InvalidBallotError(f"ballot of {voter}: {error.reason}", error.code) from None


def outcome_to_json(outcome: Outcome) -> dict[str, Any]:
    """`{status, winners}`, plus `passed` for a yes/no outcome."""
    data: dict[str, Any] = {"status": outcome.status, "winners": list(outcome.winners)}
    if outcome.passed is not None:
        data["passed"] = outcome.passed
    return data


def outcome_from_json(data: Any) -> Outcome:
    """Read `outcome_to_json`'s shape back, refusing anything else with ValueError."""
    if not isinstance(data, Mapping) or set(data) - {"status", "winners", "passed"}:
        raise ValueError("an outcome is {status, winners, passed?}")
    status, winners, passed = data.get("status"), data.get("winners"), data.get("passed")
    if status not in _STATUSES:
        raise ValueError(f"unknown outcome status {status!r}")
    if not isinstance(winners, list) or not all(isinstance(w, str) for w in winners):
        raise ValueError("outcome winners are a list of option names")
    if passed is not None and not isinstance(passed, bool):
        raise ValueError("outcome passed is true or false")
    return Outcome(status, tuple(winners), passed)


def result_to_json(result: Result) -> dict[str, Any]:
    """The values of the decision's `fa:tally`, `fa:turnout`, `fa:rosterSize`, `fa:quorumMet`,
    `fa:outcome`, keyed without the `fa:` prefix; rows as `methods` defines them."""
    return {
        "tally": [
            {"name": row.name, "direct": row.direct, "delegated": row.delegated, "total": row.total}
            for row in result.tally
        ],
        "turnout": result.turnout,
        "rosterSize": result.roster_size,
        "quorumMet": result.quorum_met,
        "outcome": outcome_to_json(result.outcome),
    }
