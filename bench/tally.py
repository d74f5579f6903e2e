"""Benchmark of the pure governance core: delegation + tally, and Schulze on many ballots.

Run: python bench/tally.py. Input generation is excluded from every timing; each figure is
the best of a few runs. Targets (2-core machine): 100k members under 0.1 s, 1M under 1 s,
growing linearly; Schulze with 10 options on 100k ballots from 1,000 distinct rankings
under 1 s (the 100k-distinct case is reported without a target).
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from fractions import Fraction
from itertools import pairwise

from fedassembly.governance.ballots import Ballot, Choice, Ranking
from fedassembly.governance.delegation import Delegation
from fedassembly.governance.model import ProposalSpec
from fedassembly.governance.tally import decide

PROPOSAL = "https://node.example/proposals/1"
AREA = "housing"
OPTIONS = ("north", "south", "east", "west")


def make_assembly(n: int, rng: random.Random) -> tuple[list[str], list[Delegation], dict[str, Ballot]]:
    """n members: 30% delegating in chains of up to 20, a few cycles, 5% area delegations."""
    members = [f"https://node{i % 97}.example/users/u{i}" for i in range(n)]
    order = members[:]
    rng.shuffle(order)
    delegators = order[: n * 3 // 10]
    others = order[n * 3 // 10 :]
    voters = others[: len(others) * 6 // 10]
    ballots: dict[str, Ballot] = {v: Choice(rng.choice(OPTIONS)) for v in voters}
    delegations: list[Delegation] = []
    i = 0
    while i < len(delegators):
        chain = delegators[i : i + rng.randint(1, 20)]
        i += len(chain)
        for a, b in pairwise(chain):
            delegations.append(Delegation(a, b))
        roll = rng.random()
        if roll < 0.01 and len(chain) > 1:
            end = chain[0]  # a cycle
        elif roll < 0.03:
            end = rng.choice(others)  # may not vote: no_voter
        elif roll < 0.04:
            end = "https://elsewhere.example/users/gone"  # off the roster
        else:
            end = rng.choice(voters)
        delegations.append(Delegation(chain[-1], end))
    # 5% of members hold an area delegation: half in this proposal's area, half elsewhere.
    for member in rng.sample(members, n // 20):
        scope_area = AREA if rng.random() < 0.5 else "safety"
        delegate = rng.choice(voters)
        if delegate != member:
            delegations.append(Delegation(member, delegate, "area", area=scope_area))
    rng.shuffle(delegations)
    return members, delegations, ballots


def best_of(runs: int, fn: Callable[[], object]) -> float:
    """The fastest of `runs` timed calls, in seconds."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bench_decide(rng: random.Random) -> None:
    spec = ProposalSpec(OPTIONS, "single", "plurality", Fraction(1, 4), AREA, False)
    per_member = []
    for n in (10_000, 100_000, 1_000_000):
        members, delegations, ballots = make_assembly(n, rng)
        result = decide(spec, members, delegations, ballots, PROPOSAL)
        seconds = best_of(
            3 if n < 1_000_000 else 2,
            lambda m=members, d=delegations, b=ballots: decide(spec, m, d, b, PROPOSAL),
        )
        per_member.append(seconds / n)
        reasons: dict[str, int] = {}
        for why in result.delegation.reason.values():
            reasons[why] = reasons.get(why, 0) + 1
        print(
            f"delegation + tally, {n:>9,} members, {len(delegations):>7,} delegations:"
            f" {seconds * 1000:8.1f} ms ({seconds / n * 1e9:5.0f} ns/member);"
            f" counted {result.turnout:,}, not counted {dict(sorted(reasons.items()))}"
        )
    print(f"  growth 10k→1M per member: ×{per_member[-1] / per_member[0]:.2f} (1.00 = linear)")


def random_ranking(rng: random.Random, options: tuple[str, ...]) -> tuple[str, ...]:
    order = list(options)
    rng.shuffle(order)
    return tuple(order[: rng.randint(1, len(order))])


def bench_schulze(rng: random.Random) -> None:
    options = tuple(f"option {c}" for c in "ABCDEFGHIJ")
    spec = ProposalSpec(options, "ranked", "schulze", Fraction(0), None, False)
    members = [f"https://node.example/users/u{i}" for i in range(100_000)]
    for distinct in (1_000, 100_000):
        pool: set[tuple[str, ...]] = set()
        while len(pool) < distinct:
            pool.add(random_ranking(rng, options))
        rankings = list(pool)
        if distinct == len(members):
            ballots: dict[str, Ballot] = {m: Ranking(r) for m, r in zip(members, rankings, strict=True)}
        else:
            ballots = {m: Ranking(rng.choice(rankings)) for m in members}
        seconds = best_of(3, lambda b=ballots: decide(spec, members, (), b, PROPOSAL))
        result = decide(spec, members, (), ballots, PROPOSAL)
        print(
            f"Schulze, 10 options, 100,000 ballots from {distinct:>7,} distinct rankings:"
            f" {seconds * 1000:8.1f} ms; outcome {result.outcome.status}"
            f" {', '.join(result.outcome.winners)}"
        )


def main() -> None:
    rng = random.Random(4)
    print(f"Python {sys.version.split()[0]}")
    bench_decide(rng)
    bench_schulze(rng)


if __name__ == "__main__":
    main()
