"""The proposal lifecycle table: legal moves, refused moves, and its invariants."""

from __future__ import annotations

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
    state_of,
    transition,
)

STATES = get_args(ProposalState)
EVENTS = get_args(ProposalEvent)


def test_the_legal_moves() -> None:
    assert TRANSITIONS == {
        ("open", "close"): "closed",
        ("closed", "decide"): "decided",
        ("open", "withdraw"): "withdrawn",
    }


@pytest.mark.parametrize(("state", "event"), list(product(STATES, EVENTS)))
def test_every_pair_is_the_table_s_move_or_refused(state, event) -> None:
    """All 4 × 3 (state, event) pairs: those in the table go to its target, the rest raise."""
    if (state, event) in TRANSITIONS:
        assert transition(state, event) == TRANSITIONS[state, event]
    else:
        with pytest.raises(IllegalTransitionError, match=f"a proposal that is {state} cannot {event}"):
            transition(state, event)


def test_the_pairs_cover_every_state_and_event() -> None:
    assert STATES == ("open", "closed", "decided", "withdrawn")
    assert EVENTS == ("close", "decide", "withdraw")
    refused = [pair for pair in product(STATES, EVENTS) if pair not in TRANSITIONS]
    assert len(refused) == 12 - 3


@pytest.mark.parametrize("state", STATES)
def test_state_of_reads_every_stored_state(state) -> None:
    assert state_of(state) == state


@pytest.mark.parametrize("text", ["", "Open", "open ", "deleted"])
def test_state_of_refuses_an_unknown_state(text) -> None:
    with pytest.raises(IllegalTransitionError, match=f"unknown proposal state {text!r}"):
        state_of(text)


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
    """Times are seconds since the epoch; the closing instant itself is already closed."""
    closes = 1_777_636_800.0  # 2026-05-01T12:00:00Z
    before, at, after = closes - 0.001, closes, closes + 1
    assert accepts_ballots("open", closes, before)
    assert not accepts_ballots("open", closes, at)
    assert not accepts_ballots("open", closes, after)
    for state in ("closed", "decided", "withdrawn"):
        assert not accepts_ballots(state, closes, before)
        assert not is_due_to_close(state, closes, after)
    assert is_due_to_close("open", closes, at) and is_due_to_close("open", closes, after)
    assert not is_due_to_close("open", closes, before)


def test_an_open_proposal_either_accepts_ballots_or_is_due() -> None:
    for now in (0.0, 99.999, 100.0, 100.5):
        assert accepts_ballots("open", 100.0, now) != is_due_to_close("open", 100.0, now)
