"""Use cases of the foundation: actors, tokens, follows, announcements.

Each one runs in one transaction together with the deliveries it causes (transactional outbox),
so a crash leaves either the change and its deliveries, or neither.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import time

from fedassembly.app.activities import (
    to_ap_create,
    to_ap_follow,
    to_ap_public_note,
    to_ap_undo_follow,
)
from fedassembly.app.audience import inbox_targets
from fedassembly.app.clock import now_iso
from fedassembly.app.errors import ConflictError, InvalidError, NotFoundError, UnauthorizedError
from fedassembly.app.node import Node
from fedassembly.app.remote_actors import RemoteActorError
from fedassembly.app.urls import is_valid_name
from federation.inbox import host_of
from storage import actors as actor_repo
from storage import follows as follow_repo
from storage import outbox as outbox_repo
from storage import tokens as token_repo
from storage.actors import LocalActor
from storage.follows import Following

MAX_ANNOUNCEMENT_CHARS = 5000


async def get_actor(node: Node, name: str, *kinds: str) -> LocalActor:
    """The local actor ``name`` of one of ``kinds``, else NotFoundError."""
    actor = await actor_repo.get_actor_by_name(node.db.reader, name)
    if actor is None or (kinds and actor.kind not in kinds):
        raise NotFoundError(f"no {' or '.join(kinds) or 'actor'} named {name!r}")
    return actor


async def create_group(
    node: Node, name: str, kind: str, title: str, settings: dict | None = None
) -> LocalActor:
    """A new assembly or council with its RSA and Ed25519 keys."""
    if not is_valid_name(name):
        raise InvalidError(f"invalid name {name!r}: use [a-z0-9_]{{1,30}}, not a reserved word")
    try:
        async with node.db.transaction() as conn:
            await actor_repo.put_actor(conn, name, kind, title or name, now_iso(), settings=settings)
    except sqlite3.IntegrityError as error:
        raise ConflictError(f"the name {name!r} is taken") from error
    group = await get_actor(node, name)
    await node.keys.get(group, "rsa")
    await node.keys.get(group, "ed25519")
    return group


def hash_password(password: str, salt: bytes | None = None) -> str:
    """A scrypt hash of ``password`` as ``scrypt$salt$hash`` (hex)."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """True when ``password`` matches a hash made by hash_password."""
    try:
        _, salt, _ = stored.split("$")
        return hmac.compare_digest(hash_password(password, bytes.fromhex(salt)), stored)
    except ValueError:
        return False


async def create_person(node: Node, name: str, password: str) -> LocalActor:
    """A local account; its keys are made when first needed."""
    if not is_valid_name(name):
        raise InvalidError(f"invalid name {name!r}: use [a-z0-9_]{{1,30}}, not a reserved word")
    if len(password) < 8:
        raise InvalidError("the password needs at least 8 characters")
    try:
        async with node.db.transaction() as conn:
            await actor_repo.put_actor(
                conn, name, "person", name, now_iso(), password_hash=hash_password(password)
            )
    except sqlite3.IntegrityError as error:
        raise ConflictError(f"the name {name!r} is taken") from error
    return await get_actor(node, name)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(node: Node, name: str) -> str:
    """A new bearer token for a local person (only its hash is stored)."""
    person = await get_actor(node, name, "person")
    token = "fa_" + secrets.token_urlsafe(32)
    async with node.db.transaction() as conn:
        await token_repo.put_token(conn, _token_hash(token), token[:10], person.id, now_iso())
    return token


async def list_tokens(node: Node, name: str) -> list[token_repo.TokenInfo]:
    """A person's tokens, by prefix."""
    person = await get_actor(node, name, "person")
    return await token_repo.list_tokens(node.db.reader, person.id)


async def revoke_token(node: Node, token: str) -> None:
    """Revoke a token; NotFoundError if it does not exist."""
    async with node.db.transaction() as conn:
        if not await token_repo.delete_token(conn, _token_hash(token)):
            raise NotFoundError("no such token")


async def person_by_token(node: Node, token: str) -> LocalActor:
    """The person a bearer token belongs to, else UnauthorizedError."""
    actor_id = await token_repo.get_actor_id_by_token_hash(node.db.reader, _token_hash(token))
    actor = await actor_repo.get_actor_by_id(node.db.reader, actor_id) if actor_id else None
    if actor is None:
        raise UnauthorizedError("invalid token")
    return actor


async def follow(node: Node, person: LocalActor, target: str) -> str:
    """Ask to follow a remote actor; pending until its Accept. Returns the Follow's id."""
    try:
        remote = await node.remote.resolve(target)
    except RemoteActorError as error:
        raise NotFoundError(str(error)) from error
    follow_id = node.urls.new_activity_id()
    actor_id = node.urls.actor(person.kind, person.name)
    activity = to_ap_follow(follow_id, actor_id, remote.id)
    async with node.db.transaction() as conn:
        # Stored before sending: a peer may POST its Accept before it answers our Follow.
        await follow_repo.put_following(
            conn, Following(person.id, remote.id, follow_id, "pending"), now_iso()
        )
        await outbox_repo.put_activity(conn, activity, person.id, public=False, published_at=now_iso())
        await outbox_repo.put_deliveries(
            conn, follow_id, person.id, [(remote.inbox, host_of(remote.inbox))], time.time()
        )
    node.delivery_queued()
    return follow_id


async def unfollow(node: Node, person: LocalActor, target: str) -> None:
    """Stop following a remote actor: Undo(Follow) is sent, the follow forgotten."""
    try:
        remote = await node.remote.resolve(target)
    except RemoteActorError as error:
        raise NotFoundError(str(error)) from error
    existing = await follow_repo.get_following(node.db.reader, person.id, remote.id)
    if existing is None:
        raise NotFoundError(f"{person.name} does not follow {target}")
    actor_id = node.urls.actor(person.kind, person.name)
    undo = to_ap_undo_follow(node.urls, existing.follow_id, actor_id, remote.id)
    async with node.db.transaction() as conn:
        await follow_repo.delete_following(conn, person.id, remote.id)
        await outbox_repo.put_activity(conn, undo, person.id, public=False, published_at=now_iso())
        await outbox_repo.put_deliveries(
            conn, undo["id"], person.id, [(remote.inbox, host_of(remote.inbox))], time.time()
        )
    node.delivery_queued()


async def announce(node: Node, group: LocalActor, text: str) -> dict:
    """A group posts a public Note to all its followers; returns the Note."""
    from fedassembly.app.activities import text_to_html

    if not text.strip():
        raise InvalidError("the announcement is empty")
    if len(text) > MAX_ANNOUNCEMENT_CHARS:
        raise InvalidError(f"the announcement is longer than {MAX_ANNOUNCEMENT_CHARS} characters")
    group_id = node.urls.actor(group.kind, group.name)
    note = to_ap_public_note(
        node.urls.new_object_id(), group_id, f"{group_id}/followers", text_to_html(text), now_iso()
    )
    create = to_ap_create(node.urls, note)
    async with node.db.transaction() as conn:
        await outbox_repo.put_object(conn, note, group.id, note["published"])
        await outbox_repo.put_activity(conn, create, group.id, public=True, published_at=note["published"])
        followers = await follow_repo.list_followers(conn, group.id)
        await outbox_repo.put_deliveries(conn, create["id"], group.id, inbox_targets(followers), time.time())
    node.delivery_queued()
    return note
