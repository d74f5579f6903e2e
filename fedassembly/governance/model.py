"""Plain values shared by the governance core: ids, methods, thresholds, proposals, outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal, TypeAlias

from fedassembly.governance.errors import InvalidProposalError

# Ids stay plain `str` (actor IRIs, proposal ids) rather than NewType wrappers: every caller
# already holds them as strings from JSON or SQL, and a wrapper would only add casts there.
MemberId: TypeAlias = str
ProposalId: TypeAlias = str

Method = Literal["single", "approval", "yesno", "ranked", "score"]
Threshold = Literal["plurality", "majority", "two_thirds", "consensus", "schulze", "highest_total"]
Status = Literal["decided", "tie", "no_quorum", "no_majority"]

METHODS: tuple[Method, ...] = ("single", "approval", "yesno", "ranked", "score")

# The thresholds each method accepts, its default first: single choice by plurality or by more
# than half of the weight cast; yes/no by majority, two thirds or consensus. Methods whose rule
# is fixed by the method itself still name it, so a stored rule always says how it was decided.
THRESHOLDS: dict[Method, tuple[Threshold, ...]] = {
    "single": ("plurality", "majority"),
    "approval": ("plurality",),
    "yesno": ("majority", "two_thirds", "consensus"),
    "ranked": ("schulze",),
    "score": ("highest_total",),
}



def method_of(text: str) -> Method:
    """A stored or sent method name as a Method, or InvalidProposalError for an unknown one."""
    for method in METHODS:
        if text == method:
            return method
    raise InvalidProposalError(f"unknown method {text!r}; use one of {', '.join(METHODS)}")


def threshold_of(method: Method, text: str) -> Threshold:
    """A threshold name as a Threshold, or InvalidProposalError unless `method` takes it."""
    allowed = THRESHOLDS[method]
    for threshold in allowed:
        if text == threshold:
            return threshold
    raise InvalidProposalError(
        f"threshold {text!r} does not fit method {method!r}; use {' or '.join(allowed)}"
    )


YESNO_OPTIONS: tuple[str, str, str] = ("yes", "no", "abstain")
STATUS_QUO_OPTION = "keep things as they are"
MAX_OPTIONS = 20
MAX_TEXT_LENGTH = 200
MIN_SCORE = 0
MAX_SCORE = 5


@dataclass(frozen=True, slots=True)
class ProposalSpec:
    """The frozen rules of one proposal; `options` already include the status-quo option."""

    options: tuple[str, ...]
    method: Method
    threshold: Threshold
    quorum: Fraction
    area: str | None
    status_quo: bool


@dataclass(frozen=True, slots=True)
class TallyRow:
    """One option's weight: from its direct voters, from the weight they carried, and both."""

    name: str
    direct: int
    delegated: int
    total: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """What was decided; `passed` is set for yes/no questions only, None otherwise."""

    status: Status
    winners: tuple[str, ...]
    passed: bool | None = None
