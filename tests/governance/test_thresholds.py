"""Methods, thresholds and quorum through `decide`, on edge cases worked out by hand."""

from __future__ import annotations

from fractions import Fraction

import pytest

from fedassembly.governance.ballots import Ballot, Choice, Choices, Scores
from fedassembly.governance.delegation import Delegation
from fedassembly.governance.errors import InvalidBallotError
from fedassembly.governance.model import Outcome, TallyRow
from fedassembly.governance.tally import decide, live_counts, result_to_json
from fedassembly.governance.validation import validate_proposal


def yesno_ballots(yes: int, no: int, abstain: int = 0) -> dict[str, Ballot]:
    votes = ["yes"] * yes + ["no"] * no + ["abstain"] * abstain
    return {f"m{i}": Choice(v) for i, v in enumerate(votes)}


def run_yesno(
    threshold: str,
    yes: int,
    no: int,
    abstain: int = 0,
    roster: int | None = None,
    quorum: Fraction = Fraction(0),
):
    spec = validate_proposal("t", None, "yesno", threshold, quorum)
    ballots = yesno_ballots(yes, no, abstain)
    members = [f"m{i}" for i in range(roster if roster is not None else len(ballots))]
    return decide(spec, members, (), ballots, "p")


@pytest.mark.parametrize(
    ("threshold", "yes", "no", "abstain", "passed"),
    [
        ("majority", 5, 5, 0, False),  # exactly half: yes must exceed no
        ("majority", 6, 5, 9, True),  # abstentions do not count against
        ("two_thirds", 2, 1, 0, True),  # exactly two thirds: 3·2 ≥ 2·3
        ("two_thirds", 20, 11, 0, False),  # just under: 60 < 62
        ("two_thirds", 10, 5, 100, True),
        ("consensus", 30, 1, 0, False),  # one no blocks consensus
        ("consensus", 1, 0, 40, True),  # one yes and nobody against
    ],
)
def test_yesno_thresholds(threshold, yes, no, abstain, passed) -> None:
    result = run_yesno(threshold, yes, no, abstain)
    assert result.outcome == Outcome("decided", ("yes",) if passed else ("no",), passed)


@pytest.mark.parametrize("threshold", ["majority", "two_thirds", "consensus"])
def test_all_abstain_never_passes(threshold) -> None:
    """yes + no = 0 never passes, and a yes/no result is never a tie."""
    result = run_yesno(threshold, 0, 0, 7)
    assert result.outcome == Outcome("no_majority", (), passed=False)
    assert result.turnout == 7 and result.quorum_met


@pytest.mark.parametrize(
    ("quorum", "voters", "roster", "met"),
    [
        (Fraction(1, 2), 5, 10, True),  # exactly the quorum
        (Fraction(1, 2), 4, 10, False),
        (Fraction(1, 3), 1, 3, True),  # 1 ≥ 1/3·3 exactly, no float rounding
        (Fraction(1, 3), 33, 100, False),  # 33 < 33.33…
        (Fraction(1), 10, 10, True),
        (Fraction(1), 9, 10, False),
        (Fraction(0), 0, 10, True),
    ],
)
def test_quorum_edges(quorum, voters, roster, met) -> None:
    result = run_yesno("majority", voters, 0, roster=roster, quorum=quorum)
    assert result.quorum_met is met
    if met:
        assert result.outcome.status == ("decided" if voters else "no_majority")
    else:
        assert result.outcome == Outcome("no_quorum", (), passed=False)


def test_abstentions_and_delegated_weight_count_for_quorum() -> None:
    """Two abstainers, one yes carrying two delegators: turnout 5 of 8 meets a 5/8 quorum."""
    spec = validate_proposal("t", None, "yesno", "majority", Fraction(5, 8))
    members = [f"m{i}" for i in range(8)]
    ballots = {"m0": Choice("yes"), "m1": Choice("abstain"), "m2": Choice("abstain")}
    delegations = [Delegation("m3", "m0"), Delegation("m4", "m3"), Delegation("m5", "m9")]
    result = decide(spec, members, delegations, ballots, "p")
    assert (result.turnout, result.roster_size, result.quorum_met) == (5, 8, True)
    assert result.tally[0] == TallyRow("yes", 1, 2, 3)
    assert result.tally[2] == TallyRow("abstain", 2, 0, 2)
    # m5's weight goes to a non-member and is not counted; once m9 joins and votes, it is.
    assert result.delegation.reason["m5"] == "non_member"
    joined = decide(spec, [*members, "m9"], delegations, {**ballots, "m9": Choice("no")}, "p")
    assert (joined.turnout, joined.roster_size) == (7, 9)
    assert joined.tally[1] == TallyRow("no", 1, 1, 2)


def single(options=("a", "b", "c"), threshold=None):
    return validate_proposal("t", list(options), "single", threshold)


def choices(*votes: str) -> dict[str, Ballot]:
    return {f"m{i}": Choice(v) for i, v in enumerate(votes)}


def test_plurality_and_its_tie() -> None:
    ballots = choices("a", "a", "b", "c")
    assert decide(single(), ballots, (), ballots, "p").outcome == Outcome("decided", ("a",))
    ballots = choices("a", "a", "b", "b", "c")
    assert decide(single(), ballots, (), ballots, "p").outcome == Outcome("tie", ("a", "b"))


def test_single_majority_needs_more_than_half() -> None:
    ballots = choices("a", "a", "b", "c")  # exactly half
    spec = single(threshold="majority")
    assert decide(spec, ballots, (), ballots, "p").outcome == Outcome("no_majority", ())
    ballots = choices("a", "a", "a", "b", "c")
    assert decide(spec, ballots, (), ballots, "p").outcome == Outcome("decided", ("a",))


def test_no_ballots_is_no_majority() -> None:
    assert decide(single(), ["m0"], (), {}, "p").outcome == Outcome("no_majority", ())


def test_approval_counts_each_approval_with_full_weight() -> None:
    spec = validate_proposal("t", ["a", "b", "c"], "approval")
    ballots = {"m0": Choices(frozenset("ab")), "m1": Choices(frozenset("b")), "m2": Choices(frozenset())}
    result = decide(spec, ["m0", "m1", "m2", "m3"], [Delegation("m3", "m0")], ballots, "p")
    assert result.tally == (TallyRow("a", 1, 1, 2), TallyRow("b", 2, 1, 3), TallyRow("c", 0, 0, 0))
    assert result.outcome == Outcome("decided", ("b",))
    assert result.turnout == 4


def test_score_sums_scores_times_weight() -> None:
    spec = validate_proposal("t", ["a", "b"], "score")
    ballots = {"m0": Scores.of({"a": 5, "b": 1}), "m1": Scores.of({"b": 4}), "m2": Scores.of({"a": 0})}
    result = decide(spec, ["m0", "m1", "m2", "m3"], [Delegation("m3", "m1")], ballots, "p")
    assert result.tally == (TallyRow("a", 5, 0, 5), TallyRow("b", 5, 4, 9))
    assert result.outcome == Outcome("decided", ("b",))
    tied = {"m0": Scores.of({"a": 3}), "m1": Scores.of({"b": 3})}
    assert decide(spec, tied, (), tied, "p").outcome == Outcome("tie", ("a", "b"))


def test_ballots_off_the_roster_do_not_count() -> None:
    ballots = choices("a", "b", "b")
    result = decide(single(), ["m0", "m1"], (), ballots, "p")
    assert result.outcome == Outcome("tie", ("a", "b"))
    assert result.turnout == 2


def test_an_invalid_ballot_is_refused_with_its_voter() -> None:
    ballots = {"m0": Choice("a"), "m1": Choice("zzz")}
    with pytest.raises(InvalidBallotError, match="ballot of m1: unknown option 'zzz'"):
        decide(single(), ballots, (), ballots, "p")
    wrong: dict[str, Ballot] = {"m0": Choice("a"), "m1": Scores.of({"a": 1})}
    with pytest.raises(InvalidBallotError, match="ballot of m1: a single proposal takes one"):
        decide(single(), wrong, (), wrong, "p")


def test_result_json_has_exactly_the_decision_fields() -> None:
    spec = validate_proposal("t", None, "yesno", "two_thirds", Fraction(1, 2))
    ballots = {"a": Choice("yes"), "b": Choice("no")}
    result = decide(spec, ["a", "b", "c"], [Delegation("c", "a")], ballots, "p")
    assert result_to_json(result) == {
        "tally": [
            {"name": "yes", "direct": 1, "delegated": 1, "total": 2},
            {"name": "no", "direct": 1, "delegated": 0, "total": 1},
            {"name": "abstain", "direct": 0, "delegated": 0, "total": 0},
        ],
        "turnout": 3,
        "rosterSize": 3,
        "quorumMet": True,
        "outcome": {"status": "decided", "winners": ["yes"], "passed": True},
    }
    plural = decide(single(), ["a"], (), {"a": Choice("c")}, "p")
    assert "passed" not in result_to_json(plural)["outcome"]


def test_live_counts_match_decide() -> None:
    spec = single()
    ballots = choices("a", "b", "b")
    delegations = [Delegation("m3", "m0"), Delegation("m4", "m3")]
    members = [f"m{i}" for i in range(6)]
    live = live_counts(spec, members, delegations, ballots, "p")
    result = decide(spec, members, delegations, ballots, "p")
    assert live.tally == result.tally
    assert live.voters_count == result.turnout == 5
