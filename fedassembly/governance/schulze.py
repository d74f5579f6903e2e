"""The Schulze method on weighted, possibly partial rankings, keeping its working to re-check.

Strength of a pairwise defeat is measured in winning votes (the weight d[X,Y] of the winner
side), as in Schulze's own examples: X→Y is a link of strength d[X,Y] when d[X,Y] > d[Y,X].
p[X,Y] is the strength of the strongest path (its weakest link maximised) from X to Y, found
with a Floyd–Warshall widest-path pass. X is ranked above Y when p[X,Y] > p[Y,X]; the potential
winners are those no one is ranked above. Identical rankings are expected grouped with their
total weight, so the pairwise matrix costs O(distinct rankings × options²), not O(ballots).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Matrix = tuple[tuple[int, ...], ...]


@dataclass(frozen=True, slots=True)
class SchulzeResult:
    """The working of a Schulze count: options in spec order, d and p indexed the same way."""

    options: tuple[str, ...]
    d: Matrix
    p: Matrix
    ranking: tuple[tuple[str, ...], ...]
    winners: tuple[str, ...]


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


def strongest_paths(d: Matrix) -> Matrix:
    """p[i][j] = strength of the strongest path from i to j in winning votes (0 if none)."""
    n = len(d)
    p = [[d[i][j] if i != j and d[i][j] > d[j][i] else 0 for j in range(n)] for i in range(n)]
    for k in range(n):
        row_k = p[k]
        for i in range(n):
            if i == k:
                continue
            row_i = p[i]
            through = row_i[k]
            if not through:
                continue
            for j in range(n):
                if j != i and j != k:
                    candidate = min(through, row_k[j])
                    if candidate > row_i[j]:
                        row_i[j] = candidate
    return tuple(tuple(row) for row in p)


def schulze(options: Sequence[str], rankings: Iterable[tuple[Sequence[str], int]]) -> SchulzeResult:
    """Rank options by the Schulze method; ties in the ranking are kept as shared tiers."""
    d = pairwise(options, rankings)
    p = strongest_paths(d)
    n = len(options)
    # How many options are ranked above each one; 0 means a potential winner. Schulze's
    # "ranked above" is transitive, so sorting by that count never puts an option above one
    # that beats it.
    above = [sum(1 for j in range(n) if p[j][i] > p[i][j]) for i in range(n)]
    tiers: dict[int, list[str]] = {}
    for i in sorted(range(n), key=lambda i: above[i]):
        tiers.setdefault(above[i], []).append(options[i])
    ranking = tuple(tuple(tier) for _, tier in sorted(tiers.items()))
    return SchulzeResult(tuple(options), d, p, ranking, ranking[0] if ranking else ())


def beats_head_to_head(result: SchulzeResult, x: str, y: str) -> bool:
    """True when more weight ranks x above y than y above x."""
    i = result.options.index(x)
    j = result.options.index(y)
    return result.d[i][j] > result.d[j][i]


def schulze_to_json(result: SchulzeResult) -> dict[str, object]:
    """The working as JSON, for a ballots page that explains (and lets anyone re-check) a count."""
    return {
        "options": list(result.options),
        "d": [list(row) for row in result.d],
        "p": [list(row) for row in result.p],
        "ranking": [list(tier) for tier in result.ranking],
    }
