"""What one poll vote (a Note naming one option) does to a voter's ballot: worked cases, then
properties over sequences of votes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fedassembly.governance.ballots import (
    Ballot,
    Choice,
    Choices,
    Ranking,
    Scores,
    ballot_to_json,
    check_ballot,
    poll_vote,
)
from fedassembly.governance.errors import InvalidBallotError
from fedassembly.governance.model import METHODS, YESNO_OPTIONS, Method

OPTIONS = ("red", "green", "blue")


def options_of(method: Method) -> tuple[str, ...]:
    return YESNO_OPTIONS if method == "yesno" else OPTIONS


def test_single_choice_replaces_the_choice() -> None:
    assert poll_vote("single", OPTIONS, None, "red") == Choice("red")
    assert poll_vote("single", OPTIONS, Choice("red"), "blue") == Choice("blue")
    assert poll_vote("single", OPTIONS, Choice("red"), "red") is None


def test_yesno_replaces_the_choice() -> None:
    assert poll_vote("yesno", YESNO_OPTIONS, None, "yes") == Choice("yes")
    assert poll_vote("yesno", YESNO_OPTIONS, Choice("yes"), "abstain") == Choice("abstain")
    assert poll_vote("yesno", YESNO_OPTIONS, Choice("no"), "no") is None


def test_approval_accumulates_and_a_repeat_changes_nothing() -> None:
    first = poll_vote("approval", OPTIONS, None, "red")
    assert first == Choices(frozenset({"red"}))
    second = poll_vote("approval", OPTIONS, first, "blue")
    assert second == Choices(frozenset({"red", "blue"}))
    assert poll_vote("approval", OPTIONS, second, "red") is None
    # An empty approval ballot (sent through the API) is a ballot approving nothing yet.
    assert poll_vote("approval", OPTIONS, Choices(frozenset()), "green") == Choices(frozenset({"green"}))


def test_ranked_counts_a_vote_as_the_only_first_preference() -> None:
    assert poll_vote("ranked", OPTIONS, None, "green") == Ranking(("green",))
    # It replaces a longer ranking given before, even one that already starts with it.
    assert poll_vote("ranked", OPTIONS, Ranking(("green", "red")), "green") == Ranking(("green",))
    assert poll_vote("ranked", OPTIONS, Ranking(("blue", "red")), "red") == Ranking(("red",))
    assert poll_vote("ranked", OPTIONS, Ranking(("green",)), "green") is None


@pytest.mark.parametrize("option", ["red", "purple", ""])
def test_score_is_wrong_method_whatever_the_option(option: str) -> None:
    """A poll cannot send scores: refused as such before the option is even looked at."""
    with pytest.raises(InvalidBallotError) as refused:
        poll_vote("score", OPTIONS, Scores.of({"red": 3}), option)
    assert refused.value.code == "wrong_method"
    assert refused.value.reason == "a score proposal takes scores, not one choice"


@pytest.mark.parametrize("method", ["single", "approval", "ranked"])
@pytest.mark.parametrize("option", ["Red", "red ", "purple", ""])
def test_an_option_is_matched_exactly(method: Method, option: str) -> None:
    with pytest.raises(InvalidBallotError) as refused:
        poll_vote(method, OPTIONS, None, option)
    assert (refused.value.code, refused.value.reason) == ("unknown_option", f"unknown option {option!r}")


def test_unknown_option_on_approval_with_earlier_approvals() -> None:
    with pytest.raises(InvalidBallotError) as refused:
        poll_vote("approval", OPTIONS, Choices(frozenset({"red"})), "Blue")
    assert refused.value.code == "unknown_option"


def test_yesno_options_are_exact() -> None:
    with pytest.raises(InvalidBallotError) as refused:
        poll_vote("yesno", YESNO_OPTIONS, None, "Yes")
    assert refused.value.code == "unknown_option"


# -- properties ------------------------------------------------------------------------------

names = st.sampled_from(["red", "green", "blue", "yes", "no", "abstain", "Red", "purple"])


def apply(method: Method, votes: list[str]) -> tuple[Ballot | None, list[Ballot | None]]:
    """Fold votes over no ballot: the final ballot and what each vote returned."""
    ballot: Ballot | None = None
    returned = []
    for option in votes:
        new = poll_vote(method, options_of(method), ballot, option)
        returned.append(new)
        ballot = ballot if new is None else new
    return ballot, returned


@given(st.sampled_from([m for m in METHODS if m != "score"]), st.lists(names, max_size=8))
def test_votes_are_refused_exactly_for_options_not_of_the_proposal(method: Method, votes) -> None:
    ballot: Ballot | None = None
    for option in votes:
        try:
            new = poll_vote(method, options_of(method), ballot, option)
        except InvalidBallotError as error:
            assert error.code == "unknown_option" and option not in options_of(method)
            continue
        assert option in options_of(method)
        if new is not None:
            check_ballot(method, options_of(method), new)  # always a ballot the proposal takes
            assert new != ballot
            ballot = new


valid = {method: st.lists(st.sampled_from(options_of(method)), max_size=8) for method in METHODS}
REPLACING: tuple[Method, ...] = ("single", "yesno", "ranked")  # a new vote replaces the ballot
POLLED: tuple[Method, ...] = ("single", "yesno", "approval", "ranked")  # all but score


@given(st.sampled_from(REPLACING).flatmap(lambda m: st.tuples(st.just(m), valid[m])))
def test_a_replacing_method_keeps_the_last_vote(case) -> None:
    method, votes = case
    ballot, returned = apply(method, votes)
    if votes:
        last = votes[-1]
        assert ballot == (Ranking((last,)) if method == "ranked" else Choice(last))
    # A vote changes nothing exactly when it repeats the vote before it.
    for i, new in enumerate(returned):
        assert (new is None) == (i > 0 and votes[i] == votes[i - 1])


@given(valid["approval"])
def test_approvals_are_the_set_of_the_votes_in_any_order(votes) -> None:
    ballot, returned = apply("approval", votes)
    assert ballot == (Choices(frozenset(votes)) if votes else None)
    assert apply("approval", list(reversed(votes)))[0] == ballot
    # A vote changes nothing exactly when its option was approved before.
    assert [new is None for new in returned] == [option in votes[:i] for i, option in enumerate(votes)]
    # Replaying every vote on the final ballot changes nothing.
    assert all(poll_vote("approval", OPTIONS, ballot, option) is None for option in votes)


def merged_as_the_app_did(method: Method, previous: dict | None, name: str) -> dict | None:
    """The JSON rule the application applied before this function (on the stored JSON)."""
    if method == "approval":
        chosen = set(previous.get("choices", [])) if previous else set()
        if name in chosen:
            return None
        return {"choices": sorted(chosen | {name})}
    ballot = {"ranking": [name]} if method == "ranked" else {"choice": name}
    return None if previous is not None and previous == ballot else ballot


def previous_ballots(method: Method) -> st.SearchStrategy[Ballot | None]:
    options = options_of(method)
    if method == "approval":
        ballots: st.SearchStrategy[Ballot] = st.frozensets(st.sampled_from(options)).map(Choices)
    elif method == "ranked":
        ballots = st.permutations(options).flatmap(
            lambda order: st.integers(0, len(order)).map(lambda k: Ranking(tuple(order[:k])))
        )
    else:
        ballots = st.sampled_from(options).map(Choice)
    return st.none() | ballots


@given(
    st.sampled_from(POLLED).flatmap(
        lambda m: st.tuples(st.just(m), previous_ballots(m), st.sampled_from(options_of(m)))
    )
)
def test_same_ballots_as_the_rule_it_replaces(case) -> None:
    method, previous, option = case
    new = poll_vote(method, options_of(method), previous, option)
    expected = merged_as_the_app_did(method, None if previous is None else ballot_to_json(previous), option)
    assert (None if new is None else ballot_to_json(new)) == expected
    assert new is None or new != previous
