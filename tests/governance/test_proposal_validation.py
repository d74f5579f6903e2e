"""Proposals and ballots are refused with a precise reason; valid ones are frozen as given."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fedassembly.governance.ballots import (
    Choice,
    Choices,
    Ranking,
    Scores,
    ballot_from_json,
    ballot_to_json,
)
from fedassembly.governance.errors import InvalidBallotError, InvalidProposalError
from fedassembly.governance.model import (
    METHODS,
    STATUS_QUO_OPTION,
    THRESHOLDS,
    YESNO_OPTIONS,
    method_of,
    threshold_of,
)
from fedassembly.governance.validation import validate_ballot, validate_proposal


def test_defaults_per_method() -> None:
    """single→plurality, yesno→majority with fixed options, others name their fixed rule."""
    assert validate_proposal("t", ["a", "b"], "single").threshold == "plurality"
    yesno = validate_proposal("t", None, "yesno")
    assert (yesno.threshold, yesno.options) == ("majority", YESNO_OPTIONS)
    assert validate_proposal("t", ["a", "b"], "approval").threshold == "plurality"
    assert validate_proposal("t", ["a", "b"], "ranked").threshold == "schulze"
    assert validate_proposal("t", ["a", "b"], "score").threshold == "highest_total"


def test_quorum_is_exact() -> None:
    """A JSON float quorum becomes the fraction its decimal text says, not a binary one."""
    assert validate_proposal("t", ["a", "b"], "single", quorum=0.1).quorum == Fraction(1, 10)
    assert validate_proposal("t", ["a", "b"], "single", quorum=1).quorum == 1
    assert validate_proposal("t", ["a", "b"], "single", quorum=None).quorum == 0


def test_status_quo_is_appended_to_ranked_options() -> None:
    spec = validate_proposal("t", ["a"], "ranked", status_quo=True)
    assert spec.options == ("a", STATUS_QUO_OPTION)
    assert spec.status_quo


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("t", ["a", "a"], "single"), "the option 'a' is given twice"),
        (("t", ["a", ""], "single"), "the option is empty"),
        (("t", ["a", "  "], "single"), "the option is empty"),
        (("t", [], "single"), "a proposal needs at least two options"),
        (("t", ["a"], "approval"), "a proposal needs at least two options"),
        (("t", [str(i) for i in range(21)], "single"), "21 options (status quo included); at most 20"),
        (("t", ["a", "x" * 201], "single"), "the option has 201 characters; at most 200"),
        (("", ["a", "b"], "single"), "the title is empty"),
        (
            ("t", ["a", "b"], "plural"),
            "unknown method 'plural'; use one of single, approval, yesno, ranked, score",
        ),
        (
            ("t", ["a", "b"], "single", "two_thirds"),
            "threshold 'two_thirds' does not fit method 'single'; use plurality or majority",
        ),
        (
            ("t", None, "yesno", "plurality"),
            "threshold 'plurality' does not fit method 'yesno'; use majority or two_thirds or consensus",
        ),
        (
            ("t", ["a", "b"], "ranked", "majority"),
            "threshold 'majority' does not fit method 'ranked'; use schulze",
        ),
        (("t", ["a", "b"], "single", None, Fraction(3, 2)), "the quorum 3/2 is outside 0..1"),
        (("t", ["a", "b"], "single", None, -0.1), "the quorum -0.1 is outside 0..1"),
        (("t", ["a", "b"], "single", None, float("nan")), "the quorum is a number from 0 to 1"),
        (("t", ["a", "b"], "single", None, "lots"), "the quorum is a number from 0 to 1"),
        (("t", ["a", "b"], "single", None, True), "the quorum is a number from 0 to 1"),
        (("t", ["yes", "no"], "yesno"), "a yesno proposal has exactly the options yes, no, abstain"),
        (("t", ["a", "b"], "single", None, 0, None, True), "status_quo applies to ranked proposals only"),
        (
            ("t", ["a", STATUS_QUO_OPTION], "ranked"),
            f"the option {STATUS_QUO_OPTION!r} is reserved; set status_quo instead",
        ),
        (("t", ["a", "b"], "single", None, 0, ""), "the area is empty"),
    ],
)
def test_invalid_proposals(args: tuple, reason: str) -> None:
    with pytest.raises(InvalidProposalError) as refused:
        validate_proposal(*args)
    assert refused.value.reason == reason


def test_twenty_options_with_status_quo_is_the_limit() -> None:
    assert len(validate_proposal("t", [str(i) for i in range(19)], "ranked", status_quo=True).options) == 20
    with pytest.raises(InvalidProposalError):
        validate_proposal("t", [str(i) for i in range(20)], "ranked", status_quo=True)


@pytest.mark.parametrize("method", METHODS)
def test_stored_method_and_threshold_names_are_read_back(method) -> None:
    assert method_of(method) == method
    for threshold in THRESHOLDS[method]:
        assert threshold_of(method_of(method), threshold) == threshold


@pytest.mark.parametrize("text", ["", "Single", "plural", "ranked "])
def test_method_of_refuses_an_unknown_method(text) -> None:
    with pytest.raises(InvalidProposalError, match=f"unknown method {text!r}; use one of single,"):
        method_of(text)


@pytest.mark.parametrize(
    ("method", "text"),
    [("single", "two_thirds"), ("ranked", "plurality"), ("yesno", "Majority"), ("score", "")],
)
def test_threshold_of_refuses_one_its_method_does_not_take(method, text) -> None:
    with pytest.raises(InvalidProposalError, match=f"threshold {text!r} does not fit method {method!r}"):
        threshold_of(method, text)


SINGLE = validate_proposal("t", ["a", "b", "c"], "single")
APPROVAL = validate_proposal("t", ["a", "b", "c"], "approval")
RANKED = validate_proposal("t", ["a", "b", "c"], "ranked")
SCORE = validate_proposal("t", ["a", "b", "c"], "score")
YESNO = validate_proposal("t", None, "yesno")


@pytest.mark.parametrize(
    ("spec", "ballot", "reason", "code"),
    [
        (SINGLE, Choice("d"), "unknown option 'd'", "unknown_option"),
        (
            SINGLE,
            Choices(frozenset({"a", "b"})),
            "a single proposal takes exactly one choice, not 2",
            "wrong_method",
        ),
        (YESNO, Choices(frozenset()), "a yesno proposal takes exactly one choice, not 0", "wrong_method"),
        (SINGLE, Ranking(("a",)), "a single proposal takes one choice, not a ranking", "wrong_method"),
        (APPROVAL, Choices(frozenset({"a", "z"})), "unknown option 'z'", "unknown_option"),
        (
            APPROVAL,
            Choice("a"),
            "an approval proposal takes a set of choices, not one choice",
            "wrong_method",
        ),
        (RANKED, Ranking(("a", "b", "a")), "option 'a' is ranked twice", "invalid"),
        (RANKED, Ranking(("a", "q")), "unknown option 'q'", "unknown_option"),
        (SCORE, Scores((("a", 6),)), "the score of 'a' is 6, outside 0..5", "invalid"),
        (SCORE, Scores((("a", -1),)), "the score of 'a' is -1, outside 0..5", "invalid"),
        (SCORE, Scores((("a", 1), ("a", 2))), "option 'a' is scored twice", "invalid"),
        (SCORE, Scores((("a", True),)), "the score of 'a' is not an integer", "invalid"),
        (SCORE, Scores((("x", 1),)), "unknown option 'x'", "unknown_option"),
        (YESNO, Choice("maybe"), "unknown option 'maybe'", "unknown_option"),
        (
            SINGLE,
            Choices(frozenset({"a"})),
            "a single proposal takes one choice, not a set of choices",
            "wrong_method",
        ),
        (SCORE, Choice("zzz"), "a score proposal takes scores, not one choice", "wrong_method"),
        (RANKED, Scores((("a", 1),)), "a ranked proposal takes a ranking, not scores", "wrong_method"),
        (
            APPROVAL,
            Ranking(("a",)),
            "an approval proposal takes a set of choices, not a ranking",
            "wrong_method",
        ),
    ],
)
def test_invalid_ballots(spec, ballot, reason: str, code: str) -> None:
    with pytest.raises(InvalidBallotError) as refused:
        validate_ballot(spec, ballot)
    assert (refused.value.reason, refused.value.code) == (reason, code)


@pytest.mark.parametrize(
    ("spec", "ballot"),
    [
        (SINGLE, Choice("a")),
        (YESNO, Choice("abstain")),
        (APPROVAL, Choices(frozenset())),
        (APPROVAL, Choices(frozenset({"a", "c"}))),
        (RANKED, Ranking(("c",))),
        (RANKED, Ranking(("c", "a", "b"))),
        (SCORE, Scores.of({"a": 0, "c": 5})),
    ],
)
def test_valid_ballots(spec, ballot) -> None:
    validate_ballot(spec, ballot)


@pytest.mark.parametrize(
    ("method", "data", "ballot"),
    [
        ("single", {"choice": "a"}, Choice("a")),
        ("single", {"choices": ["a"]}, Choice("a")),
        ("single", {"choices": ["a", "b"]}, Choices(frozenset({"a", "b"}))),
        ("approval", {"choice": "a"}, Choices(frozenset({"a"}))),
        ("approval", {"choices": ["b", "a", "b"]}, Choices(frozenset({"a", "b"}))),
        ("ranked", {"choice": "a"}, Ranking(("a",))),
        ("ranked", {"ranking": ["b", "a"]}, Ranking(("b", "a"))),
        ("score", {"scores": {"b": 2, "a": 5}}, Scores((("a", 5), ("b", 2)))),
    ],
)
def test_ballot_json(method, data, ballot) -> None:
    """JSON shapes map to ballots; equivalent shapes become the method's own."""
    assert ballot_from_json(method, data) == ballot
    assert ballot_from_json(method, ballot_to_json(ballot)) == ballot


SHAPE = "a ballot has exactly one of the keys choice, choices, ranking, scores"


@pytest.mark.parametrize(
    ("method", "data", "code", "reason"),
    [
        ("score", ["a"], "invalid", "a ballot is a JSON object"),
        ("score", {}, "invalid", SHAPE),
        ("score", {"choice": "a", "ranking": ["a"]}, "invalid", SHAPE),
        ("score", {"vote": "a"}, "invalid", SHAPE),
        ("score", {"scores": {"a": 1}, "vote": "a"}, "invalid", SHAPE),
        ("score", {"scores": ["a"]}, "invalid", '"scores" is an object of option names to integers'),
        ("score", {"scores": {"a": 2.5}}, "invalid", "the score of 'a' is not an integer"),
        ("score", {"scores": {"a": True}}, "invalid", "the score of 'a' is not an integer"),
        ("single", {"choice": 3}, "invalid", "an option is named by its text, a string"),
        ("single", {"choices": ["a", 1]}, "invalid", "an option is named by its text, a string"),
        ("approval", {"choices": "a"}, "invalid", '"choices" is a list of option names'),
        ("ranked", {"ranking": "a"}, "invalid", '"ranking" is a list of option names'),
        # A shape the method does not take is refused as such, whatever it holds.
        ("score", {"choice": 3}, "wrong_method", "a score proposal takes scores, not one choice"),
        ("score", {"choices": "a"}, "wrong_method", "a score proposal takes scores, not a set of choices"),
        ("score", {"ranking": [1]}, "wrong_method", "a score proposal takes scores, not a ranking"),
        ("single", {"scores": {"a": 1}}, "wrong_method", "a single proposal takes one choice, not scores"),
        ("yesno", {"scores": {"a": 2.5}}, "wrong_method", "a yesno proposal takes one choice, not scores"),
        ("single", {"ranking": ["a"]}, "wrong_method", "a single proposal takes one choice, not a ranking"),
        (
            "approval",
            {"ranking": ["a"]},
            "wrong_method",
            "an approval proposal takes a set of choices, not a ranking",
        ),
        (
            "ranked",
            {"choices": ["a"]},
            "wrong_method",
            "a ranked proposal takes a ranking, not a set of choices",
        ),
    ],
)
def test_malformed_ballot_json(method, data, code: str, reason: str) -> None:
    with pytest.raises(InvalidBallotError) as refused:
        ballot_from_json(method, data)
    assert (refused.value.code, refused.value.reason) == (code, reason)


@pytest.mark.parametrize(
    ("spec", "data", "code", "reason"),
    [
        (SINGLE, {"choice": "d"}, "unknown_option", "unknown option 'd'"),
        (SINGLE, {"choice": "A"}, "unknown_option", "unknown option 'A'"),  # exact, case-sensitive
        (
            SINGLE,
            {"choices": ["a", "b"]},
            "wrong_method",
            "a single proposal takes exactly one choice, not 2",
        ),
        (YESNO, {"choices": []}, "wrong_method", "a yesno proposal takes exactly one choice, not 0"),
        (APPROVAL, {"choices": ["a", "zz"]}, "unknown_option", "unknown option 'zz'"),
        (RANKED, {"choice": "q"}, "unknown_option", "unknown option 'q'"),
        (RANKED, {"ranking": ["b", "b"]}, "invalid", "option 'b' is ranked twice"),
        (SCORE, {"scores": {"a": 9}}, "invalid", "the score of 'a' is 9, outside 0..5"),
        (SCORE, {"scores": {"x": 9}}, "unknown_option", "unknown option 'x'"),
        (SCORE, {"choice": "x"}, "wrong_method", "a score proposal takes scores, not one choice"),
    ],
)
def test_json_ballot_refusals_carry_their_code(spec, data, code: str, reason: str) -> None:
    """The API's path: read the JSON for the method, then check it against the proposal."""
    with pytest.raises(InvalidBallotError) as refused:
        validate_ballot(spec, ballot_from_json(spec.method, data))
    assert (refused.value.code, refused.value.reason) == (code, reason)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
_READS = {
    "single": {"choice", "choices"},
    "yesno": {"choice", "choices"},
    "approval": {"choice", "choices"},
    "ranked": {"choice", "ranking"},
    "score": {"scores"},
}


@given(st.sampled_from(METHODS), st.sampled_from(["choice", "choices", "ranking", "scores"]), _json)
def test_a_shape_the_method_does_not_take_is_wrong_method(method, key, value) -> None:
    """Whatever the value, only the key decides `wrong_method`; a read key is never refused so."""
    try:
        ballot_from_json(method, {key: value})
    except InvalidBallotError as error:
        assert (error.code == "wrong_method") == (key not in _READS[method])
    else:
        assert key in _READS[method]
