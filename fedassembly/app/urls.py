"""Every address the node serves, built and parsed in one place, from the public base URL.

Building and parsing live side by side so that they cannot drift: whatever ``Urls`` builds,
its parsers read back, and nothing else in the application slices our URLs by hand. The
addresses are listed in docs/protocol.md ("Addresses").
"""

from __future__ import annotations

import itertools
import os
import re
import time
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from storage.remote import RemoteActor

NAME_PATTERN = re.compile(r"^[a-z0-9_]{1,30}$")
RESERVED_NAMES = frozenset({"actor", "inbox", "api", "ns", "people", "groups"})
# Path ids are ASCII digits that fit SQLite's signed 64-bit integers.
_ID_PATTERN = re.compile(r"[0-9]{1,19}")
MAX_ID = 2**63 - 1

ActorSection = Literal["groups", "people"]
GROUP_KINDS = ("assembly", "council")

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


def parse_id(text: str) -> int | None:
    """A numeric id from a URL path: ASCII digits within 64 bits, else None."""
    if not _ID_PATTERN.fullmatch(text):
        return None
    value = int(text)
    return value if value <= MAX_ID else None


def handle(username: str, actor_url: str) -> str:
    """``@user@host[:port]`` as Mastodon writes a mention: the host lower-cased, the port only
    when the URL names one."""
    return f"@{username}@{urlsplit(actor_url).netloc.lower()}"


def handle_of(actor: RemoteActor) -> str:
    """How a remote actor is named and mentioned: ``@user@host``, or its IRI without a username."""
    return handle(actor.preferred_username, actor.id) if actor.preferred_username else actor.id


def split_handle(who: str) -> tuple[str, str] | None:
    """``(user, host)`` of ``@user@host`` or ``acct:user@host``, else None."""
    text = who.removeprefix("acct:").removeprefix("@")
    user, sep, host = text.partition("@")
    if not sep or not user or not host or "@" in host or "/" in host:
        return None
    return user, host


def section_of(kind: str) -> ActorSection:
    """The path section of a local actor kind: groups (assemblies, councils) or people."""
    return "people" if kind == "person" else "groups"


@dataclass(frozen=True, slots=True)
class Urls:
    base: str
    # ``BASE/groups/``: tested against every recipient of every activity the inbox receives.
    group_prefix: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "group_prefix", f"{self.base}/groups/")

    @property
    def host(self) -> str:
        """host[:port] of the base URL, as used in ``acct:`` handles."""
        return self.base.split("://", 1)[1].split("/", 1)[0]

    # -- building ----------------------------------------------------------------------------

    def actor(self, kind: str, name: str) -> str:
        """The id of a local actor of ``kind`` (assembly, council, person, instance)."""
        if kind == "instance":
            return f"{self.base}/actor"
        return f"{self.base}/{section_of(kind)}/{name}"

    def followers(self, kind: str, name: str) -> str:
        return f"{self.actor(kind, name)}/followers"

    def key_id(self, kind: str, name: str) -> str:
        return f"{self.actor(kind, name)}#main-key"

    def ed25519_key_id(self, kind: str, name: str) -> str:
        return f"{self.actor(kind, name)}#ed25519-key"

    def local_handle(self, name: str) -> str:
        """``@name@host`` of a local actor."""
        return f"@{name}@{self.host}"

    def shared_inbox(self) -> str:
        return f"{self.base}/inbox"

    def new_activity_id(self) -> str:
        """A fresh dereferenceable id for an activity we publish."""
        return f"{self.base}/activities/{fresh_id()}"

    def new_object_id(self) -> str:
        """A fresh dereferenceable id for an object we create."""
        return f"{self.base}/objects/{fresh_id()}"

    def proposal(self, proposal_id: int) -> str:
        return f"{self.base}/proposals/{proposal_id}"

    def decision(self, proposal_id: int) -> str:
        """Where a proposal's signed decision is published."""
        return f"{self.proposal(proposal_id)}/decision"

    def ballots(self, proposal_id: int) -> str:
        return f"{self.proposal(proposal_id)}/ballots"

    def receipt(self, proposal_id: int, leaf_hash: str) -> str:
        """Where a ballot's receipt is served."""
        return f"{self.proposal(proposal_id)}/receipts/{leaf_hash}"

    def api_ballots(self, proposal_id: int) -> str:
        return f"{self.base}/api/v1/proposals/{proposal_id}/ballots"

    # -- parsing -----------------------------------------------------------------------------

    def _path(self, url: object) -> str | None:
        if not isinstance(url, str) or not url.startswith(self.base + "/"):
            return None
        return url[len(self.base):]

    def is_ours(self, url: object) -> bool:
        """Whether ``url`` is an address on this node."""
        return self._path(url) is not None

    def actor_name(self, url: object) -> tuple[ActorSection, str] | None:
        """``(section, name)`` of ``BASE/groups/NAME`` or ``BASE/people/NAME`` exactly, else None."""
        path = self._path(url)
        if path is None:
            return None
        parts = path.split("/")
        if len(parts) != 3 or parts[1] not in ("groups", "people") or not NAME_PATTERN.fullmatch(parts[2]):
            return None
        section, name = parts[1], parts[2]
        return ("groups" if section == "groups" else "people"), name

    def group_name(self, url: object) -> str | None:
        """NAME of ``BASE/groups/NAME``, else None."""
        found = self.actor_name(url)
        return found[1] if found is not None and found[0] == "groups" else None

    def person_name(self, url: object) -> str | None:
        """NAME of ``BASE/people/NAME``, else None."""
        found = self.actor_name(url)
        return found[1] if found is not None and found[0] == "people" else None

    def is_group_address(self, url: object) -> bool:
        """Whether ``url`` is one of our groups or lies under one (``/groups/NAME/...``)."""
        return isinstance(url, str) and url.startswith(self.group_prefix)

    def proposal_id(self, url: object) -> int | None:
        """ID of ``BASE/proposals/ID`` exactly, else None."""
        path = self._path(url)
        if path is None or not path.startswith("/proposals/"):
            return None
        return parse_id(path[len("/proposals/"):])
