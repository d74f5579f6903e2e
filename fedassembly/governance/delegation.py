"""Liquid delegation: whose ballot carries each member's weight on one proposal.

Theory of operation. Each member has at most one *effective* delegation for a proposal: the
one in the most specific scope that has any (proposal, then area, then global), where a
delegation to `None` is an explicit "no delegation here" that switches broader ones off. A
member who voted ignores their delegation: their own ballot always wins. Following effective
delegations from any member therefore walks a functional graph (one out-edge at most) until it
meets a voter — who casts that member's weight — or ends: at a member with no delegation
(`no_voter`), at someone off the roster (`non_member`), or back on itself (`cycle`). Every
member on one walk shares its end, so each walk records its result on every member it passed,
and later walks stop at the first recorded member: each member and each delegation is looked
at a bounded number of times, which keeps resolution linear.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from fedassembly.governance.delegation_views import (
    CYCLE,
    NO_VOTER,
    NON_MEMBER,
    CastBy,
    NextHops,
    NotCountedReason,
    Reasons,
    Stop,
    Weights,
)
from fedassembly.governance.errors import InvalidDelegationError
from fedassembly.governance.model import MemberId, ProposalId

Scope = Literal["global", "area", "proposal"]
SCOPES: tuple[Scope, ...] = ("global", "area", "proposal")


def scope_of(text: str) -> Scope:
    """A stored scope name as a Scope, or InvalidDelegationError for an unknown one."""
    for scope in SCOPES:
        if text == scope:
            return scope
    raise InvalidDelegationError(f"unknown delegation scope {text!r}")


def check_delegation(delegator: MemberId, delegate: MemberId | None) -> None:
    """Refuse delegating to oneself; `None` (no delegation in this scope) is always allowed."""
    if delegate is not None and delegate == delegator:
        raise InvalidDelegationError("a member cannot delegate to themselves")


@dataclass(frozen=True, slots=True)
class Delegation:
    """Delegator lets delegate vote for them in one scope; delegate None means explicitly nobody."""

    delegator: MemberId
    delegate: MemberId | None
    scope: Scope = "global"
    area: str | None = None
    proposal: ProposalId | None = None

    def __post_init__(self) -> None:
        check_delegation(self.delegator, self.delegate)
        # Each scope names exactly the key it is scoped to, so no delegation is ambiguous.
        if self.scope == "global":
            ok = self.area is None and self.proposal is None
        elif self.scope == "area":
            ok = bool(self.area) and self.proposal is None
        elif self.scope == "proposal":
            ok = self.area is None and bool(self.proposal)
        else:
            raise InvalidDelegationError(f"unknown delegation scope {self.scope!r}")
        if not ok:
            raise InvalidDelegationError(
                f"a {self.scope} delegation names "
                + {"global": "neither area nor proposal", "area": "an area only"}.get(
                    self.scope, "a proposal only"
                )
            )


@dataclass(frozen=True, slots=True)
class DelegationResult:
    """Per member: who cast their weight (`cast_by`) or why nobody did (`reason`), next hop.

    `cast_by` maps every counted member to the voter who cast their weight (a voter maps to
    themselves); `reason` maps every other member to why their weight is not counted;
    `next_hop` maps each member who did not vote and has an effective delegation to its
    delegate; `voters` are the members who voted; `weight` maps each voter to the weight
    they cast, their own included;
    `received` maps each voter who carried others' weight to how much of it.
    """

    cast_by: Mapping[MemberId, MemberId]
    reason: Mapping[MemberId, NotCountedReason]
    next_hop: Mapping[MemberId, MemberId]
    voters: frozenset[MemberId]
    weight: Mapping[MemberId, int]
    received: Mapping[MemberId, int]

    @property
    def counted(self) -> int:
        """The weight counted: members whose weight reached a voter."""
        return len(self.cast_by)

    def chain(self, member: MemberId) -> tuple[MemberId, ...]:
        """The member, then each hop their weight took, to its voter or to where it stopped."""
        chain = [member]
        seen = {member}
        end = self.cast_by.get(member)
        current = member
        while current != end:
            hop = self.next_hop.get(current)
            if hop is None:
                break
            chain.append(hop)
            if hop in seen:
                break
            seen.add(hop)
            current = hop
        return tuple(chain)


def applies_to(delegation: Delegation, proposal_id: ProposalId, area: str | None) -> bool:
    """Whether a delegation bears on a proposal: a global one always, an area one when its area
    is the proposal's (exactly; a proposal without an area has none), a proposal one when it
    names this proposal."""
    if delegation.scope == "global":
        return True
    if delegation.scope == "area":
        return area is not None and delegation.area == area
    return delegation.proposal == proposal_id


def effective_delegates(
    delegations: Iterable[Delegation], proposal_id: ProposalId, area: str | None
) -> dict[MemberId, MemberId | None]:
    """Each delegator's delegate in the most specific scope that applies; None = explicitly none."""
    delegations = list(delegations)
    hops = {d.delegator: d.delegate for d in delegations if d.scope == "global"}
    scoped = [d for d in delegations if d.scope != "global"]
    if len(hops) + len(scoped) != len(delegations):
        _refuse_duplicates([d for d in delegations if d.scope == "global"])
    # Global delegations always apply; only the (usually few) scoped ones are asked.
    scoped = [d for d in scoped if applies_to(d, proposal_id, area)]
    # Narrower scopes are applied after broader ones so that they replace them.
    for scope in ("area", "proposal"):
        chosen = [d for d in scoped if d.scope == scope]
        narrower = {d.delegator: d.delegate for d in chosen}
        if len(narrower) != len(chosen):
            _refuse_duplicates(chosen)
        hops.update(narrower)
    return hops


def _refuse_duplicates(delegations: list[Delegation]) -> None:
    # Storage keeps one delegation per delegator and scope; two mean corrupt input, and
    # picking one would decide silently which of them counts.
    seen: set[MemberId] = set()
    for d in delegations:
        if d.delegator in seen:
            raise InvalidDelegationError(f"{d.delegator} has two {d.scope} delegations in force")
        seen.add(d.delegator)


def resolve_delegation(
    members: Collection[MemberId],
    delegations: Iterable[Delegation],
    direct_voters: Iterable[MemberId],
    proposal_id: ProposalId,
    area: str | None,
) -> DelegationResult:
    """Follow each member's effective delegation to the first voter on it (see module doc)."""
    roster = members if isinstance(members, set | frozenset) else frozenset(members)
    hops = effective_delegates(delegations, proposal_id, area)
    voters = frozenset(roster.intersection(direct_voters))
    # Member → the voter their weight reached, or the Stop their chain ended in; voters
    # themselves are not entered (their own ballot wins), members who did not delegate
    # neither (they are `no_voter` by default).
    ends: dict[MemberId, MemberId | Stop] = {}
    for member, target in hops.items():
        if target is None or member in voters or member in ends or member not in roster:
            continue
        if target in voters:  # the common case: a delegate who voted
            ends[member] = target
            continue
        path = [member]
        on_path = {member}
        end: MemberId | Stop | None
        while True:
            if target in voters:
                end = target
                break
            end = ends.get(target)
            if end is not None:
                break
            if target not in roster:
                end = NON_MEMBER
                break
            if target in on_path:
                end = CYCLE
                break
            path.append(target)
            on_path.add(target)
            target = hops.get(target)
            if target is None:
                end = NO_VOTER
                break
        for walked in path:
            ends[walked] = end
    received = Counter(end for end in ends.values() if end.__class__ is str)
    cast_by = CastBy(voters, ends)
    return DelegationResult(
        cast_by=cast_by,
        reason=Reasons(roster, cast_by, ends),
        next_hop=NextHops(roster, voters, hops),
        voters=voters,
        weight=Weights(voters, received),
        received=MappingProxyType(dict(received)),
    )


def delegation_to_json(result: DelegationResult) -> dict[str, dict[str, str]]:
    """Per member `{castBy}` or `{reason}`, plus `nextHop` when they delegated: the snapshot."""
    snapshot: dict[str, dict[str, str]] = {}
    for member, voter in result.cast_by.items():
        snapshot[member] = {"castBy": voter}
    for member, why in result.reason.items():
        snapshot[member] = {"reason": why}
    for member, hop in result.next_hop.items():
        snapshot[member]["nextHop"] = hop
    return {member: snapshot[member] for member in sorted(snapshot)}  # strings sort twice as fast as pairs
