"""Our addresses are built and parsed in one place; what is built parses back, nothing else does."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from fedassembly.app.urls import Urls, handle, parse_id, split_handle

URLS = Urls("https://node.example:8443")
NAMES = st.from_regex(r"[a-z0-9_]{1,30}", fullmatch=True)


@given(NAMES, st.sampled_from(["assembly", "council", "person"]))
def test_actor_urls_parse_back(name: str, kind: str) -> None:
    section = "people" if kind == "person" else "groups"
    assert URLS.actor_name(URLS.actor(kind, name)) == (section, name)


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_proposal_urls_parse_back(proposal_id: int) -> None:
    assert URLS.proposal_id(URLS.proposal(proposal_id)) == proposal_id
    assert URLS.proposal_id(URLS.decision(proposal_id)) is None


def test_what_is_not_exactly_ours_does_not_parse() -> None:
    for url in (
        "https://node.example:8443/groups/barrio/followers",
        "https://node.example:8443/groups/Barrio",
        "https://node.example/groups/barrio",  # another origin: the port differs
        "https://node.example:8443.evil/groups/barrio",
        "https://node.example:8443/people/",
        None,
        42,
    ):
        assert URLS.actor_name(url) is None, url
    assert URLS.is_group_address("https://node.example:8443/groups/barrio/followers")
    assert not URLS.is_group_address("https://node.example:8443.evil/groups/barrio")


def test_path_ids_are_ascii_digits_within_64_bits() -> None:
    assert parse_id("7") == 7 and parse_id(str(2**63 - 1)) == 2**63 - 1
    for text in ("", "-1", "1e3", "٣", "²", str(2**63), "07x", " 7"):
        assert parse_id(text) is None, text


def test_handles() -> None:
    assert handle("Ana", "https://Social.Example:443/users/ana") == "@Ana@social.example:443"
    assert URLS.local_handle("barrio") == "@barrio@node.example:8443"
    assert split_handle("@ana@social.example") == ("ana", "social.example")
    assert split_handle("acct:ana@social.example") == ("ana", "social.example")
    assert split_handle("ana") is None and split_handle("@ana@a@b") is None
