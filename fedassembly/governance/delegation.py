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
from collections.abc import Callable, Collection, ItemsView, Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, TypeVar

from fedassembly.governance.errors import InvalidDelegationError
from fedassembly.governance.model import MemberId, ProposalId

Scope = Literal["global", "area", "proposal"]
NotCountedReason = Literal["cycle", "no_voter", "non_member"]
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


class _Stop:
    """Where a walk ended without a voter; kept apart from member ids, which are any string."""

    __slots__ = ("reason",)

    def __init__(self, reason: NotCountedReason) -> None:
        self.reason: NotCountedReason = reason


_CYCLE, _NO_VOTER, _NON_MEMBER = _Stop("cycle"), _Stop("no_voter"), _Stop("non_member")

# The result mappings below read the walk's own tables instead of copying them into one
# entry per member: most of a roster usually neither votes nor delegates, and building
# per-member dicts would cost more than the resolution itself on a large roster. Their items()
# come straight from those tables too: Mapping's own would look every key up again, which on
# a roster of 100,000 took longer than the resolution.


_V = TypeVar("_V")


class _Items(ItemsView[MemberId, _V]):
    """A mapping's items, iterated from the pairs its tables give directly."""

    __slots__ = ("_pairs",)

    def __init__(
        self, mapping: Mapping[MemberId, _V], pairs: Callable[[], Iterator[tuple[MemberId, _V]]]
    ) -> None:
        super().__init__(mapping)
        self._pairs = pairs

    def __iter__(self) -> Iterator[tuple[MemberId, _V]]:
        return self._pairs()


class _CastBy(Mapping[MemberId, MemberId]):
    """Counted member → voter: voters cast their own weight, resolved delegators a voter's."""

    __slots__ = ("_count", "_ends", "_voters")

    def __init__(self, voters: frozenset[MemberId], ends: dict[MemberId, MemberId | _Stop]):
        self._voters = voters
        self._ends = ends
        self._count = len(voters) + sum(1 for end in ends.values() if end.__class__ is str)

    def __getitem__(self, member: MemberId) -> MemberId:
        if member in self._voters:
            return member
        end = self._ends[member]
        if isinstance(end, _Stop):
            raise KeyError(member)
        return end

    def __contains__(self, member: object) -> bool:
        # Mapping.__contains__ takes any object, which dict.get accepts at run time though
        # its stub wants the key type; an isinstance check would cost a call per lookup.
        return member in self._voters or self._ends.get(member).__class__ is str  # type: ignore[call-overload]

    def __iter__(self) -> Iterator[MemberId]:
        yield from self._voters
        yield from (member for member, end in self._ends.items() if end.__class__ is str)

    def items(self) -> ItemsView[MemberId, MemberId]:
        return _Items(self, self._pairs)

    def _pairs(self) -> Iterator[tuple[MemberId, MemberId]]:
        for voter in self._voters:
            yield voter, voter
        for member, end in self._ends.items():
            if end.__class__ is str:
                yield member, end

    def __len__(self) -> int:
        return self._count


class _Reasons(Mapping[MemberId, NotCountedReason]):
    """Uncounted member → reason; a member who neither voted nor delegated is `no_voter`."""

    __slots__ = ("_counted", "_ends", "_roster")

    def __init__(
        self,
        roster: AbstractSet[MemberId],
        counted: _CastBy,
        ends: dict[MemberId, MemberId | _Stop],
    ):
        self._roster = roster
        self._counted = counted
        self._ends = ends

    def __getitem__(self, member: MemberId) -> NotCountedReason:
        end = self._ends.get(member)
        if isinstance(end, _Stop):
            return end.reason
        if member in self._roster and member not in self._counted:
            return "no_voter"
        raise KeyError(member)

    def __iter__(self) -> Iterator[MemberId]:
        counted = self._counted
        return (member for member in self._roster if member not in counted)

    def items(self) -> ItemsView[MemberId, NotCountedReason]:
        return _Items(self, self._pairs)

    def _pairs(self) -> Iterator[tuple[MemberId, NotCountedReason]]:
        counted, ends = self._counted, self._ends
        for member in self._roster:
            if member not in counted:
                end = ends.get(member)
                yield member, end.reason if isinstance(end, _Stop) else "no_voter"

    def __len__(self) -> int:
        return len(self._roster) - len(self._counted)


class _NextHops(Mapping[MemberId, MemberId]):
    """Member → delegate, for members on the roster who did not vote and delegate here."""

    __slots__ = ("_hops", "_roster", "_voters")

    def __init__(
        self,
        roster: AbstractSet[MemberId],
        voters: frozenset[MemberId],
        hops: dict[MemberId, MemberId | None],
    ):
        self._roster = roster
        self._voters = voters
        self._hops = hops

    def __getitem__(self, member: MemberId) -> MemberId:
        hop = self._hops[member]
        if hop is None or member in self._voters or member not in self._roster:
            raise KeyError(member)
        return hop

    def __iter__(self) -> Iterator[MemberId]:
        return (member for member, _hop in self._pairs())

    def items(self) -> ItemsView[MemberId, MemberId]:
        return _Items(self, self._pairs)

    def _pairs(self) -> Iterator[tuple[MemberId, MemberId]]:
        roster, voters = self._roster, self._voters
        return (
            (member, hop)
            for member, hop in self._hops.items()
            if hop is not None and member not in voters and member in roster
        )

    def __len__(self) -> int:
        return sum(1 for _ in self)


class _Weights(Mapping[MemberId, int]):
    """Voter → weight cast: their own 1 plus every member whose weight reached them."""

    __slots__ = ("_received", "_voters")

    def __init__(self, voters: frozenset[MemberId], received: Mapping[MemberId, int]):
        self._voters = voters
        self._received = received

    def __getitem__(self, voter: MemberId) -> int:
        if voter not in self._voters:
            raise KeyError(voter)
        return 1 + self._received.get(voter, 0)

    def __iter__(self) -> Iterator[MemberId]:
        return iter(self._voters)

    def __len__(self) -> int:
        return len(self._voters)


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
    # Member → the voter their weight reached, or the _Stop their chain ended in; voters
    # themselves are not entered (their own ballot wins), members who did not delegate
    # neither (they are `no_voter` by default).
    ends: dict[MemberId, MemberId | _Stop] = {}
    for member, target in hops.items():
        if target is None or member in voters or member in ends or member not in roster:
            continue
        if target in voters:  # the common case: a delegate who voted
            ends[member] = target
            continue
        path = [member]
        on_path = {member}
        end: MemberId | _Stop | None
        while True:
            if target in voters:
                end = target
                break
            end = ends.get(target)
            if end is not None:
                break
            if target not in roster:
                end = _NON_MEMBER
                break
            if target in on_path:
                end = _CYCLE
                break
            path.append(target)
            on_path.add(target)
            target = hops.get(target)
            if target is None:
                end = _NO_VOTER
                break
        for walked in path:
            ends[walked] = end
    received = Counter(end for end in ends.values() if end.__class__ is str)
    cast_by = _CastBy(voters, ends)
    return DelegationResult(
        cast_by=cast_by,
        reason=_Reasons(roster, cast_by, ends),
        next_hop=_NextHops(roster, voters, hops),
        voters=voters,
        weight=_Weights(voters, received),
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
