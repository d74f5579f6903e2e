"""Council aggregation: each rule on a small confederation worked out by hand, then properties."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fedassembly.governance.ballots import Choice
from fedassembly.governance.council_json import aggregate_from_json, aggregate_to_json
from fedassembly.governance.councils import (
    Aggregate,
    CouncilRule,
    NotCounted,
    Position,
    aggregate,
    position_from_aggregate,
    position_from_result,
    recheck,
    rule_name_of,
)
from fedassembly.governance.errors import InvalidAggregateError, InvalidPositionError
from fedassembly.governance.model import YESNO_OPTIONS, Outcome
from fedassembly.governance.tally import decide
from fedassembly.governance.validation import validate_proposal

YES = Outcome("decided", ("yes",), True)
NO = Outcome("decided", ("no",), False)


def yesno_position(member: str, roster: int, outcome: Outcome, yes: int, no: int, abstain: int) -> Position:
    tally = (("yes", Fraction(yes)), ("no", Fraction(no)), ("abstain", Fraction(abstain)))
    return Position(member, f"https://{member}.example/decision", "ab" * 32, roster, outcome, tally)


# The confederation: A has 100 people, B 40, C 30, D 20, E 10 (E sends no position).
MEMBERS = {"A": 100, "B": 40, "C": 30, "D": 20, "E": 10}
POSITIONS = [
    yesno_position("A", 100, NO, 30, 60, 10),
    yesno_position("B", 40, YES, 25, 10, 5),
    yesno_position("C", 30, YES, 20, 8, 2),
    yesno_position("D", 20, YES, 12, 6, 2),
]


def council(rule: CouncilRule, positions=POSITIONS, refused=None) -> Aggregate:
    return aggregate(rule, YESNO_OPTIONS, MEMBERS, positions, refused)


def weights(agg: Aggregate) -> dict[str, Fraction]:
    return {row.name: row.weight for row in agg.tally}


def test_rule_name_of_reads_every_rule_and_refuses_others() -> None:
    for name in ("majority", "weighted", "double_majority", "consensus", "proportional"):
        assert rule_name_of(name) == name
    with pytest.raises(InvalidPositionError, match="unknown council rule 'Majority'"):
        rule_name_of("Majority")


def test_majority_of_members() -> None:
    """B, C, D say yes, A says no: 3 of 4 counted members; E is not counted (no position)."""
    agg = council(CouncilRule("majority"))
    assert agg.outcome == YES
    assert weights(agg) == {"yes": 3, "no": 1, "abstain": 0}
    assert agg.not_counted == (NotCounted("E", 10, "no_position"),)
    assert agg.roster_size == 200


def test_weighted_by_roster_size() -> None:
    """yes = 40 + 30 + 20 = 90 people, no = A's 100: the big assembly outweighs the rest."""
    agg = council(CouncilRule("weighted"))
    assert weights(agg)["yes"] == 90 and weights(agg)["no"] == 100
    assert agg.outcome == NO


def test_double_majority_fails_when_big_and_many_small_disagree() -> None:
    """Members: 3/4 say yes (more than half); people: 90/190 ≈ 47% say yes (not more than
    half). The many small assemblies and the big one disagree, so the question fails."""
    agg = council(CouncilRule("double_majority"))
    assert agg.outcome == NO
    assert [(r.name, r.members, r.weight) for r in agg.tally[:2]] == [("yes", 3, 90), ("no", 1, 100)]


def test_double_majority_with_configured_shares() -> None:
    """At least 55% of members (3/4 = 75%) and at least 45% of people (90/190 ≈ 47.4%) pass;
    at least 50% of people would not."""
    lenient = CouncilRule("double_majority", Fraction(55, 100), Fraction(45, 100))
    assert council(lenient).outcome == YES
    strict = CouncilRule("double_majority", Fraction(55, 100), Fraction(1, 2))
    assert council(strict).outcome == NO


def test_consensus_fails_with_one_member_opposed() -> None:
    """A opposes, so no consensus; without A (its position refused as late) B, C, D agree."""
    assert council(CouncilRule("consensus")).outcome == NO
    agg = council(CouncilRule("consensus"), POSITIONS[1:], {"A": "late"})
    assert agg.outcome == YES
    assert NotCounted("A", 100, "late") in agg.not_counted


def test_proportional_splits_each_roster_by_its_tally() -> None:
    """A: 100 × (30, 60, 10)/100 = 30 yes, 60 no, 10 abstain; B: 40 × (25, 10, 5)/40;
    C: 30 × (20, 8, 2)/30; D: 20 × (12, 6, 2)/20. yes = 30+25+20+12 = 87, no = 60+10+8+6 = 84,
    abstain = 19: 190 people conserved, and yes passes 87 to 84 where `weighted` failed."""
    agg = council(CouncilRule("proportional"))
    assert weights(agg) == {"yes": 87, "no": 84, "abstain": 19}
    assert agg.outcome == YES


def test_proportional_keeps_exact_fractions() -> None:
    """An assembly of 10 with a 1/1/1 tally gives 10/3 to each option, exactly."""
    position = yesno_position("B", 10, YES, 1, 1, 1)
    agg = aggregate(CouncilRule("proportional"), YESNO_OPTIONS, {"B": 10}, [position])
    assert agg.counted[0].split == (
        ("yes", Fraction(10, 3)),
        ("no", Fraction(10, 3)),
        ("abstain", Fraction(10, 3)),
    )
    assert agg.outcome == NO  # yes does not outweigh no
    assert aggregate_to_json(agg)["tally"][0]["weight"] == "10/3"


def test_plural_question() -> None:
    """Options north/south/park. A (100) north, B (40) south, C (30) north, D (20) tied
    (abstains). majority: north 2 of 3 deciding members. weighted: north 130 of 170.
    consensus: B disagrees, no majority."""
    options = ("north", "south", "park")

    def plural(member: str, roster: int, outcome: Outcome) -> Position:
        return Position(
            member, f"d/{member}", "00", roster, outcome, tuple((o, Fraction(1)) for o in options)
        )

    positions = [
        plural("A", 100, Outcome("decided", ("north",))),
        plural("B", 40, Outcome("decided", ("south",))),
        plural("C", 30, Outcome("decided", ("north",))),
        plural("D", 20, Outcome("tie", ("north", "park"))),
    ]
    majority = aggregate(CouncilRule("majority"), options, MEMBERS, positions)
    assert majority.outcome == Outcome("decided", ("north",))
    assert majority.counted[3].split == ()  # D abstains but is counted
    assert weights(aggregate(CouncilRule("weighted"), options, MEMBERS, positions))["north"] == 130
    assert aggregate(CouncilRule("consensus"), options, MEMBERS, positions).outcome == Outcome(
        "no_majority", ()
    )
    split = aggregate(CouncilRule("majority"), options, MEMBERS, positions[:2])
    assert split.outcome == Outcome("no_majority", ())  # one each: nobody has more than half


def test_councils_nest() -> None:
    """Two lower councils aggregate their assemblies; a higher council counts the aggregates
    as positions — roster sizes are the people each lower council represents."""
    spec = validate_proposal("t", None, "yesno")
    results = {
        name: decide(
            spec,
            [f"{name}{i}" for i in range(size)],
            (),
            {f"{name}{i}": Choice({"y": "yes", "n": "no"}[v]) for i, v in enumerate(votes)},
            "q",
        )
        for name, size, votes in [("a", 5, "yyynn"), ("b", 3, "nnn"), ("c", 4, "yy")]
    }
    positions = {n: position_from_result(n, f"d/{n}", "ff", r) for n, r in results.items()}
    north = aggregate(
        CouncilRule("weighted"), YESNO_OPTIONS, {"a": 5, "b": 3}, [positions["a"], positions["b"]]
    )
    south = aggregate(CouncilRule("weighted"), YESNO_OPTIONS, {"c": 4}, [positions["c"]])
    assert north.outcome == YES and south.outcome == YES
    top = aggregate(
        CouncilRule("weighted"),
        YESNO_OPTIONS,
        {"north": 8, "south": 4},
        [
            position_from_aggregate("north", "agg/n", "ee", north),
            position_from_aggregate("south", "agg/s", "ee", south),
        ],
    )
    assert top.roster_size == 12
    assert weights(top) == {"yes": 12, "no": 0, "abstain": 0}
    assert recheck(top) and recheck(north)


@pytest.mark.parametrize(
    ("positions", "refused", "message"),
    [
        ([yesno_position("Z", 1, YES, 1, 0, 0)], None, "Z is not a member"),
        ([POSITIONS[0], POSITIONS[0]], None, "A has two positions"),
        ([POSITIONS[0]], {"A": "late"}, "A has two positions, or a refused one"),
        ([], {"A": "bored"}, "cannot refuse A"),
        ([yesno_position("A", 1, Outcome("decided", ("yes",)), 1, 0, 0)], None, "without saying passed"),
        ([yesno_position("A", 1, Outcome("decided", ("maybe",), True), 1, 0, 0)], None, "not an option"),
    ],
)
def test_inconsistent_input_is_refused(positions, refused, message) -> None:
    with pytest.raises(InvalidPositionError, match=message):
        council(CouncilRule("majority"), positions, refused)


def test_malformed_aggregate_json_is_refused() -> None:
    data = aggregate_to_json(council(CouncilRule("proportional")))
    broken: object  # objects of the wrong shape, and a list
    for broken in (
        {**data, "rule": {"name": "anarchy"}},
        {**data, "rosterSize": -1},
        {**data, "tally": [{"name": "yes", "members": 1, "weight": 1.5}]},
        {**data, "notCounted": [{"member": "E", "rosterSize": 10, "reason": "sulking"}]},
        {**data, "outcome": {"status": "won"}},
        [],
    ):
        with pytest.raises(InvalidAggregateError):
            aggregate_from_json(broken)


# --- properties ---------------------------------------------------------------------------

RULES = [
    CouncilRule("majority"),
    CouncilRule("weighted"),
    CouncilRule("double_majority"),
    CouncilRule("double_majority", Fraction(55, 100), Fraction(65, 100)),
    CouncilRule("consensus"),
    CouncilRule("proportional"),
]
PLURAL = ("a", "b", "c")


@st.composite
def confederations(draw):
    options = draw(st.sampled_from([YESNO_OPTIONS, PLURAL]))
    n = draw(st.integers(1, 8))
    members = {f"g{i}": draw(st.integers(0, 60)) for i in range(n)}
    positions, refused = [], {}
    for member, size in members.items():
        fate = draw(st.sampled_from(["position", "position", "position", "none", "refused"]))
        if fate == "none":
            continue
        if fate == "refused":
            refused[member] = draw(
                st.sampled_from(["late", "bad_proof", "digest_mismatch", "position_mismatch", "equivocation"])
            )
            continue
        status = draw(st.sampled_from(["decided", "decided", "tie", "no_quorum", "no_majority"]))
        if status == "decided":
            winner = draw(st.sampled_from(options[:2] if options == YESNO_OPTIONS else options))
            passed = (winner == "yes") if options == YESNO_OPTIONS else None
            outcome = Outcome("decided", (winner,), passed)
        else:
            outcome = Outcome(status, (), False if options == YESNO_OPTIONS else None)
        tally = tuple((o, Fraction(draw(st.integers(0, 30)))) for o in options)
        positions.append(Position(member, f"d/{member}", "0f", size, outcome, tally))
    return draw(st.sampled_from(RULES)), options, members, positions, refused


@given(confederations())
def test_proportional_conserves_every_members_weight(confederation) -> None:
    _, options, members, positions, refused = confederation
    agg = aggregate(CouncilRule("proportional"), options, members, positions, refused)
    for counted in agg.counted:
        has_weight = any(w for _, w in counted.position.tally)
        split = sum((w for _, w in counted.split), Fraction(0))
        assert split == (counted.position.roster_size if has_weight else 0)
    total = sum((row.weight for row in agg.tally), Fraction(0))
    assert total == sum(c.position.roster_size for c in agg.counted if any(w for _, w in c.position.tally))


@given(confederations())
def test_every_member_is_counted_or_has_a_reason(confederation) -> None:
    rule, options, members, positions, refused = confederation
    agg = aggregate(rule, options, members, positions, refused)
    counted = [c.position.member for c in agg.counted]
    missing = {n.member: n.reason for n in agg.not_counted}
    assert sorted(counted + list(missing)) == sorted(members)
    assert {m: r for m, r in missing.items() if r != "no_position"} == refused
    assert agg.roster_size == sum(members.values())


@given(confederations())
def test_recheck_accepts_what_aggregate_made_and_json_round_trips(confederation) -> None:
    agg = aggregate(*confederation)
    assert recheck(agg)
    assert aggregate_from_json(aggregate_to_json(agg)) == agg


def altered_outcome(position: Position, options: tuple[str, ...]) -> Outcome:
    """An outcome supporting something else than `position` does."""
    outcome = position.outcome
    if options == YESNO_OPTIONS:
        if outcome.status != "decided":
            return YES
        return NO if outcome.passed else YES
    if outcome.status != "decided":
        return Outcome("decided", ("a",))
    return Outcome("tie", options) if outcome.winners == ("c",) else Outcome("decided", ("c",))


@given(confederations(), st.data())
def test_recheck_rejects_any_single_alteration(confederation, data) -> None:
    rule, options, members, positions, refused = confederation
    agg = aggregate(rule, options, members, positions, refused)
    if not agg.counted:
        return
    i = data.draw(st.integers(0, len(agg.counted) - 1))
    counted = agg.counted[i]
    position = counted.position
    choices = ["weight", "roster_size"]
    if rule.name == "proportional":
        # A split changes only if the member carries weight and its proportions change.
        if counted.weight > 0 and any(w for _, w in position.tally):
            choices.append("tally")
    else:
        choices.append("outcome")
    what = data.draw(st.sampled_from(choices))
    if what == "weight":
        changed = dataclasses.replace(counted, weight=counted.weight + 1)
    elif what == "roster_size":
        changed = dataclasses.replace(
            counted, position=dataclasses.replace(position, roster_size=position.roster_size + 1)
        )
    elif what == "tally":
        # Moving weight to an option its split did not give it changes the split (when every
        # option has some, adding to one of them changes the proportions).
        empty = [k for k, (_, w) in enumerate(position.tally) if w == 0]
        j = data.draw(st.sampled_from(empty) if empty else st.integers(0, len(position.tally) - 1))
        tally = tuple(
            (n, w + (1 if k == j else 0) * (sum(x for _, x in position.tally) + 1))
            for k, (n, w) in enumerate(position.tally)
        )
        changed = dataclasses.replace(counted, position=dataclasses.replace(position, tally=tally))
    else:
        changed = dataclasses.replace(
            counted, position=dataclasses.replace(position, outcome=altered_outcome(position, options))
        )
    forged = dataclasses.replace(agg, counted=(*agg.counted[:i], changed, *agg.counted[i + 1 :]))
    assert not recheck(forged)
