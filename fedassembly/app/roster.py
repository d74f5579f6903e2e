"""Rosters and assembly settings: members added, removed and imported; the welcome message.

Who a member is: a local person (``NAME``, ``@NAME@ourhost`` or our person IRI) or a remote
actor (``@user@host`` or its IRI, resolved by WebFinger before any transaction). Inside a
transaction (the inbox's, a command's) members are found without the network, among the roster
and the cached remote actors: a member was resolved, hence cached, when added.
"""

from __future__ import annotations

import csv
import html
import io
import logging
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fedassembly.app.accounts import _token_hash as token_hash  # the one hashing rule of API tokens
from fedassembly.app.accounts import hash_password
from fedassembly.app.activities import to_ap_create
from fedassembly.app.clock import now_iso
from fedassembly.app.errors import ConflictError, InvalidError, NotFoundError
from fedassembly.app.group_settings import DEFAULT_SETTINGS, SETTING_CHOICES, group_settings
from fedassembly.app.inbox import on_actor_deleted
from fedassembly.app.node import Node
from fedassembly.app.remote_actors import RemoteActorError
from fedassembly.app.urls import NAME_PATTERN, is_valid_name
from federation.inbox import host_of
from storage import actors as actor_repo
from storage import delegations as delegation_repo
from storage import members as member_repo
from storage import outbox as outbox_repo
from storage import remote as remote_repo
from storage import tokens as token_repo
from storage.actors import LocalActor
from storage.db import Connection
from storage.members import Member
from storage.remote import RemoteActor

MAX_IMPORT_ROWS = 10_000

log = logging.getLogger("fedassembly.app.roster")


@dataclass(frozen=True, slots=True)
class Candidate:
    """Someone who may be put on a roster: a local person or a resolved remote actor."""

    actor: str
    local: LocalActor | None
    remote: RemoteActor | None


def handle_of(remote: RemoteActor) -> str:
    """``@user@host[:port]`` of a remote actor (its IRI when it has no username)."""
    if not remote.preferred_username:
        return remote.id
    return f"@{remote.preferred_username}@{urlsplit(remote.id).netloc}"


def _split_handle(who: str) -> tuple[str, str] | None:
    text = who.removeprefix("acct:").removeprefix("@")
    user, sep, host = text.partition("@")
    if not sep or not user or not host or "@" in host or "/" in host:
        return None
    return user, host


def local_name_of(node: Node, who: str) -> str | None:
    """The local person's name ``who`` designates (NAME, @NAME@ourhost, our IRI), else None."""
    if NAME_PATTERN.match(who):
        return who
    prefix = f"{node.urls.base}/people/"
    if who.startswith(prefix):
        return who[len(prefix):]
    handle = _split_handle(who)
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
    if who.startswith(node.urls.base + "/"):
        raise InvalidError(f"{who} is not a person: only people can be members")
    if not who.startswith(("http://", "https://")) and _split_handle(who) is None:
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
        handle = _split_handle(who)
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
    prefix = f"{node.urls.base}/people/"
    if actor.startswith(prefix):
        return actor[len(prefix):]
    remote = await remote_repo.get_remote_actor(conn, actor)
    return handle_of(remote) if remote else actor


def roster_entry_name(node: Node, entry: member_repo.RosterEntry) -> str:
    """``who`` of a roster entry: local name, ``@user@host`` of a cached remote member, or the IRI."""
    if entry.local_name:
        return entry.local_name
    if entry.remote_username:
        return f"@{entry.remote_username}@{urlsplit(entry.member).netloc}"
    return entry.member


async def queue_direct_note(
    node: Node, conn: Connection, group: LocalActor, recipient: RemoteActor, text: str,
    *, in_reply_to: str | None = None,
) -> dict[str, Any]:
    """A direct Create(Note) from the group to one remote actor, queued in ``conn``'s transaction.

    Addressed to the recipient only, with a Mention tag, content starting with ``@user@host``
    (how Mastodon shows a direct message). The Note is not stored as a servable object: the
    object route has no audience check, and a direct message must not be public.
    """
    group_iri = node.urls.actor(group.kind, group.name)
    handle = handle_of(recipient)
    body = "<br>".join(html.escape(line) for line in text.split("\n"))
    note: dict[str, Any] = {
        "id": node.urls.new_object_id(),
        "type": "Note",
        "attributedTo": group_iri,
        "to": [recipient.id],
        "cc": [],
        "content": f"{html.escape(handle)} {body}",
        "tag": [{"type": "Mention", "href": recipient.id, "name": handle}],
        "published": now_iso(),
    }
    if in_reply_to is not None:
        note["inReplyTo"] = in_reply_to
    create = to_ap_create(node.urls, note)
    await outbox_repo.put_activity(conn, create, group.id, public=False, published_at=note["published"])
    await outbox_repo.put_deliveries(
        conn, create["id"], group.id, [(recipient.inbox, host_of(recipient.inbox))], time.time()
    )
    return note


def welcome_text(node: Node, group: LocalActor) -> str:
    """What a remote member is told when added: how to vote and the commands."""
    handle = f"@{group.name}@{node.urls.host}"
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


async def _put_on_roster(
    node: Node, conn: Connection, group: LocalActor, candidate: Candidate, facilitator: bool
) -> bool:
    member = Member(group.id, candidate.actor, candidate.local.id if candidate.local else None,
                    facilitator, now_iso())
    if not await member_repo.put_member(conn, member):
        return False
    if candidate.remote is not None:
        await queue_direct_note(node, conn, group, candidate.remote, welcome_text(node, group))
    return True


async def add_member(node: Node, group: LocalActor, who: str, facilitator: bool = False) -> Candidate:
    """Put someone on a roster; a remote member is sent the welcome message. ConflictError if on it."""
    candidate = await resolve_candidate(node, who)
    async with node.db.transaction() as conn:
        if not await _put_on_roster(node, conn, group, candidate, facilitator):
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


@on_actor_deleted
async def forget_deleted_actor(node: Node, conn: Connection, actor: str) -> None:
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
        for key, value in (("ballots", ballots), ("roster", roster), ("vote_receipts", vote_receipts)):
            if value is not None:
                settings[key] = value
        await actor_repo.put_actor_settings(conn, group.id, settings)
    return {key: settings.get(key, default) for key, default in DEFAULT_SETTINGS.items()}


def roster_is_public(group: LocalActor) -> bool:
    """True when anyone may read the roster (setting ``roster`` = public)."""
    return group_settings(group)["roster"] == "public"


@dataclass(frozen=True, slots=True)
class ImportRow:
    line: int
    name: str
    actor: str


@dataclass(frozen=True, slots=True)
class ImportResult:
    added: int
    already: int
    created: list[str]


def parse_import(text: str) -> list[ImportRow]:
    """The rows of a roster spreadsheet (header: name, optionally actor); InvalidError names the line."""
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    if "name" not in header or not set(header) <= {"name", "actor"}:
        raise InvalidError("line 1: the header must name the columns name and optionally actor")
    rows: list[ImportRow] = []
    seen: set[str] = set()
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            raise InvalidError(f"line {line}: expected {len(header)} columns, found {len(values)}")
        cells = dict(zip(header, (v.strip() for v in values), strict=True))
        name, actor = cells.get("name", ""), cells.get("actor", "")
        if not actor and not is_valid_name(name):
            raise InvalidError(f"line {line}: invalid name {name!r}: use [a-z0-9_]{{1,30}}, not reserved")
        key = actor or name
        if key in seen:
            raise InvalidError(f"line {line}: {key} appears twice")
        seen.add(key)
        rows.append(ImportRow(line, name, actor))
        if len(rows) > MAX_IMPORT_ROWS:
            raise InvalidError(f"line {line}: more than {MAX_IMPORT_ROWS} rows")
    return rows


async def import_members(node: Node, group: LocalActor, path: Path, tokens_out: Path | None) -> ImportResult:
    """A roster from a spreadsheet, all rows in one transaction; an invalid row aborts with its line.

    Rows with ``actor`` are remote (or local) accounts resolved first, over the network; rows
    without it are local people: existing ones are only added, new ones are created with a random
    password (reset later) and, with ``tokens_out``, an API token written there as ``name,token``.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidError(f"cannot read {path}: {error}") from error
    rows = parse_import(text)
    resolved: dict[int, Candidate] = {}
    for row in rows:
        if row.actor:
            try:
                resolved[row.line] = await resolve_candidate(node, row.actor)
            except (InvalidError, NotFoundError) as error:
                raise InvalidError(f"line {row.line}: {error}") from error
    added = already = 0
    created: list[str] = []
    tokens: list[tuple[str, str]] = []
    try:
        async with node.db.transaction() as conn:
            for row in rows:
                candidate = resolved.get(row.line) or await _local_candidate(node, conn, row, created, tokens,
                                                                           tokens_out is not None)
                if await _put_on_roster(node, conn, group, candidate, False):
                    added += 1
                else:
                    already += 1
            if tokens_out is not None:
                # Written inside the unit: if the file cannot be written, nothing is imported.
                _write_tokens(tokens_out, tokens)
    except sqlite3.IntegrityError as error:
        raise InvalidError(f"the import was refused by the database: {error}") from error
    node.delivery_queued()
    return ImportResult(added, already, created)


async def _local_candidate(
    node: Node, conn: Connection, row: ImportRow, created: list[str],
    tokens: list[tuple[str, str]], make_token: bool,
) -> Candidate:
    person = await actor_repo.get_actor_by_name(conn, row.name)
    if person is not None and person.kind != "person":
        raise InvalidError(f"line {row.line}: {row.name} is a group, not a person")
    if person is None:
        password = secrets.token_urlsafe(24)
        person_id = await actor_repo.put_actor(conn, row.name, "person", row.name, now_iso(),
                                               password_hash=hash_password(password))
        person = await actor_repo.get_actor_by_id(conn, person_id)
        assert person is not None
        created.append(row.name)
        if make_token:
            token = "fa_" + secrets.token_urlsafe(32)
            await token_repo.put_token(conn, token_hash(token), token[:10], person.id, now_iso())
            tokens.append((row.name, token))
    return Candidate(node.urls.actor("person", person.name), person, None)


def _write_tokens(path: Path, tokens: list[tuple[str, str]]) -> None:
    try:
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["name", "token"])
            writer.writerows(tokens)
    except OSError as error:
        raise InvalidError(f"cannot write {path}: {error}") from error
