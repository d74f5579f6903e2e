"""Liquid delegation: worked cases, then properties against a naive reference."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fedassembly.governance.ballots import Choice
from fedassembly.governance.delegation import (
    Delegation,
    DelegationResult,
    applies_to,
    check_delegation,
    delegation_to_json,
    resolve_delegation,
    scope_of,
)
from fedassembly.governance.errors import InvalidDelegationError
from fedassembly.governance.tally import decide
from fedassembly.governance.validation import validate_proposal

MEMBERS = [f"m{i}" for i in range(8)]


def resolve(delegations, voters, members=MEMBERS, proposal="p", area="housing"):
    return resolve_delegation(members, delegations, voters, proposal, area)


def test_weight_flows_to_the_first_voter_on_the_chain() -> None:
    result = resolve([Delegation("m1", "m2"), Delegation("m2", "m3"), Delegation("m3", "m4")], ["m3", "m4"])
    assert result.cast_by["m1"] == "m3"  # m3 voted, so m4 never sees m1's weight
    assert result.weight["m3"] == 3 and result.weight["m4"] == 1
    assert result.chain("m1") == ("m1", "m2", "m3")
    assert "m3" not in result.next_hop  # a voter's own ballot overrides their delegation


def test_most_specific_scope_wins_and_none_switches_broader_off() -> None:
    delegations = [
        Delegation("m1", "m2"),
        Delegation("m1", "m3", "area", area="housing"),
        Delegation("m1", "m4", "proposal", proposal="p"),
        Delegation("m5", "m2"),
        Delegation("m5", None, "area", area="housing"),
        Delegation("m6", "m2", "area", area="safety"),  # another area: not in force here
        Delegation("m7", "m3", "proposal", proposal="q"),  # another proposal
    ]
    voters = ["m2", "m3", "m4"]
    result = resolve(delegations, voters)
    assert result.cast_by["m1"] == "m4"
    assert result.reason["m5"] == "no_voter"
    assert result.reason["m6"] == "no_voter" and result.reason["m7"] == "no_voter"
    assert resolve(delegations, voters, proposal="other").cast_by["m1"] == "m3"
    assert resolve(delegations, voters, proposal="other", area=None).cast_by["m1"] == "m2"
    assert resolve(delegations, voters, area=None).cast_by["m5"] == "m2"


@pytest.mark.parametrize(
    ("delegation", "proposal", "area", "applies"),
    [
        (Delegation("m1", "m2"), "p", "housing", True),
        (Delegation("m1", "m2"), "p", None, True),
        (Delegation("m1", None), "q", None, True),  # an explicit "nobody" applies as any delegation
        (Delegation("m1", "m2", "area", area="housing"), "p", "housing", True),
        (Delegation("m1", "m2", "area", area="housing"), "p", "safety", False),
        (Delegation("m1", "m2", "area", area="housing"), "p", "Housing", False),  # exact text
        (Delegation("m1", "m2", "area", area="housing"), "p", None, False),
        (Delegation("m1", "m2", "proposal", proposal="p"), "p", "housing", True),
        (Delegation("m1", "m2", "proposal", proposal="p"), "p", None, True),
        (Delegation("m1", "m2", "proposal", proposal="p"), "q", "housing", False),
        (Delegation("m1", "m2", "proposal", proposal="12"), "120", None, False),
    ],
)
def test_applies_to(delegation: Delegation, proposal: str, area: str | None, applies: bool) -> None:
    """Global always; an area delegation on a proposal of that area; a proposal one on itself."""
    assert applies_to(delegation, proposal, area) is applies


@given(st.data())
def test_delegations_that_do_not_apply_change_nothing(data) -> None:
    """Resolution sees only the delegations that apply: dropping the others is the same result."""
    members = MEMBERS[:5]
    delegation = st.builds(
        lambda delegator, delegate, kind, key: Delegation(
            delegator,
            None if delegate == delegator else delegate,
            kind,
            area=key if kind == "area" else None,
            proposal=key if kind == "proposal" else None,
        ),
        st.sampled_from(members),
        st.sampled_from([*members, None]),
        st.sampled_from(["global", "area", "proposal"]),
        st.sampled_from(["p", "q", "housing", "safety"]),
    )
    delegations = data.draw(
        st.lists(delegation, max_size=10, unique_by=lambda d: (d.delegator, d.scope, d.area, d.proposal))
    )
    voters = data.draw(st.lists(st.sampled_from(members), max_size=3))
    area = data.draw(st.sampled_from(["housing", "safety", None]))
    applying = [d for d in delegations if applies_to(d, "p", area)]
    full = resolve_delegation(members, delegations, voters, "p", area)
    kept = resolve_delegation(members, applying, voters, "p", area)
    assert delegation_to_json(full) == delegation_to_json(kept)


def test_scope_of_reads_stored_scopes_and_refuses_others() -> None:
    assert [scope_of(text) for text in ("global", "area", "proposal")] == ["global", "area", "proposal"]
    for text in ("", "Global", "council"):
        with pytest.raises(InvalidDelegationError, match=f"unknown delegation scope {text!r}"):
            scope_of(text)


def test_uncounted_weight_and_its_reasons() -> None:
    delegations = [
        Delegation("m1", "m2"),
        Delegation("m2", "m3"),
        Delegation("m3", "m1"),  # a cycle m1 → m2 → m3 → m1
        Delegation("m4", "m1"),  # leads into the cycle
        Delegation("m5", "https://elsewhere.example/u/x"),
        Delegation("m6", "m7"),  # m7 neither votes nor delegates
    ]
    result = resolve(delegations, ["m0"])
    assert {m: result.reason[m] for m in MEMBERS[1:]} == {
        "m1": "cycle",
        "m2": "cycle",
        "m3": "cycle",
        "m4": "cycle",
        "m5": "non_member",
        "m6": "no_voter",
        "m7": "no_voter",
    }
    assert result.counted == 1 and len(result.reason) == 7
    assert result.chain("m4") == ("m4", "m1", "m2", "m3", "m1")
    assert result.chain("m5") == ("m5", "https://elsewhere.example/u/x")
    assert delegation_to_json(result)["m4"] == {"reason": "cycle", "nextHop": "m1"}
    assert delegation_to_json(result)["m0"] == {"castBy": "m0"}


def test_self_delegation_is_refused() -> None:
    with pytest.raises(InvalidDelegationError, match="cannot delegate to themselves"):
        check_delegation("m1", "m1")
    with pytest.raises(InvalidDelegationError):
        Delegation("m1", "m1", "area", area="x")
    check_delegation("m1", None)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"scope": "area"},
        {"scope": "proposal", "area": "x", "proposal": "p"},
        {"scope": "global", "area": "x"},
        {"scope": "team"},
    ],
)
def test_malformed_scopes_are_refused(kwargs) -> None:
    with pytest.raises(InvalidDelegationError):
        Delegation("m1", "m2", **kwargs)


def test_two_delegations_in_one_scope_are_refused() -> None:
    with pytest.raises(InvalidDelegationError, match="m1 has two area delegations"):
        resolve(
            [Delegation("m1", "m2", "area", area="housing"), Delegation("m1", "m3", "area", area="housing")],
            [],
        )


# --- properties ---------------------------------------------------------------------------

OUTSIDER = "https://elsewhere.example/u/x"
AREAS = ("housing", "safety")
PROPOSALS = ("p", "q")


@st.composite
def assemblies(draw):
    """A roster, delegations in force (one per delegator and scope key), direct voters."""
    n = draw(st.integers(1, 10))
    members = [f"m{i}" for i in range(n)]
    people = [*members, OUTSIDER]
    slots = draw(
        st.lists(
            st.tuples(
                st.sampled_from(people),
                st.sampled_from(
                    ["global", *[("area", a) for a in AREAS], *[("proposal", p) for p in PROPOSALS]]
                ),
            ),
            unique=True,
            max_size=3 * n,
        )
    )
    delegations = []
    for delegator, scope in slots:

        def not_me(d: str | None, me: str = delegator) -> bool:  # not a lambda: mypy mistypes its default
            return d != me

        delegate = draw(st.one_of(st.none(), st.sampled_from(people)).filter(not_me))
        if scope == "global":
            delegations.append(Delegation(delegator, delegate))
        elif scope[0] == "area":
            delegations.append(Delegation(delegator, delegate, "area", area=scope[1]))
        else:
            delegations.append(Delegation(delegator, delegate, "proposal", proposal=scope[1]))
    voters = draw(st.lists(st.sampled_from(people), unique=True))
    area = draw(st.sampled_from([None, *AREAS]))
    return members, delegations, voters, area


def reference(members, delegations, voters, proposal, area):
    """Naive and quadratic, written from the rule alone (the most specific scope first, a voter's
    own ballot wins, weight stops at a voter, a non-member, nobody, or a cycle): per member,
    walk and watch for repeats."""

    def hop(member):
        for scope, key in (("proposal", proposal), ("area", area), ("global", None)):
            for d in delegations:
                if d.delegator != member or d.scope != scope:
                    continue
                in_force = (
                    scope == "global"
                    or (scope == "area" and key is not None and d.area == key)
                    or (scope == "proposal" and d.proposal == key)
                )
                if in_force:
                    return d.delegate  # None: explicitly nobody in this scope
        return None

    outcome = {}
    for member in members:
        walked = [member]
        while True:
            current = walked[-1]
            if current not in members:
                outcome[member] = ("reason", "non_member")
                break
            if current in voters:
                outcome[member] = ("voter", current)
                break
            nxt = hop(current)
            if nxt is None:
                outcome[member] = ("reason", "no_voter")
                break
            if nxt in walked:
                outcome[member] = ("reason", "cycle")
                break
            walked.append(nxt)
    return outcome


def as_outcome(result: DelegationResult, members):
    return {
        m: ("voter", result.cast_by[m]) if m in result.cast_by else ("reason", result.reason[m])
        for m in members
    }


@given(assemblies())
def test_matches_the_naive_reference(assembly) -> None:
    members, delegations, voters, area = assembly
    result = resolve(delegations, voters, members, "p", area)
    expected = reference(members, delegations, voters, "p", area)
    assert as_outcome(result, members) == expected
    for member, (kind, who) in expected.items():
        chain = result.chain(member)
        assert chain[0] == member
        if kind == "voter":
            assert chain[-1] == who and all(c not in voters for c in chain[:-1])
    weights: dict[str, int] = {}
    for kind, who in expected.values():
        if kind == "voter":
            weights[who] = weights.get(who, 0) + 1
    assert dict(result.weight) == weights


@given(assemblies())
def test_counted_plus_not_counted_is_the_roster(assembly) -> None:
    members, delegations, voters, area = assembly
    result = resolve(delegations, voters, members, "p", area)
    assert sum(result.weight.values()) + len(result.reason) == len(members)
    assert set(result.cast_by) | set(result.reason) == set(members)
    assert not set(result.cast_by) & set(result.reason)
    assert len(result.cast_by) == result.counted


@given(assemblies())
def test_result_mappings_items_and_membership_agree_with_lookups(assembly) -> None:
    members, delegations, voters, area = assembly
    result = resolve(delegations, voters, members, "p", area)
    for mapping in (result.cast_by, result.reason, result.next_hop, result.weight):
        keys = list(mapping)
        assert list(mapping.items()) == [(key, mapping[key]) for key in keys]
        assert len(keys) == len(set(keys)) == len(mapping)
        for someone in [*members, OUTSIDER, *voters]:
            assert (someone in mapping) == (someone in keys)


@given(assemblies())
def test_a_direct_voter_is_represented_by_nobody_else(assembly) -> None:
    members, delegations, voters, area = assembly
    result = resolve(delegations, voters, members, "p", area)
    for voter in set(voters) & set(members):
        assert result.cast_by[voter] == voter
        assert result.chain(voter) == (voter,)


@given(assemblies(), st.data())
def test_revoking_equals_never_having_delegated(assembly, data) -> None:
    """A store of delegations in force (one per delegator and scope key, as storage keeps):
    making a delegation in a free slot at some point and revoking it later leaves a result
    equal to never having made it — and one for another proposal or area changes nothing."""
    members, delegations, voters, area = assembly
    taken = {(d.delegator, d.scope, d.area, d.proposal) for d in delegations}
    delegator = data.draw(st.sampled_from(members))
    delegate = data.draw(st.sampled_from([*members, OUTSIDER]).filter(lambda d: d != delegator))
    # The most specific scope, so that it would change the result if it were still in force.
    extra = Delegation(delegator, delegate, "proposal", proposal="p")
    if (delegator, "proposal", None, "p") in taken:
        extra = Delegation(delegator, None, "proposal", proposal="zz")
    store = {}
    history = [("make", d) for d in delegations]
    at = data.draw(st.integers(0, len(history)))
    history[at:at] = [("make", extra)]
    history.insert(data.draw(st.integers(at + 1, len(history))), ("revoke", extra))
    for op, d in history:
        key = (d.delegator, d.scope, d.area, d.proposal)
        if op == "make":
            store[key] = d
        else:
            del store[key]
    before = as_outcome(resolve(delegations, voters, members, "p", area), members)
    assert as_outcome(resolve(list(store.values()), voters, members, "p", area), members) == before
    elsewhere = Delegation(extra.delegator, extra.delegate, "proposal", proposal="elsewhere")
    with_elsewhere = resolve([*delegations, elsewhere], voters, members, "p", area)
    assert as_outcome(with_elsewhere, members) == before


@given(assemblies(), st.randoms(use_true_random=False), st.data())
def test_renaming_members_and_permuting_inputs_changes_nothing(assembly, rng: random.Random, data) -> None:
    members, delegations, voters, area = assembly
    spec = validate_proposal("t", ["a", "b", "c"], "single", quorum=0.5, area=area or "housing")
    ballots = {v: Choice(data.draw(st.sampled_from("abc"))) for v in voters}
    result = decide(spec, members, delegations, ballots, "p")

    shuffled = members[:]
    rng.shuffle(shuffled)
    names = {m: f"https://node.example/people/{new}" for m, new in zip(members, shuffled, strict=True)}
    names[OUTSIDER] = OUTSIDER

    def rename(d: Delegation) -> Delegation:
        delegate = None if d.delegate is None else names[d.delegate]
        return Delegation(names[d.delegator], delegate, d.scope, d.area, d.proposal)

    renamed_ballots = [(names[v], b) for v, b in ballots.items()]
    rng.shuffle(renamed_ballots)
    renamed_delegations = [rename(d) for d in delegations]
    rng.shuffle(renamed_delegations)
    renamed = decide(
        spec, [names[m] for m in reversed(members)], renamed_delegations, dict(renamed_ballots), "p"
    )

    assert (renamed.tally, renamed.outcome, renamed.turnout, renamed.quorum_met) == (
        result.tally,
        result.outcome,
        result.turnout,
        result.quorum_met,
    )
    assert {names[m]: names[v] for m, v in result.delegation.cast_by.items()} == dict(
        renamed.delegation.cast_by
    )
    assert {names[m]: r for m, r in result.delegation.reason.items()} == dict(renamed.delegation.reason)
    assert {names[m]: names[h] for m, h in result.delegation.next_hop.items()} == dict(
        renamed.delegation.next_hop
    )
