"""The mappings a delegation result hands out, read straight from the resolution's walk tables.

A walk records, for each member it passed, either the voter it reached (a member id, always a
``str``) or the ``Stop`` it ended on; voters are a set of their own. These views answer lookups,
membership and iteration from those tables without copying them (see ``delegation``).
"""

from __future__ import annotations

from collections.abc import Callable, ItemsView, Iterator, Mapping
from collections.abc import Set as AbstractSet
from typing import Literal, TypeVar

from fedassembly.governance.model import MemberId

NotCountedReason = Literal["cycle", "no_voter", "non_member"]


class Stop:
    """Where a walk ended without a voter; kept apart from member ids, which are any string."""

    __slots__ = ("reason",)

    def __init__(self, reason: NotCountedReason) -> None:
        self.reason: NotCountedReason = reason


CYCLE, NO_VOTER, NON_MEMBER = Stop("cycle"), Stop("no_voter"), Stop("non_member")

# The result mappings below read the walk's own tables instead of copying them into one
# entry per member: most of a roster usually neither votes nor delegates, and building
# per-member dicts would cost more than the resolution itself on a large roster. Their items()
# come straight from those tables too: Mapping's own would look every key up again, which on
# a roster of 100,000 took longer than the resolution.


_V = TypeVar("_V")


class ItemsFromTables(ItemsView[MemberId, _V]):
    """A mapping's items, iterated from the pairs its tables give directly."""

    __slots__ = ("_pairs",)

    def __init__(
        self, mapping: Mapping[MemberId, _V], pairs: Callable[[], Iterator[tuple[MemberId, _V]]]
    ) -> None:
        super().__init__(mapping)
        self._pairs = pairs

    def __iter__(self) -> Iterator[tuple[MemberId, _V]]:
        return self._pairs()


class CastBy(Mapping[MemberId, MemberId]):
    """Counted member → voter: voters cast their own weight, resolved delegators a voter's."""

    __slots__ = ("_count", "_ends", "_voters")

    def __init__(self, voters: frozenset[MemberId], ends: dict[MemberId, MemberId | Stop]):
        self._voters = voters
        self._ends = ends
        self._count = len(voters) + sum(1 for end in ends.values() if end.__class__ is str)

    def __getitem__(self, member: MemberId) -> MemberId:
        if member in self._voters:
            return member
        end = self._ends[member]
        if isinstance(end, Stop):
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
        return ItemsFromTables(self, self._pairs)

    def _pairs(self) -> Iterator[tuple[MemberId, MemberId]]:
        for voter in self._voters:
            yield voter, voter
        for member, end in self._ends.items():
            if end.__class__ is str:
                yield member, end

    def __len__(self) -> int:
        return self._count


class Reasons(Mapping[MemberId, NotCountedReason]):
    """Uncounted member → reason; a member who neither voted nor delegated is `no_voter`."""

    __slots__ = ("_counted", "_ends", "_roster")

    def __init__(
        self,
        roster: AbstractSet[MemberId],
        counted: CastBy,
        ends: dict[MemberId, MemberId | Stop],
    ):
        self._roster = roster
        self._counted = counted
        self._ends = ends

    def __getitem__(self, member: MemberId) -> NotCountedReason:
        end = self._ends.get(member)
        if isinstance(end, Stop):
            return end.reason
        if member in self._roster and member not in self._counted:
            return "no_voter"
        raise KeyError(member)

    def __iter__(self) -> Iterator[MemberId]:
        counted = self._counted
        return (member for member in self._roster if member not in counted)

    def items(self) -> ItemsView[MemberId, NotCountedReason]:
        return ItemsFromTables(self, self._pairs)

    def _pairs(self) -> Iterator[tuple[MemberId, NotCountedReason]]:
        counted, ends = self._counted, self._ends
        for member in self._roster:
            if member not in counted:
                end = ends.get(member)
                yield member, end.reason if isinstance(end, Stop) else "no_voter"

    def __len__(self) -> int:
        return len(self._roster) - len(self._counted)


class NextHops(Mapping[MemberId, MemberId]):
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
        return ItemsFromTables(self, self._pairs)

    def _pairs(self) -> Iterator[tuple[MemberId, MemberId]]:
        roster, voters = self._roster, self._voters
        return (
            (member, hop)
            for member, hop in self._hops.items()
            if hop is not None and member not in voters and member in roster
        )

    def __len__(self) -> int:
        return sum(1 for _ in self)


class Weights(Mapping[MemberId, int]):
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
