"""Refusing invalid proposals, each with a precise reason; valid ones frozen as a ProposalSpec.

The ballot rules (`validate_ballot`) live in `ballots`, beside the ballots' JSON shapes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from fedassembly.governance.ballots import validate_ballot
from fedassembly.governance.errors import InvalidProposalError
from fedassembly.governance.model import (
    MAX_OPTIONS,
    MAX_TEXT_LENGTH,
    STATUS_QUO_OPTION,
    THRESHOLDS,
    YESNO_OPTIONS,
    ProposalSpec,
    method_of,
    threshold_of,
)

# The ballot rules live with the ballots; they are named here too, where callers look for them.
__all__ = ["validate_ballot", "validate_proposal"]


def validate_proposal(
    title: str,
    options: Sequence[str] | None,
    method: str,
    threshold: str | None = None,
    quorum: Any = 0,
    area: str | None = None,
    status_quo: bool = False,
) -> ProposalSpec:
    """Check a new proposal's rules and freeze them; `None` threshold means the method's default."""
    checked = method_of(method)
    _check_text("title", title)
    rule = THRESHOLDS[checked][0] if threshold is None else threshold_of(checked, threshold)
    if status_quo is not False and status_quo is not True:
        raise InvalidProposalError("status_quo is true or false")
    if status_quo and checked != "ranked":
        raise InvalidProposalError("status_quo applies to ranked proposals only")
    return ProposalSpec(
        options=_check_options(options, checked, status_quo),
        method=checked,
        threshold=rule,
        quorum=_check_quorum(quorum),
        area=_check_area(area),
        status_quo=status_quo,
    )


def _check_text(what: str, text: Any) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InvalidProposalError(f"the {what} is empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidProposalError(f"the {what} has {len(text)} characters; at most {MAX_TEXT_LENGTH}")
    return text


def _check_options(options: Sequence[str] | None, method: str, status_quo: bool) -> tuple[str, ...]:
    if method == "yesno":
        # Yes/no options are fixed; omitting them is the usual way to create one.
        if not options or (len(options) == len(YESNO_OPTIONS) and set(options) == set(YESNO_OPTIONS)):
            return YESNO_OPTIONS
        raise InvalidProposalError("a yesno proposal has exactly the options yes, no, abstain")
    if options is None or isinstance(options, str):
        raise InvalidProposalError("options are a list of texts")
    result = tuple(options)
    seen: set[str] = set()
    for option in result:
        _check_text("option", option)
        if option == STATUS_QUO_OPTION:
            # Reserved so that a ranked ballot's status quo always means the same thing.
            raise InvalidProposalError(
                f"the option {STATUS_QUO_OPTION!r} is reserved; set status_quo instead"
            )
        if option in seen:
            raise InvalidProposalError(f"the option {option!r} is given twice")
        seen.add(option)
    if status_quo:
        result += (STATUS_QUO_OPTION,)
    if len(result) < 2:
        raise InvalidProposalError("a proposal needs at least two options")
    if len(result) > MAX_OPTIONS:
        raise InvalidProposalError(f"{len(result)} options (status quo included); at most {MAX_OPTIONS}")
    return result


def _check_quorum(quorum: Any) -> Fraction:
    if quorum is None:
        return Fraction(0)
    if isinstance(quorum, bool):
        raise InvalidProposalError("the quorum is a number from 0 to 1")
    if isinstance(quorum, float):
        if not math.isfinite(quorum):
            raise InvalidProposalError("the quorum is a number from 0 to 1")
        # Through its shortest decimal text, so 0.1 becomes 1/10, not a binary approximation.
        quorum = repr(quorum)
    try:
        value = Fraction(quorum)
    except (TypeError, ValueError, ZeroDivisionError):
        raise InvalidProposalError("the quorum is a number from 0 to 1") from None
    if not 0 <= value <= 1:
        raise InvalidProposalError(f"the quorum {quorum} is outside 0..1")
    return value


def _check_area(area: Any) -> str | None:
    if area is None:
        return None
    return _check_text("area", area)
