"""Every address the node serves (DESIGN 3), built from the public base URL."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

NAME_PATTERN = re.compile(r"^[a-z0-9_]{1,30}$")
RESERVED_NAMES = frozenset({"actor", "inbox", "api", "ns", "people", "groups"})


def is_valid_name(name: str) -> bool:
    """Group and person names: ``[a-z0-9_]{1,30}``, one name space, a few reserved."""
    return bool(NAME_PATTERN.match(name)) and name not in RESERVED_NAMES


@dataclass(frozen=True, slots=True)
class Urls:
    base: str

    @property
    def host(self) -> str:
        """host[:port] of the base URL, as used in ``acct:`` handles."""
        return self.base.split("://", 1)[1].split("/", 1)[0]

    def actor(self, kind: str, name: str) -> str:
        """The id of a local actor of ``kind`` (assembly, council, person, instance)."""
        if kind == "instance":
            return f"{self.base}/actor"
        if kind == "person":
            return f"{self.base}/people/{name}"
        return f"{self.base}/groups/{name}"

    def key_id(self, kind: str, name: str) -> str:
        return f"{self.actor(kind, name)}#main-key"

    def ed25519_key_id(self, kind: str, name: str) -> str:
        return f"{self.actor(kind, name)}#ed25519-key"

    def shared_inbox(self) -> str:
        return f"{self.base}/inbox"

    def ns(self) -> str:
        return f"{self.base}/ns"

    def new_activity_id(self) -> str:
        """A fresh dereferenceable id for an activity we publish."""
        return f"{self.base}/activities/{uuid.uuid4().hex}"

    def new_object_id(self) -> str:
        """A fresh dereferenceable id for an object we create."""
        return f"{self.base}/objects/{uuid.uuid4().hex}"

    def proposal(self, proposal_id: int) -> str:
        return f"{self.base}/proposals/{proposal_id}"
