"""A scene for attack tests: a real node with an assembly, remote members on a loopback server,
and a count of every table an attack could change, so a test can assert that nothing moved."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fedassembly.app import accounts
from fedassembly.app import proposals as proposal_uc
from fedassembly.app.clock import now_iso
from fedassembly.app.node import Node
from storage import ballots as ballot_repo
from storage import inbox as inbox_repo
from storage import members as member_repo
from storage.db import Database
from storage.inbox import InboxRecord
from storage.members import Member

from .nodes import RunningNode
from .remote import RemoteActor, RemoteServer, post_signed

AS = "https://www.w3.org/ns/activitystreams"

# Every table a remote activity could write to (directly or by a delivery it causes).
TABLES = (
    "inbox_activities", "ballots", "refused_ballots", "vote_replies", "followers", "following",
    "delegations", "deliveries", "outbox_activities", "objects", "remote_actors", "remote_keys",
    "members", "proposals",
)


@dataclass
class Scene:
    """Assembly "barrio" with facilitator "fac" (local) and remote members on ``remote``."""

    running: RunningNode
    remote: RemoteServer

    @property
    def node(self) -> Node:
        return self.running.node

    @property
    def db(self) -> Database:
        return self.running.node.db

    @property
    def base(self) -> str:
        return self.running.base

    @property
    def group_url(self) -> str:
        return f"{self.base}/groups/barrio"

    @property
    def inbox(self) -> str:
        return f"{self.group_url}/inbox"

    def actor(self, name: str, key_index: int = 0) -> RemoteActor:
        """An actor of the remote server (a member only if the scene was opened with it)."""
        return self.remote.actor(name, key_index)

    async def propose(self, method: str = "single", options: list[str] | None = None) -> int:
        """A new open proposal (closing in 2099); its id."""
        group = await accounts.get_actor(self.node, "barrio")
        fac = await accounts.get_actor(self.node, "fac")
        data = {"title": "Repaint?", "content": "Which colour.", "method": method,
                "options": ["green", "blue", "red"] if options is None else options,
                "closes_at": "2099-01-01T00:00:00Z"}
        return (await proposal_uc.create_proposal(self.node, group, fac, data)).id

    def vote(self, actor: RemoteActor, pid: int, name: str, *, note_id: str | None = None,
             activity_id: str | None = None, **note: Any) -> dict[str, Any]:
        """A Mastodon-shaped vote: Create of an inline Note named ``name``, ids on ``actor``."""
        note_id = note_id or self.remote.new_id(actor, "votes")
        obj = {"id": note_id, "type": "Note", "name": name, "attributedTo": actor.id,
               "inReplyTo": f"{self.base}/proposals/{pid}", "to": self.group_url, **note}
        return {"@context": AS, "id": activity_id or f"{note_id}/activity", "type": "Create",
                "actor": actor.id, "to": self.group_url, "object": obj}

    def follow(self, actor: RemoteActor) -> dict[str, Any]:
        return {"@context": AS, "id": self.remote.new_id(actor), "type": "Follow", "actor": actor.id,
                "object": self.group_url}

    async def post(self, activity: dict[str, Any], signer: RemoteActor, **kw: Any) -> int:
        """POST ``activity`` signed by ``signer`` to the assembly's inbox; the status."""
        status, _ = await post_signed(self.inbox, activity, signer, **kw)
        return status

    async def known(self, *actors: RemoteActor) -> None:
        """Have the node fetch and keep these actors' keys now, so that counts taken next do not
        move when their first activity arrives."""
        for actor in actors:
            await self.node.remote.get(actor.key_id)

    async def counts(self) -> dict[str, int]:
        """Rows per table: equal before and after means the attack changed nothing."""
        found = {}
        for table in TABLES:
            row = await self.db.fetchone(f"SELECT COUNT(*) FROM {table}")
            found[table] = int(row[0]) if row else 0
        return found

    async def leaves(self, pid: int) -> list[tuple[str, dict[str, Any]]]:
        return [(b.voter, b.ballot) for b in await ballot_repo.list_ballots(self.db.reader, pid)]

    async def refused(self, pid: int) -> list[tuple[str, str]]:
        return [(r.voter, r.reason) for r in await ballot_repo.list_refused_ballots(self.db.reader, pid)]

    async def records(self, activity_id: str) -> list[InboxRecord]:
        return await inbox_repo.list_inbox_records(self.db.reader, activity_id)

    async def still_sound(self) -> None:
        """The node still serves and its database is intact."""
        status, _, _ = await self.running.get_ap(self.group_url)
        assert status == 200, "the node must still serve"
        assert await self.db.integrity_check() == "ok"


async def open_scene(running: RunningNode, remote: RemoteServer, members: tuple[str, ...]) -> Scene:
    """Create the assembly, its facilitator and its remote ``members`` on ``running``."""
    await running.group("barrio")
    await running.person("fac")
    node = running.node
    group = await accounts.get_actor(node, "barrio")
    fac = await accounts.get_actor(node, "fac")
    async with node.db.transaction() as conn:
        fac_iri = node.urls.actor("person", "fac")
        await member_repo.put_member(conn, Member(group.id, fac_iri, fac.id, True, now_iso()))
        for name in members:
            member = Member(group.id, remote.actor(name).id, None, False, now_iso())
            await member_repo.put_member(conn, member)
    return Scene(running, remote)
