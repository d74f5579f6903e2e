"""The inbox's handler table is built explicitly, once, and refuses a type registered twice."""

from __future__ import annotations

import pytest

from fedassembly.app import follows
from fedassembly.app.inbox import InboxHandlers, create_may_affect, is_vote_note
from fedassembly.app.urls import Urls
from fedassembly.main import inbox_handlers

URLS = Urls("https://node.example")


def test_registering_a_type_twice_raises() -> None:
    handlers = InboxHandlers()
    handlers.on("Follow", follows.on_follow, needs_sender=True)
    with pytest.raises(ValueError, match="Follow"):
        handlers.on("Follow", follows.on_accept)


def test_the_shells_table_routes_what_the_node_handles() -> None:
    handlers = inbox_handlers()
    for type_ in ("Follow", "Undo", "Accept", "Delete"):
        assert handlers.may_have_effect(URLS, {"type": type_}), type_
    # Types without a handler are only recorded.
    assert not handlers.may_have_effect(URLS, {"type": "Like"})
    assert not handlers.may_have_effect(URLS, {"type": "Announce"})


def test_a_create_matters_only_as_a_vote_or_a_note_to_a_local_group() -> None:
    vote = {"type": "Note", "name": "yes", "inReplyTo": "https://node.example/proposals/7"}
    assert is_vote_note(vote, URLS) and create_may_affect(URLS, {"object": vote})
    assert not is_vote_note({**vote, "content": "a comment"}, URLS)
    assert not is_vote_note({**vote, "inReplyTo": "https://node.example/proposals/7/ballots"}, URLS)
    assert not is_vote_note({**vote, "inReplyTo": "https://other.example/proposals/7"}, URLS)
    mention = {"type": "Note", "content": "hi", "tag": [{"href": "https://node.example/groups/barrio"}]}
    assert create_may_affect(URLS, {"object": mention})
    stranger = {"type": "Note", "content": "hi", "to": ["https://other.example/users/x"]}
    assert not create_may_affect(URLS, {"object": stranger, "to": ["https://other.example/users/y"]})
    assert not create_may_affect(URLS, {"object": {**vote, "type": "Question"}})
