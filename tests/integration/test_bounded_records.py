"""What a stranger's large activity costs us: records cut to federation.stored_refusal_bytes,
replies that quote at most federation.reply_excerpt_chars of what they answer.

A real node, real signed requests from a loopback remote server; the database is asserted.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from support.nodes import RunningNode
from support.remote import RemoteActor, RemoteServer, post_signed, signed_headers

from fedassembly.app import accounts
from fedassembly.app import proposals as proposal_uc
from fedassembly.app.clock import now_iso
from storage import ballots as ballot_repo
from storage import members as member_repo
from storage.members import Member

AS = "https://www.w3.org/ns/activitystreams"
KEEP = 1024  # stored_refusal_bytes for these nodes
EXCERPT = 40  # and their reply_excerpt_chars


class Assembly:
    def __init__(self, running: RunningNode, proposal: int) -> None:
        self.running, self.proposal = running, proposal
        self.group_url = f"{running.base}/groups/barrio"

    async def send(self, actor: RemoteActor, note: dict[str, Any]) -> dict[str, Any]:
        """A signed Create of ``note``, sent as UTF-8 (not \\u-escaped), accepted."""
        note_id = f"{actor.id}/notes/{uuid.uuid4().hex}"
        activity = {"@context": AS, "id": f"{note_id}/activity", "type": "Create", "actor": actor.id,
                    "to": note.get("to", self.group_url),
                    "object": {"id": note_id, "type": "Note", "attributedTo": actor.id, **note}}
        inbox = f"{self.group_url}/inbox"
        body = json.dumps(activity, ensure_ascii=False).encode()
        headers = signed_headers(actor, inbox, body)
        status, _ = await post_signed(inbox, activity, actor, body=body, headers=headers)
        assert status == 202
        return activity

    def vote(self, name: str) -> dict[str, Any]:
        return {"name": name, "inReplyTo": f"{self.running.base}/proposals/{self.proposal}",
                "to": self.group_url}

    async def stored_bytes(self, sql: str, *args: Any) -> list[int]:
        rows = await self.running.node.db.fetchall(sql, args)
        return [int(row[0]) for row in rows]


@pytest.fixture
async def assembly(nodes, remote: RemoteServer) -> Assembly:
    running = await nodes("a", stored_refusal_bytes=KEEP, reply_excerpt_chars=EXCERPT)
    node = running.node
    await running.group("barrio")
    await running.person("fac")
    group, fac = await accounts.get_actor(node, "barrio"), await accounts.get_actor(node, "fac")
    async with node.db.transaction() as conn:
        fac_iri = f"{running.base}/people/fac"
        await member_repo.put_member(conn, Member(group.id, fac_iri, fac.id, True, now_iso()))
        await member_repo.put_member(conn, Member(group.id, remote.actor("rita").id, None, False, now_iso()))
    proposal = await proposal_uc.create_proposal(node, group, fac, {
        "title": "Repaint?", "content": "Which colour.", "method": "single",
        "options": ["green", "blue"], "closes_at": "2099-01-01T00:00:00Z",
    })
    return Assembly(running, proposal.id)


async def test_a_strangers_large_vote_is_kept_cut(assembly: Assembly, remote: RemoteServer) -> None:
    stranger = remote.actor("stranger")
    activity = await assembly.send(stranger, assembly.vote("g" * 300_000))
    [refused] = await ballot_repo.list_refused_ballots(assembly.running.node.db.reader, assembly.proposal)
    assert (refused.voter, refused.reason) == (stranger.id, "not_member")
    assert refused.note["truncated_from_bytes"] > 300_000
    assert await assembly.stored_bytes("SELECT length(CAST(note AS BLOB)) FROM refused_ballots") == [
        pytest.approx(KEEP, abs=8)
    ]
    [kept] = await assembly.stored_bytes(
        "SELECT length(CAST(body AS BLOB)) FROM inbox_activities WHERE id = ?", activity["id"]
    )
    assert KEEP - 4 <= kept <= KEEP


async def test_a_large_activity_without_effect_is_recorded_cut_to_the_limit(
    assembly: Assembly, remote: RemoteServer,
) -> None:
    public = {"content": "<p>" + "é" * 300_000 + "</p>", "to": f"{AS}#Public"}
    activity = await assembly.send(remote.actor("chatty"), public)
    [kept] = await assembly.stored_bytes(
        "SELECT length(CAST(body AS BLOB)) FROM inbox_activities WHERE id = ?", activity["id"]
    )
    assert KEEP - 4 <= kept <= KEEP
    small = await assembly.send(remote.actor("chatty"), {"content": "<p>hi</p>", "to": f"{AS}#Public"})
    [whole] = await assembly.stored_bytes(
        "SELECT length(CAST(body AS BLOB)) FROM inbox_activities WHERE id = ?", small["id"]
    )
    assert 200 < whole < KEEP


def replies_to(actor: RemoteActor, in_reply_to: str) -> Callable[[dict[str, Any]], bool]:
    return lambda a: (a.get("type") == "Create" and a["object"].get("to") == [actor.id]
                      and a["object"].get("inReplyTo") == in_reply_to)


async def test_a_refusal_reply_quotes_only_an_excerpt_of_the_unknown_option(
    assembly: Assembly, remote: RemoteServer,
) -> None:
    rita = remote.actor("rita")
    await assembly.send(rita, assembly.vote("purple" + "p" * 20_000))
    proposal_url = f"{assembly.running.base}/proposals/{assembly.proposal}"
    [reply] = await remote.wait_for(replies_to(rita, proposal_url))
    content = reply["object"]["content"]
    assert reply["object"]["fa:reason"] == "unknown_option"
    assert "“purple" + "p" * (EXCERPT - 7) + "…”" in content
    assert "p" * EXCERPT not in content and len(content) < 1000


async def test_a_command_reply_quotes_only_an_excerpt_of_the_words_it_answers(
    assembly: Assembly, remote: RemoteServer,
) -> None:
    rita = remote.actor("rita")
    group = assembly.group_url
    mention = f'<span class="h-card"><a href="{group}" class="u-url mention">@<span>barrio</span></a></span>'

    async def command(words: str) -> str:
        note = {"content": f"<p>{mention} {words}</p>", "to": [group],
                "tag": [{"type": "Mention", "href": group, "name": "@barrio@x"}]}
        sent = await assembly.send(rita, note)
        [reply] = await remote.wait_for(replies_to(rita, sent["object"]["id"]))
        return str(reply["object"]["content"])

    # Long, yet under the 5,000 characters a command may have (a longer Note is no command).
    nobody = "@nobody" + "o" * 3_000 + "@elsewhere.example"
    content = await command(f"delegate {nobody}")
    assert f"Nothing changed: {nobody[: EXCERPT - 1]}… is not a member of barrio." in content
    assert len(content) < 1000
    area = "the community garden and its " + "very " * 10 + "long list of beds"  # under 100: a valid area
    content = await command(f"revoke {area}")
    quoted = f"&quot;{area[: EXCERPT - 1]}…&quot;"
    assert f"You had no delegation in the area {quoted}; nothing changed." in content
    assert area not in content
