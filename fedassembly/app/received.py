"""What an inbox handler is given: the verified activity, the sender, and lookups of our actors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fedassembly.app.node import Node
from federation.inbox import VerifiedActivity
from storage import actors as actor_repo
from storage.actors import LocalActor
from storage.db import Connection
from storage.remote import RemoteActor

_KINDS = {"groups": ("assembly", "council"), "people": ("person",)}


@dataclass(frozen=True, slots=True)
class Received:
    """A verified activity, its node, and the sender's actor document when the handler needs it."""

    node: Node
    verified: VerifiedActivity
    sender: RemoteActor | None

    @property
    def activity(self) -> dict[str, Any]:
        return self.verified.activity


def object_id(value: Any) -> str | None:
    """The id of an activity's ``object``: the string itself or an embedded object's ``id``."""
    if isinstance(value, str):
        return value
    found = value.get("id") if isinstance(value, dict) else None
    return found if isinstance(found, str) else None


async def local_actor_by_url(node: Node, conn: Connection, url: str | None) -> LocalActor | None:
    """The local group or person whose id is ``url``."""
    found = node.urls.actor_name(url)
    if found is None:
        return None
    actor = await actor_repo.get_actor_by_name(conn, found[1])
    return actor if actor is not None and actor.kind in _KINDS[found[0]] else None


class InboxOwners:
    """Which local actor owns ``/groups/NAME/inbox`` or ``/people/NAME/inbox``, remembered.

    Local actors are never deleted and never change name or kind, so an owner once found stays
    valid: a busy inbox skips the read (a thread hand-off) on every POST.
    """

    def __init__(self) -> None:
        self._kinds: dict[str, str] = {}

    async def has_inbox(self, node: Node, section: str, name: str) -> bool:
        """Whether ``section/name`` (groups or people) is a local actor with an inbox."""
        kind = self._kinds.get(name)
        if kind is None:
            actor = await actor_repo.get_actor_by_name(node.db.reader, name)
            if actor is None:
                return False
            kind = self._kinds[name] = actor.kind
        return kind in _KINDS.get(section, ())
