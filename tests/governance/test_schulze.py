"""Schulze on worked examples with known answers, and its defining properties."""

from __future__ import annotations

from fractions import Fraction
from itertools import pairwise, permutations

from hypothesis import given
from hypothesis import strategies as st

from fedassembly.governance.ballots import Ballot, Ranking
from fedassembly.governance.model import STATUS_QUO_OPTION, ProposalSpec
from fedassembly.governance.schulze import schulze, schulze_to_json
from fedassembly.governance.tally import decide

# Markus Schulze's published example (also Wikipedia's): 45 voters, candidates A–E.
SCHULZE_45 = [
    (5, "ACBED"),
    (5, "ADECB"),
    (8, "BEDAC"),
    (3, "CABED"),
    (7, "CAEBD"),
    (2, "CBADE"),
    (7, "DCEBA"),
    (8, "EBADC"),
]


def ranked_spec(options: str, status_quo: bool = False) -> ProposalSpec:
    names = tuple(options) + ((STATUS_QUO_OPTION,) if status_quo else ())
    return ProposalSpec(names, "ranked", "schulze", Fraction(0), None, status_quo)


def ballots_from(groups: list[tuple[int, str | tuple[str, ...]]]) -> dict[str, Ballot]:
    """One member per ballot, `count` members per ranking."""
    ballots: dict[str, Ballot] = {}
    for count, order in groups:
        for _ in range(count):
            ballots[f"m{len(ballots)}"] = Ranking(tuple(order))
    return ballots


def ranked_pairs_winner(options: str, d: dict[tuple[str, str], int]) -> str:
    """Tideman's Ranked Pairs: lock majorities strongest first unless they close a cycle."""
    wins = sorted(
        ((d[x, y], x, y) for x in options for y in options if x != y and d[x, y] > d[y, x]),
        reverse=True,
    )
    locked: set[tuple[str, str]] = set()

    def reaches(a: str, b: str) -> bool:
        return a == b or any(reaches(y, b) for (x, y) in locked if x == a)

    for _, x, y in wins:
        if not reaches(y, x):
            locked.add((x, y))
    return next(c for c in options if not any(y == c for (_, y) in locked))


def test_published_45_voter_example() -> None:
    """Winner E, ranking E > A > C > B > D, with the published d and p matrices."""
    ballots = ballots_from(SCHULZE_45)
    result = decide(ranked_spec("ABCDE"), ballots, (), ballots, "p")
    assert result.outcome.status == "decided"
    assert result.outcome.winners == ("E",)
    assert result.schulze is not None
    assert result.schulze.ranking == (("E",), ("A",), ("C",), ("B",), ("D",))
    assert result.schulze.d == (
        (0, 20, 26, 30, 22),
        (25, 0, 16, 33, 18),
        (19, 29, 0, 17, 24),
        (15, 12, 28, 0, 14),
        (23, 27, 21, 31, 0),
    )
    assert result.schulze.p == (
        (0, 28, 28, 30, 24),
        (25, 0, 28, 33, 24),
        (25, 29, 0, 29, 24),
        (25, 28, 28, 0, 24),
        (25, 28, 28, 31, 0),
    )
    # First preferences: A 10, B 8, C 12, D 7, E 8 — plurality would pick C.
    assert [row.total for row in result.tally] == [10, 8, 12, 7, 8]
    assert schulze_to_json(result.schulze)["ranking"] == [["E"], ["A"], ["C"], ["B"], ["D"]]


def test_ranked_pairs_disagrees_on_the_same_ballots() -> None:
    """Ranked Pairs picks A here, so the example tells Schulze from a look-alike method."""
    result = schulze("ABCDE", [(tuple(order), n) for n, order in SCHULZE_45])
    d = {(x, y): result.d[i][j] for i, x in enumerate("ABCDE") for j, y in enumerate("ABCDE")}
    assert ranked_pairs_winner("ABCDE", d) == "A"
    assert result.winners == ("E",)


def test_condorcet_winner_wins() -> None:
    """B beats A (5–4) and C (7–2) head to head though A has the most first preferences."""
    ballots = ballots_from([(4, "ABC"), (3, "BCA"), (2, "CBA")])
    result = decide(ranked_spec("ABC"), ballots, (), ballots, "p")
    assert result.outcome.winners == ("B",)
    assert result.tally[0].total == 4  # A leads on first preferences


def test_tie_is_reported_with_the_tied_options() -> None:
    """A perfect three-way cycle of equal strength: everyone ties, nobody is picked."""
    ballots = ballots_from([(1, "ABC"), (1, "BCA"), (1, "CAB")])
    result = decide(ranked_spec("ABC"), ballots, (), ballots, "p")
    assert result.outcome.status == "tie"
    assert result.outcome.winners == ("A", "B", "C")


def test_two_way_tie() -> None:
    ballots = ballots_from([(2, "AB"), (2, "BA")])
    result = decide(ranked_spec("ABC"), ballots, (), ballots, "p")
    assert (result.outcome.status, result.outcome.winners) == ("tie", ("A", "B"))


def test_partial_rankings_put_unranked_options_last() -> None:
    """A voter ranking only B prefers B to A and C, and A, C to nothing."""
    ballots = ballots_from([(3, "B"), (1, "AC"), (1, "CA")])
    result = decide(ranked_spec("ABC"), ballots, (), ballots, "p")
    assert result.schulze is not None
    assert result.schulze.d[1] == (3, 0, 3)  # B over A, B over C: the B-only ballots
    assert result.schulze.d[0][1] == 2 and result.schulze.d[0][2] == 1
    assert result.outcome.winners == ("B",)


def test_status_quo_must_be_beaten_head_to_head() -> None:
    """A wins by Schulze through a path but loses to the status quo directly: things stay.

    Pairwise: A>B 6–3, B>Q 6–3, Q>A 5–4 (a cycle); the strongest paths favour A
    (A→B→Q of strength 6 beats Q→A of 5), but A does not beat Q head to head.
    """
    q = STATUS_QUO_OPTION
    ballots = ballots_from([(3, ("A", "B", q)), (1, ("A", q, "B")), (3, ("B", q, "A")), (2, (q, "A", "B"))])
    spec = ranked_spec("AB", status_quo=True)
    result = decide(spec, ballots, (), ballots, "p")
    assert result.schulze is not None and result.schulze.winners == ("A",)
    assert result.outcome == result.outcome.__class__("decided", (q,))
    without = decide(ranked_spec("AB" + "Q"), *_renamed(ballots, q, "Q"))
    assert without.outcome.winners == ("A",)


def _renamed(ballots: dict[str, Ballot], old: str, new: str) -> tuple:
    renamed = {
        voter: Ranking(tuple(new if o == old else o for o in ballot.order))
        for voter, ballot in ballots.items()
        if isinstance(ballot, Ranking)
    }
    return renamed, (), renamed, "p"


def test_status_quo_winner_that_beats_it_stands() -> None:
    q = STATUS_QUO_OPTION
    ballots = ballots_from([(3, ("A", q, "B")), (2, (q, "A", "B")), (1, ("B", "A", q))])
    result = decide(ranked_spec("AB", status_quo=True), ballots, (), ballots, "p")
    assert result.outcome.winners == ("A",)


def test_nobody_ranking_anything_is_no_majority() -> None:
    ballots = ballots_from([(3, "")])
    result = decide(ranked_spec("ABC"), ballots, (), ballots, "p")
    assert result.outcome.status == "no_majority"
    assert result.turnout == 3


rankings = st.lists(
    st.tuples(
        st.permutations("ABCD").flatmap(lambda p: st.integers(0, 4).map(lambda k: tuple(p[:k]))),
        st.integers(1, 5),
    ),
    max_size=12,
)


@given(rankings)
def test_a_condorcet_winner_is_always_the_winner(groups) -> None:
    result = schulze("ABCD", groups)
    n = len(result.options)
    for i in range(n):
        if all(result.d[i][j] > result.d[j][i] for j in range(n) if j != i):
            assert result.winners == (result.options[i],)


@given(rankings)
def test_winners_are_unbeaten_on_strongest_paths(groups) -> None:
    """Each winner's paths are at least as strong as everyone's paths back, and nobody else's are."""
    result = schulze("ABCD", groups)
    n = len(result.options)
    unbeaten = tuple(
        result.options[i]
        for i in range(n)
        if all(result.p[i][j] >= result.p[j][i] for j in range(n) if j != i)
    )
    assert result.winners == unbeaten and unbeaten


@given(rankings)
def test_grouping_identical_rankings_changes_nothing(groups) -> None:
    ungrouped = [(order, 1) for order, count in groups for _ in range(count)]
    assert schulze("ABCD", ungrouped) == schulze("ABCD", groups)


def test_strongest_paths_match_brute_force() -> None:
    """p[i][j] is the best min-edge over every simple path, on the 45-voter example."""
    result = schulze("ABCDE", [(tuple(order), n) for n, order in SCHULZE_45])
    d, n = result.d, 5

    def link(i: int, j: int) -> int:
        return d[i][j] if d[i][j] > d[j][i] else 0

    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            best = 0
            others = [k for k in range(n) if k not in (i, j)]
            for size in range(len(others) + 1):
                for middle in permutations(others, size):
                    path = (i, *middle, j)
                    best = max(best, min(link(a, b) for a, b in pairwise(path)))
            assert result.p[i][j] == best
