"""Rosters and assembly settings: members added and removed; the welcome message.

Who a member is: a local person (``NAME``, ``@NAME@ourhost`` or our person IRI) or a remote
actor (``@user@host`` or its IRI, resolved by WebFinger before any transaction). Inside a
transaction (the inbox's, a command's) members are found without the network, among the roster
and the cached remote actors: a member was resolved, hence cached, when added.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fedassembly.app.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError
from fedassembly.app.group_settings import DEFAULT_SETTINGS, SETTING_CHOICES, group_settings
from fedassembly.app.node import Node
from fedassembly.app.publish import direct_note, text_html
from fedassembly.app.remote_actors import RemoteActorError
from fedassembly.app.urls import NAME_PATTERN, handle, handle_of, split_handle
from federation.addresses import host_of
from storage import actors as actor_repo
from storage import delegations as delegation_repo
from storage import members as member_repo
from storage import remote as remote_repo
from storage.actors import LocalActor
from storage.db import Connection
from storage.members import Member
from storage.remote import RemoteActor

log = logging.getLogger("fedassembly.app.roster")


@dataclass(frozen=True, slots=True)
class Candidate:
    """Someone who may be put on a roster: a local person or a resolved remote actor."""

    actor: str
    local: LocalActor | None
    remote: RemoteActor | None


def local_name_of(node: Node, who: str) -> str | None:
    """The local person's name ``who`` designates (NAME, @NAME@ourhost, our IRI), else None."""
    if NAME_PATTERN.match(who):
        return who
    person = node.urls.person_name(who)
    if person is not None:
        return person
    handle = split_handle(who)
    if handle and handle[1].lower() == node.urls.host.lower():
        return handle[0]
    return None


async def resolve_candidate(node: Node, who: str) -> Candidate:
    """The person or remote actor ``who`` names; remote ones by WebFinger (network, no transaction)."""
    who = who.strip()
    name = local_name_of(node, who)
    if name is not None:
        person = await actor_repo.get_actor_by_name(node.db.reader, name)
        if person is None or person.kind != "person":
            raise NotFoundError(f"no local person named {name!r}")
        return Candidate(node.urls.actor("person", name), person, None)
    if node.urls.is_ours(who):
        raise InvalidError(f"{who} is not a person: only people can be members")
    if not who.startswith(("http://", "https://")) and split_handle(who) is None:
        raise InvalidError(f"{who!r} is neither a local name, @user@host nor an actor IRI")
    try:
        remote = await node.remote.resolve(who)
    except RemoteActorError as error:
        raise NotFoundError(str(error)) from error
    await _cache_key(node, remote)
    return Candidate(remote.id, None, remote)


async def _cache_key(node: Node, remote: RemoteActor) -> None:
    # The inbox honours an account's Delete only when it already knows the signing key (a
    # deleted account's key cannot be fetched any more); a member added here may never have
    # written to us, so its key is fetched now, while it still can be.
    key = remote.document.get("publicKey")
    key_id = key.get("id") if isinstance(key, dict) else None
    if not isinstance(key_id, str):
        return
    try:
        await node.remote.get(key_id)
    except Exception as error:  # any failure only costs honouring a later Delete
        log.warning("cannot fetch the key %s of new member %s: %s", key_id, remote.id, error)


async def find_member(node: Node, conn: Connection, group_id: int, who: str) -> str | None:
    """The IRI of the member of ``group_id`` that ``who`` names, without the network; else None."""
    who = who.strip()
    name = local_name_of(node, who)
    if name is not None:
        iri = node.urls.actor("person", name)
    elif who.startswith(("http://", "https://")):
        iri = who
    else:
        handle = split_handle(who)
        if handle is None:
            return None
        user, host = handle
        host = host.lower()
        for member in await member_repo.list_remote_members_by_username(conn, group_id, user):
            if urlsplit(member).netloc.lower() == host or host_of(member) == host:
                return member
        return None
    return iri if await member_repo.get_member(conn, group_id, iri) else None


async def name_of(node: Node, conn: Connection, actor: str) -> str:
    """How a member is shown: a local name, a remote ``@user@host``, else the IRI."""
    person = node.urls.person_name(actor)
    if person is not None:
        return person
    remote = await remote_repo.get_remote_actor(conn, actor)
    return handle_of(remote) if remote else actor


def roster_entry_name(node: Node, entry: member_repo.RosterEntry) -> str:
    """``who`` of a roster entry: local name, ``@user@host`` of a cached remote member, or the IRI."""
    if entry.local_name:
        return entry.local_name
    if entry.remote_username:
        return handle(entry.remote_username, entry.member)
    return entry.member


async def tell(
    node: Node, conn: Connection, group: LocalActor, recipient: RemoteActor, text: str,
    *, in_reply_to: str | None = None,
) -> dict[str, Any]:
    """A direct message in plain text from the group to a remote member, in the caller's unit."""
    return await direct_note(node, conn, group, recipient, text_html(text), in_reply_to=in_reply_to)


def welcome_text(node: Node, group: LocalActor) -> str:
    """What a remote member is told when added: how to vote and the commands."""
    handle = node.urls.local_handle(group.name)
    return (
        f"You are now a member of {group.title or group.name} ({handle}).\n"
        f"Follow {handle} to receive its proposals: they arrive as polls, and you vote by answering"
        " the poll from your app.\n"
        f"Commands, by a direct message mentioning {handle}:\n"
        "delegate @someone@host [area] - let another member vote for you (in one area, or on everything)\n"
        "revoke [area] - take a delegation back\n"
        "status - what you delegated and who delegates to you\n"
        "help - this list"
    )


async def put_on_roster(
    node: Node, conn: Connection, group: LocalActor, candidate: Candidate, facilitator: bool
) -> bool:
    member = Member(group.id, candidate.actor, candidate.local.id if candidate.local else None,
                    facilitator, node.now_iso())
    if not await member_repo.put_member(conn, member):
        return False
    if candidate.remote is not None:
        await tell(node, conn, group, candidate.remote, welcome_text(node, group))
    return True


async def add_member(node: Node, group: LocalActor, who: str, facilitator: bool = False) -> Candidate:
    """Put someone on a roster; a remote member is sent the welcome message. ConflictError if on it."""
    candidate = await resolve_candidate(node, who)
    async with node.db.transaction() as conn:
        if not await put_on_roster(node, conn, group, candidate, facilitator):
            raise ConflictError(f"{who} is already a member of {group.name}")
    node.delivery_queued()
    return candidate


async def remove_member(node: Node, group: LocalActor, who: str) -> str:
    """Take a member off a roster with the delegations they made there; their IRI.

    Their ballots on open proposals stop counting because the tally reads the roster;
    delegations *to* them stay, so delegators see their weight reported as ``non_member``.
    """
    async with node.db.transaction() as conn:
        actor = await find_member(node, conn, group.id, who)
        if actor is None:
            raise NotFoundError(f"{who} is not a member of {group.name}")
        await member_repo.delete_member(conn, group.id, actor)
        await delegation_repo.delete_delegations_by_delegator(conn, group.id, actor)
    return actor


async def forget_deleted_actor(conn: Connection, actor: str) -> None:
    """A remote account deleted itself: off every roster, its delegations (made and received) gone."""
    await member_repo.delete_member_everywhere(conn, actor)
    await delegation_repo.delete_delegations_of_actor(conn, actor)


async def update_settings(
    node: Node, group: LocalActor, *, ballots: str | None = None, roster: str | None = None,
    vote_receipts: bool | None = None,
) -> dict[str, Any]:
    """Change an assembly's settings (only those given); returns them all."""
    for key, value in (("ballots", ballots), ("roster", roster)):
        if value is not None and value not in SETTING_CHOICES[key]:
            raise InvalidError(f"{key} must be one of {', '.join(SETTING_CHOICES[key])}")
    async with node.db.transaction() as conn:
        current = await actor_repo.get_actor_by_id(conn, group.id)
        if current is None:
            raise NotFoundError(f"no assembly named {group.name!r}")
        settings = dict(current.settings)
        changes: dict[str, object] = {"ballots": ballots, "roster": roster, "vote_receipts": vote_receipts}
        settings.update({key: value for key, value in changes.items() if value is not None})
        await actor_repo.put_actor_settings(conn, group.id, settings)
    return {key: settings.get(key, default) for key, default in DEFAULT_SETTINGS.items()}


def roster_is_public(group: LocalActor) -> bool:
    """True when anyone may read the roster (setting ``roster`` = public)."""
    return bool(group_settings(group)["roster"] == "public")


async def require_facilitator(node: Node, group: LocalActor, person: LocalActor) -> None:
    """ForbiddenError unless ``person`` is a facilitator of ``group``."""
    member = await member_repo.get_local_member(node.db.reader, group.id, person.id)
    if member is None or not member.facilitator:
        raise ForbiddenError(f"{person.name} is not a facilitator of {group.name}")


async def is_local_member(node: Node, group: LocalActor, person: LocalActor | None) -> bool:
    """Whether ``person`` (None: nobody signed in) is on the group's roster."""
    if person is None:
        return False
    return await member_repo.get_local_member(node.db.reader, group.id, person.id) is not None


async def memberships(node: Node, person: LocalActor) -> list[dict[str, Any]]:
    """The groups ``person`` belongs to, as ``[{name, facilitator}]``."""
    rows = await member_repo.list_memberships_of_local(node.db.reader, person.id)
    return [{"name": row.group_name, "facilitator": row.facilitator} for row in rows]


async def roster_view(node: Node, group: LocalActor, person: LocalActor | None) -> list[dict[str, Any]]:
    """``[{who, actor, facilitator}]``: anyone for a public roster, else its members only."""
    if not roster_is_public(group) and not await is_local_member(node, group, person):
        raise ForbiddenError(f"the roster of {group.name} is visible to its members only")
    entries = await member_repo.list_roster(node.db.reader, group.id)
    return [
        {"who": roster_entry_name(node, e), "actor": e.member, "facilitator": e.facilitator} for e in entries
    ]
