"""Every address the node serves (DESIGN 3), built from the public base URL."""

from __future__ import annotations

import itertools
import os
import re
import time
from dataclasses import dataclass

NAME_PATTERN = re.compile(r"^[a-z0-9_]{1,30}$")
RESERVED_NAMES = frozenset({"actor", "inbox", "api", "ns", "people", "groups"})


# Ids are names, not secrets (what is not public is never served at its id). Time first, so new
# rows land at the end of the id indexes instead of on random pages of them; unique by a prefix
# drawn once per process (the CLI and the node mint ids side by side) and a counter.
_PROCESS_PREFIX = os.urandom(5).hex()
_COUNTER = itertools.count()


def fresh_id() -> str:
    """A new id for something we publish: time-ordered, unique across processes and restarts."""
    return f"{time.time_ns():x}{_PROCESS_PREFIX}{next(_COUNTER):x}"


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
        return f"{self.base}/activities/{fresh_id()}"

    def new_object_id(self) -> str:
        """A fresh dereferenceable id for an object we create."""
        return f"{self.base}/objects/{fresh_id()}"

    def proposal(self, proposal_id: int) -> str:
        return f"{self.base}/proposals/{proposal_id}"
