"""The proposal lifecycle table: legal moves, refused moves, and its invariants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product
from typing import get_args

import pytest

from fedassembly.governance.errors import IllegalTransitionError
from fedassembly.governance.lifecycle import (
    FINAL_STATES,
    TRANSITIONS,
    ProposalEvent,
    ProposalState,
    accepts_ballots,
    is_due_to_close,
    transition,
)

STATES = get_args(ProposalState)
EVENTS = get_args(ProposalEvent)


def test_the_legal_moves() -> None:
    assert transition("open", "close") == "closed"
    assert transition("closed", "decide") == "decided"
    assert transition("open", "withdraw") == "withdrawn"


@pytest.mark.parametrize(("state", "event"), [p for p in product(STATES, EVENTS) if p not in TRANSITIONS])
def test_every_other_move_is_refused(state, event) -> None:
    with pytest.raises(IllegalTransitionError, match=f"a proposal that is {state} cannot {event}"):
        transition(state, event)


def test_invariants() -> None:
    """Final states have no way out; every state is reachable from open; nothing returns to open."""
    assert all(state not in FINAL_STATES for state, _ in TRANSITIONS)
    reachable, frontier = {"open"}, ["open"]
    while frontier:
        state = frontier.pop()
        for (source, _), target in TRANSITIONS.items():
            if source == state and target not in reachable:
                reachable.add(target)
                frontier.append(target)
    assert reachable == set(STATES)
    assert "open" not in TRANSITIONS.values()


def test_ballots_only_while_open_and_before_the_close() -> None:
    closes = datetime(2026, 5, 1, 12, tzinfo=UTC)
    before, at = closes - timedelta(seconds=1), closes
    assert accepts_ballots("open", closes, before)
    assert not accepts_ballots("open", closes, at)
    assert not accepts_ballots("withdrawn", closes, before)
    assert is_due_to_close("open", closes, at) and not is_due_to_close("open", closes, before)
    assert not is_due_to_close("closed", closes, at)
