"""Errors the governance core raises: each names what was refused and why, in words."""

from __future__ import annotations

from typing import Literal

# The refusal codes a reply to a fediverse voter can carry as its `fa:reason`: `unknown_option`
# (an option that is not the proposal's), `wrong_method` (a ballot of a shape the proposal's
# method does not take, such as a poll vote on a score proposal); `invalid` covers the rest
# (malformed JSON, a rank given twice, a score out of range), which only the JSON API can send.
BallotErrorCode = Literal["unknown_option", "wrong_method", "invalid"]


class GovernanceError(Exception):
    """Base of every refusal by the governance core; `reason` is a sentence for a human."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidProposalError(GovernanceError):
    """A proposal's title, options, method, threshold, quorum or area is not acceptable."""


class InvalidBallotError(GovernanceError):
    """A ballot does not fit its proposal; `code` classifies it for a reply to the voter."""

    def __init__(self, reason: str, code: BallotErrorCode = "invalid") -> None:
        super().__init__(reason)
        self.code: BallotErrorCode = code


class InvalidDelegationError(GovernanceError):
    """A delegation cannot be recorded or resolved (self-delegation, malformed scope, duplicate)."""


class InvalidPositionError(GovernanceError):
    """A council position does not fit the question or the council's membership."""


class InvalidAggregateError(GovernanceError):
    """An aggregate's JSON is malformed (wrong shape, unknown rule, bad number)."""


class IllegalTransitionError(GovernanceError):
    """A lifecycle move that the transition table does not allow, or a state it does not know."""
