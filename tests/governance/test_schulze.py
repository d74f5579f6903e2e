"""Schulze on worked examples with known answers, and its defining properties."""

from __future__ import annotations

import json
from collections.abc import Sequence
from fractions import Fraction
from itertools import pairwise, permutations

from hypothesis import given
from hypothesis import strategies as st

from fedassembly.governance.ballots import Ballot, Ranking
from fedassembly.governance.model import STATUS_QUO_OPTION, ProposalSpec
from fedassembly.governance.schulze import Strength, schulze, schulze_to_json, stronger
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


def ballots_from(groups: Sequence[tuple[int, str | tuple[str, ...]]]) -> dict[str, Ballot]:
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
    """Winner E, order E > A > C > B > D, with the published d and (winning-votes) p matrices."""
    ballots = ballots_from(SCHULZE_45)
    result = decide(ranked_spec("ABCDE"), ballots, (), ballots, "p")
    assert result.outcome.status == "decided"
    assert result.outcome.winners == ("E",)
    assert result.schulze is not None
    assert result.schulze.d == (
        (0, 20, 26, 30, 22),
        (25, 0, 16, 33, 18),
        (19, 29, 0, 17, 24),
        (15, 12, 28, 0, 14),
        (23, 27, 21, 31, 0),
    )
    # Each path's opposing votes are those of its weakest link, 45 minus the winning ones here.
    published_p = (
        (0, 28, 28, 30, 24),
        (25, 0, 28, 33, 24),
        (25, 29, 0, 29, 24),
        (25, 28, 28, 0, 24),
        (25, 28, 28, 31, 0),
    )
    assert result.schulze.p == tuple(
        tuple(None if i == j else (w, 45 - w) for j, w in enumerate(row)) for i, row in enumerate(published_p)
    )
    # The relation here is the complete order E > A > C > B > D: every pair, in options order.
    order = "EACBD"
    assert result.schulze.beats == tuple(
        (x, y) for x in "ABCDE" for y in "ABCDE" if order.index(x) < order.index(y)
    )
    # First preferences: A 10, B 8, C 12, D 7, E 8 — plurality would pick C.
    assert [row.total for row in result.tally] == [10, 8, 12, 7, 8]


def test_equal_winning_votes_are_decided_by_fewer_opposing_votes() -> None:
    """Ballots B, C>A, C>A, B>C, A>B over A, B, C: B and C win, A is beaten by C.

    Each ranking puts its unranked options below its ranked ones, tied:

    - B:     B>A, B>C
    - C>A:   C>A, C>B, A>B   (twice)
    - B>C:   B>C, B>A, C>A
    - A>B:   A>B, A>C, B>C

    d[A,B] = 3 (C>A twice, A>B), d[B,A] = 2 (B, B>C): link A→B of strength (3, 2).
    d[B,C] = 3 (B, B>C, A>B), d[C,B] = 2 (C>A twice): link B→C of strength (3, 2).
    d[C,A] = 3 (C>A twice, B>C), d[A,C] = 1 (A>B): link C→A of strength (3, 1).

    In winning votes alone every link is 3, every path is 3 and all three tie. With the
    opposing votes, C→A (3, 1) is the strongest link. Strongest paths, each as strong as its
    weakest link:

    - p[A,B] = (3, 2) directly; p[B,A] = B→C→A = min((3, 2), (3, 1)) = (3, 2): A, B unordered.
    - p[B,C] = (3, 2) directly; p[C,B] = C→A→B = min((3, 1), (3, 2)) = (3, 2): B, C unordered.
    - p[C,A] = (3, 1) directly; p[A,C] = A→B→C = (3, 2), weaker: C beats A.

    So the only pair is C beats A, and the unbeaten options B and C are the winners.
    """
    rankings = ["B", "CA", "CA", "BC", "AB"]
    result = schulze("ABC", [(tuple(r), 1) for r in rankings])
    assert result.d == ((0, 3, 1), (2, 0, 3), (3, 2, 0))
    assert result.p == ((None, (3, 2), (3, 2)), ((3, 2), None, (3, 2)), ((3, 1), (3, 2), None))
    assert result.beats == (("C", "A"),)
    assert result.winners == ("B", "C")
    ballots = ballots_from([(1, r) for r in rankings])
    outcome = decide(ranked_spec("ABC"), ballots, (), ballots, "p").outcome
    assert (outcome.status, outcome.winners) == ("tie", ("B", "C"))


def test_the_relation_is_published_not_an_invented_order() -> None:
    """Ballots A and B>C: only B beats C; nothing puts A above C, nor B above A.

    Ballot A ranks A over B and C, which it leaves tied; B>C ranks B over C over A. So
    d[A,B] = d[B,A] = 1, d[A,C] = d[C,A] = 1, d[B,C] = 1, d[C,B] = 0: one link, B→C (1, 0).
    A ranking in tiers would say A = B > C, claiming A above C, which the relation does not.
    """
    result = schulze("ABC", [(("A",), 1), (("B", "C"), 1)])
    data = schulze_to_json(result)
    assert data == {
        "options": ["A", "B", "C"],
        "d": [[0, 1, 1], [1, 0, 1], [1, 0, 0]],
        "p": [[None, None, None], [None, None, [1, 0]], [None, None, None]],
        "beats": [["B", "C"]],
    }
    assert json.loads(json.dumps(data)) == data  # lists, ints, strs and nulls only
    assert result.winners == ("A", "B")


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
    """Nobody's paths to a winner are stronger than the winner's paths back; everyone else is beaten."""
    result = schulze("ABCD", groups)
    n = len(result.options)
    unbeaten = tuple(
        result.options[i]
        for i in range(n)
        if not any(stronger(result.p[j][i], result.p[i][j]) for j in range(n) if j != i)
    )
    assert result.winners == unbeaten and unbeaten


@given(rankings)
def test_beats_is_a_strict_partial_order_read_from_p(groups) -> None:
    """Exactly the pairs with the stronger path, never both ways, and transitive."""
    result = schulze("ABCD", groups)
    options, p = result.options, result.p
    expected = tuple(
        (x, y)
        for i, x in enumerate(options)
        for j, y in enumerate(options)
        if i != j and stronger(p[i][j], p[j][i])
    )
    assert result.beats == expected
    beats = set(result.beats)
    assert not any((y, x) in beats for x, y in beats)
    assert all((x, z) in beats for x, y in beats for y2, z in beats if y == y2)
    assert set(result.winners) == set(options) - {y for _, y in beats}


@given(rankings)
def test_json_is_the_result(groups) -> None:
    result = schulze("ABCD", groups)
    data = schulze_to_json(result)
    assert json.loads(json.dumps(data)) == data
    assert data["beats"] == [list(pair) for pair in result.beats]
    assert data["p"] == [[None if s is None else list(s) for s in row] for row in result.p]


@given(rankings)
def test_grouping_identical_rankings_changes_nothing(groups) -> None:
    ungrouped = [(order, 1) for order, count in groups for _ in range(count)]
    assert schulze("ABCD", ungrouped) == schulze("ABCD", groups)


def _weaker(a: Strength | None, b: Strength | None) -> Strength | None:
    return b if stronger(a, b) else a


def brute_force_paths(d: tuple[tuple[int, ...], ...]) -> list[list[Strength | None]]:
    """p[i][j] as the strongest weakest link over every simple path, enumerated."""
    n = len(d)

    def link(i: int, j: int) -> Strength | None:
        return (d[i][j], d[j][i]) if d[i][j] > d[j][i] else None

    p: list[list[Strength | None]] = [[None] * n for _ in range(n)]
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            others = [k for k in range(n) if k not in (i, j)]
            for size in range(len(others) + 1):
                for middle in permutations(others, size):
                    path = (i, *middle, j)
                    weakest: Strength | None = link(i, path[1])
                    for a, b in pairwise(path[1:]):
                        weakest = _weaker(weakest, link(a, b))
                    if stronger(weakest, p[i][j]):
                        p[i][j] = weakest
    return p


def test_strongest_paths_match_brute_force() -> None:
    """p[i][j] is the best weakest link over every simple path, on the 45-voter example."""
    result = schulze("ABCDE", [(tuple(order), n) for n, order in SCHULZE_45])
    assert [list(row) for row in result.p] == brute_force_paths(result.d)


@given(rankings)
def test_strongest_paths_match_brute_force_on_any_ballots(groups) -> None:
    result = schulze("ABCD", groups)
    assert [list(row) for row in result.p] == brute_force_paths(result.d)


@given(rankings)
def test_winning_votes_of_paths_are_the_plain_widest_paths(groups) -> None:
    """The tie-break refines winning votes: a path's winning votes are those winning votes
    alone would give it (0 for no path)."""
    result = schulze("ABCD", groups)
    d, n = result.d, 4
    plain = [[d[i][j] if i != j and d[i][j] > d[j][i] else 0 for j in range(n)] for i in range(n)]
    for k in range(n):
        for i in range(n):
            for j in range(n):
                if len({i, j, k}) == 3:
                    plain[i][j] = max(plain[i][j], min(plain[i][k], plain[k][j]))
    assert [[0 if s is None else s[0] for s in row] for row in result.p] == plain
