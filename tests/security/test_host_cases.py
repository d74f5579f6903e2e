"""Attack cases 31, 32 (see README.md here), host normalisation and lookalikes: what "the same
origin" means for the inbox's id rule, as a pure function and through a node."""

from __future__ import annotations

from typing import Any

from support.scene import Scene

from federation.addresses import host_of, is_on_origin_of, origin_of
from federation.inbox import origin_refusal

SOCIAL = "https://mastodon.social/users/x"


def test_case_31_lookalike_hosts_are_other_origins() -> None:
    # CVE-2023-42451: stripping "/" made mastodon.so/cial into mastodon.social.
    assert not is_on_origin_of("https://mastodon.so/cial/users/x#votes/1", SOCIAL)
    assert host_of("https://mastodon.so/cial/users/x") == "mastodon.so"
    for lookalike in (
        "https://mastodon.social.evil.net/users/x",
        "https://mastodon.social@evil.net/users/x",  # userinfo: on evil.net
        "https://mastodon.social:@evil.net/users/x",
        "https://evil.net\\@mastodon.social/users/x",
        "https://xn--mastodon-social.net/users/x",
        "//mastodon.social/users/x",
        "mastodon.social/users/x",
        "https:/mastodon.social/users/x",
    ):
        assert not is_on_origin_of(lookalike, SOCIAL), lookalike
    assert origin_of("https://user@mastodon.social/") is None


def test_case_32_case_and_one_trailing_dot_do_not_matter_the_port_does() -> None:
    assert is_on_origin_of("https://MASTODON.social./users/x#votes/1", SOCIAL)
    assert is_on_origin_of("HTTPS://mastodon.social:443/users/x", SOCIAL)
    assert is_on_origin_of("https://mastodon.social", SOCIAL)
    assert is_on_origin_of("https://mastodon.social?x", SOCIAL)
    assert is_on_origin_of("https://mastodon.social#a", SOCIAL)
    assert not is_on_origin_of("https://mastodon.social:8443/users/x", SOCIAL)
    assert not is_on_origin_of("http://mastodon.social/users/x", SOCIAL)
    assert not is_on_origin_of("https://mastodon.social.../users/x", SOCIAL)
    assert is_on_origin_of("https://mastodon.social/a", "https://Mastodon.Social.:443/users/x")


async def test_case_32_through_a_node(scene: Scene) -> None:
    pid = await scene.propose("approval")
    alice = scene.actor("alice")
    port = scene.remote.port
    spelled = {
        "green": f"HTTP://127.0.0.1.:{port}/users/alice#votes/1",  # the same origin, spelled otherwise
        "blue": f"http://127.0.0.1:{port + 1}/users/alice#votes/2",  # another port: another origin
        "red": f"http://127.0.0.1.nip.io:{port}/users/alice#votes/3",  # a lookalike host
    }
    for name, note_id in spelled.items():
        vote = scene.vote(alice, pid, name, note_id=note_id, activity_id=f"{alice.id}#votes/{name}")
        assert await scene.post(vote, alice) == 202
    assert await scene.leaves(pid) == [(alice.id, {"choices": ["green"]})]


def activity(type_: str, obj: Any, actor: str = SOCIAL, id_: str = f"{SOCIAL}#a/1") -> dict[str, Any]:
    return {"id": id_, "type": type_, "actor": actor, "object": obj}


def test_the_rule_covers_what_create_update_and_delete_act_on_and_nothing_else() -> None:
    ours = "https://assembly.example/groups/barrio"
    for type_ in ("Follow", "Like", "Undo", "Accept", "Announce"):
        assert origin_refusal(activity(type_, ours)) is None  # their objects are other people's
    for type_ in ("Create", "Update", "Delete"):
        assert origin_refusal(activity(type_, {"id": f"{SOCIAL}#n/1", "type": "Note"})) is None
        assert origin_refusal(activity(type_, {"type": "Note"})) is None  # no id claims nothing
        assert origin_refusal(activity(type_, ours)) is not None
        assert origin_refusal(activity(type_, {"id": ours})) is not None
        assert origin_refusal(activity(type_, [{"id": f"{SOCIAL}#n/1"}, {"id": ours}])) is not None
        assert origin_refusal(activity(type_, {"id": 7})) is not None
        assert origin_refusal(activity(type_, None)) is not None
    assert origin_refusal(activity("Like", ours, id_="https://evil.example/a/1")) is not None
    long_id = "https://evil.example/" + "x" * 100_000
    refusal = origin_refusal(activity("Like", ours, id_=long_id))
    assert refusal is not None and len(refusal) < 600  # one log line, not the sender's megabyte
