"""A proposal's lifecycle as a transition table: every legal move is a row, any other is refused.

Theory of operation. A proposal is created `open`; ballots are accepted only while it is open
and before its closing time. At the closing time it is `closed` (no more ballots), and once its
result is computed and published it is `decided`, for good. A facilitator may instead
`withdraw` an open proposal: it closes with no decision. Nothing leaves `decided` or
`withdrawn`. Times are arguments, in seconds since the epoch (as stored and as `time.time()`
gives them); this module never reads a clock.
"""

from __future__ import annotations

from typing import Literal, get_args

from fedassembly.governance.errors import IllegalTransitionError

ProposalState = Literal["open", "closed", "decided", "withdrawn"]
ProposalEvent = Literal["close", "decide", "withdraw"]

TRANSITIONS: dict[tuple[ProposalState, ProposalEvent], ProposalState] = {
    ("open", "close"): "closed",
    ("closed", "decide"): "decided",
    ("open", "withdraw"): "withdrawn",
}
FINAL_STATES: frozenset[ProposalState] = frozenset({"decided", "withdrawn"})
_STATES: tuple[ProposalState, ...] = get_args(ProposalState)

# Checked at import: the table names only known states and events, and final states have
# no way out, so a typo in the table cannot ship.
if not all(
    state in get_args(ProposalState)
    and event in get_args(ProposalEvent)
    and target in get_args(ProposalState)
    for (state, event), target in TRANSITIONS.items()
) or any(state in FINAL_STATES for state, _ in TRANSITIONS):
    raise IllegalTransitionError("the proposal transition table is inconsistent")


def transition(state: ProposalState, event: ProposalEvent) -> ProposalState:
    """The state after `event`, or IllegalTransitionError when the table has no such move."""
    target = TRANSITIONS.get((state, event))
    if target is None:
        raise IllegalTransitionError(f"a proposal that is {state} cannot {event}")
    return target


def state_of(text: str) -> ProposalState:
    """A stored state as a ProposalState, or IllegalTransitionError for one the table does not know."""
    for state in _STATES:
        if text == state:
            return state
    raise IllegalTransitionError(f"unknown proposal state {text!r}; one of {', '.join(_STATES)}")


def accepts_ballots(state: ProposalState, closes_at: float, now: float) -> bool:
    """Ballots count only while the proposal is open and before its closing time (seconds)."""
    return state == "open" and now < closes_at


def is_due_to_close(state: ProposalState, closes_at: float, now: float) -> bool:
    """An open proposal whose closing time (seconds) has come is due for the `close` event."""
    return state == "open" and now >= closes_at
