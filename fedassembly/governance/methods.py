"""The counting methods on grouped ballots: rows per option, then the method's outcome.

Ballots arrive grouped: each distinct ballot with the number of its direct voters and the
total weight they cast (their own plus what was delegated to them). Rows say, per option:

- single, yes/no: the weight choosing it;
- approval: the weight approving it;
- ranked: the first-preference weight (what Mastodon shows); the outcome is Schulze's;
- score: the sum of scores times weight.

`direct` counts each voter's own weight, `delegated` the weight they carried, `total` both.

Outcomes: single choice, approval and score are won by the highest total (equal highest totals
tie; single choice under `majority` needs more than half of the weight cast, else
`no_majority`); yes/no passes by its threshold on yes and no alone, never a tie; ranked is won
by Schulze's unbeaten options (several tie), and with a status quo a winner must also beat it
head to head.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from fedassembly.governance.ballots import Ballot, Choice, Choices, Ranking
from fedassembly.governance.model import STATUS_QUO_OPTION, Outcome, ProposalSpec, TallyRow
from fedassembly.governance.schulze import SchulzeResult, beats_head_to_head, schulze

# (ballot, number of direct voters who cast it, total weight they carried)
Group = tuple[Ballot, int, int]


@dataclass(frozen=True, slots=True)
class MethodResult:
    """Rows per option, the outcome before quorum, and the Schulze working for ranked."""

    rows: tuple[TallyRow, ...]
    outcome: Outcome
    schulze: SchulzeResult | None = None


def count_rows(spec: ProposalSpec, groups: Iterable[Group]) -> tuple[TallyRow, ...]:
    """Per-option rows (name, direct, delegated, total) as the module docstring defines them."""
    direct = dict.fromkeys(spec.options, 0)
    total = dict.fromkeys(spec.options, 0)
    for ballot, voters, weight in groups:
        if isinstance(ballot, Choice):
            direct[ballot.option] += voters
            total[ballot.option] += weight
        elif isinstance(ballot, Choices):
            for option in ballot.options:
                direct[option] += voters
                total[option] += weight
        elif isinstance(ballot, Ranking):
            if ballot.order:
                first = ballot.order[0]
                direct[first] += voters
                total[first] += weight
        else:
            for option, score in ballot.scores:
                direct[option] += score * voters
                total[option] += score * weight
    return tuple(
        TallyRow(name, direct[name], total[name] - direct[name], total[name]) for name in spec.options
    )


def count(spec: ProposalSpec, groups: Iterable[Group]) -> MethodResult:
    """Rows and the method's outcome (before quorum, which the caller applies)."""
    groups = list(groups)
    rows = count_rows(spec, groups)
    if spec.method == "yesno":
        return MethodResult(rows, _yesno(spec, rows))
    if spec.method == "ranked":
        result = schulze(
            spec.options,
            ((ballot.order, weight) for ballot, _, weight in groups if isinstance(ballot, Ranking)),
        )
        return MethodResult(rows, _ranked(spec, result), result)
    return MethodResult(rows, _highest(rows, spec.threshold == "majority"))


def _highest(rows: tuple[TallyRow, ...], need_majority: bool) -> Outcome:
    """The option with the highest total wins; equal highest totals are a tie, not a draw."""
    top = max(row.total for row in rows)
    if top == 0:
        # Nobody gave any option any weight (no ballots, empty approvals, all scores 0).
        return Outcome("no_majority", ())
    # "More than half of the weight cast" (single choice only, where each ballot names one
    # option, so the rows sum to the weight cast) can be met by one option at most.
    if need_majority and 2 * top <= sum(row.total for row in rows):
        return Outcome("no_majority", ())
    leaders = tuple(row.name for row in rows if row.total == top)
    return Outcome("decided" if len(leaders) == 1 else "tie", leaders)


def _yesno(spec: ProposalSpec, rows: tuple[TallyRow, ...]) -> Outcome:
    """Threshold on yes and no only (abstain counts for quorum); never a tie."""
    weights = {row.name: row.total for row in rows}
    yes, no = weights["yes"], weights["no"]
    if yes + no == 0:
        return Outcome("no_majority", (), passed=False)
    if spec.threshold == "majority":
        passed = yes > no
    elif spec.threshold == "two_thirds":
        passed = 3 * yes >= 2 * (yes + no)
    else:
        passed = no == 0 and yes >= 1
    return Outcome("decided", ("yes",) if passed else ("no",), passed=passed)


def _ranked(spec: ProposalSpec, result: SchulzeResult) -> Outcome:
    """Schulze's potential winners; with a status quo, a winner must also beat it head to head."""
    if not any(any(row) for row in result.d):
        return Outcome("no_majority", ())
    winners = result.winners
    if spec.status_quo:
        # An option that does not beat "keep things as they are" directly cannot replace it,
        # however it fares through paths; if none remains, things stay as they are.
        winners = tuple(
            option
            for option in winners
            if option == STATUS_QUO_OPTION or beats_head_to_head(result, option, STATUS_QUO_OPTION)
        ) or (STATUS_QUO_OPTION,)
    return Outcome("decided" if len(winners) == 1 else "tie", winners)
