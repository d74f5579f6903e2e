"""The Schulze method on weighted, possibly partial rankings, keeping its working to re-check.

Theory of operation. d[X,Y] is the weight ranking X above Y (an unranked option ties below
every ranked one). A link X→Y exists when d[X,Y] > d[Y,X]; its strength is the pair (d[X,Y],
d[Y,X]) — winning votes, opposing votes — and of two strengths the stronger has more winning
votes or, with as many, fewer opposing votes: the "winning votes" measure of M. Schulze, Social
Choice and Welfare 36 (2011), section 2.1, whose tie-break decides cases that winning votes
alone would call a tie. A path's strength is that of its weakest link, and p[X,Y] is the
strength of the strongest path from X to Y (none when no path leads there), found with a
Floyd–Warshall widest-path pass under that order. X beats Y when p[X,Y] is stronger than
p[Y,X]; this relation is a strict partial order (transitive, never both ways), not a ranking:
two options can be unordered with each other yet ordered differently against a third. The
winners are the options no one beats. Identical rankings are expected grouped with their total
weight, so the pairwise matrix costs O(distinct rankings × options²), not O(ballots).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

Matrix = tuple[tuple[int, ...], ...]
# A link's or a path's strength: (winning votes, opposing votes).
Strength = tuple[int, int]
# p[i][j]: the strongest path's strength from options[i] to options[j], None when there is none.
PathMatrix = tuple[tuple[Strength | None, ...], ...]

# Paths are compared through the key (winning, -opposing), larger is stronger; "no path" is
# (0, 0), weaker than every link, since a link's winning votes exceed its opposing votes ≥ 0.
_NO_PATH = (0, 0)


@dataclass(frozen=True, slots=True)
class SchulzeResult:
    """The working of a Schulze count: options in spec order, d and p indexed the same way.

    `beats` lists every (X, Y) where X beats Y, in options order (by X, then by Y); `winners`
    are the options that appear in no pair as the one beaten, in options order.
    """

    options: tuple[str, ...]
    d: Matrix
    p: PathMatrix
    beats: tuple[tuple[str, str], ...]
    winners: tuple[str, ...]


def stronger(a: Strength | None, b: Strength | None) -> bool:
    """True when strength a is stronger than b (more winning votes, or as many and fewer
    opposing); no path (None) is weaker than any link."""
    if a is None:
        return False
    if b is None:
        return True
    return a[0] > b[0] or (a[0] == b[0] and a[1] < b[1])


def pairwise(options: Sequence[str], rankings: Iterable[tuple[Sequence[str], int]]) -> Matrix:
    """d[i][j] = weight ranking options[i] above options[j]; unranked options tie last."""
    index = {option: i for i, option in enumerate(options)}
    n = len(options)
    d = [[0] * n for _ in range(n)]
    everyone = frozenset(range(n))
    for order, weight in rankings:
        if not weight:
            continue
        ranked = [index[option] for option in order]
        unranked = tuple(everyone.difference(ranked))
        for position, i in enumerate(ranked):
            row = d[i]
            for j in ranked[position + 1 :]:
                row[j] += weight
            for j in unranked:
                row[j] += weight
    return tuple(tuple(row) for row in d)


def strongest_paths(d: Matrix) -> PathMatrix:
    """p[i][j] = strength (winning, opposing) of the strongest path from i to j, None if none."""
    n = len(d)
    key = [
        [(d[i][j], -d[j][i]) if i != j and d[i][j] > d[j][i] else _NO_PATH for j in range(n)]
        for i in range(n)
    ]
    for k in range(n):
        row_k = key[k]
        for i in range(n):
            if i == k:
                continue
            row_i = key[i]
            through = row_i[k]
            if through == _NO_PATH:
                continue
            for j in range(n):
                if j != i and j != k:
                    # The path i→…→k→…→j is as strong as its weaker half.
                    candidate = through if through < row_k[j] else row_k[j]
                    if candidate > row_i[j]:
                        row_i[j] = candidate
    return tuple(
        tuple(None if strength == _NO_PATH else (strength[0], -strength[1]) for strength in row)
        for row in key
    )


def schulze(options: Sequence[str], rankings: Iterable[tuple[Sequence[str], int]]) -> SchulzeResult:
    """Count by the Schulze method: the beats relation and its unbeaten options (module doc)."""
    d = pairwise(options, rankings)
    p = strongest_paths(d)
    n = len(options)
    beats = tuple(
        (options[i], options[j]) for i in range(n) for j in range(n) if i != j and stronger(p[i][j], p[j][i])
    )
    beaten = {y for _, y in beats}
    winners = tuple(option for option in options if option not in beaten)
    return SchulzeResult(tuple(options), d, p, beats, winners)


def beats_head_to_head(result: SchulzeResult, x: str, y: str) -> bool:
    """True when more weight ranks x above y than y above x."""
    i = result.options.index(x)
    j = result.options.index(y)
    return result.d[i][j] > result.d[j][i]


def schulze_to_json(result: SchulzeResult) -> dict[str, Any]:
    """The working as JSON, for anyone to re-check a ranked count: `{options, d, p, beats}`.

    `d` is the matrix of pairwise weights, rows and columns in `options` order (0 on the
    diagonal). `p[i][j]` is `[winning, opposing]`, the strength of the strongest path from
    options[i] to options[j], or null when no path leads there (always on the diagonal).
    `beats` is every `[X, Y]` where X beats Y, in options order: the whole relation, which
    a ranking in tiers could misstate, since the relation need not be a weak order.
    """
    return {
        "options": list(result.options),
        "d": [list(row) for row in result.d],
        "p": [[None if strength is None else list(strength) for strength in row] for row in result.p],
        "beats": [list(pair) for pair in result.beats],
    }
