"""Local accounts: groups, people, passwords and API tokens.

Each change runs in one transaction. Tokens are random and only their SHA-256 is stored; the
one place that mints them is ``mint_token``, used by ``create_token`` and the roster import. A
token's last use is written at most once a minute (with the next group commit), not on every
request.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import sqlite3
from typing import Any

from fedassembly.app.clock import iso
from fedassembly.app.errors import ConflictError, InvalidError, NotFoundError, UnauthorizedError
from fedassembly.app.node import Node
from fedassembly.app.urls import is_valid_name
from storage import actors as actor_repo
from storage import tokens as token_repo
from storage.actors import LocalActor
from storage.db import Connection, StorageError

log = logging.getLogger("fedassembly.app.accounts")

MIN_PASSWORD_CHARS = 8
TOKEN_USE_RESOLUTION_SECONDS = 60


async def get_actor(node: Node, name: str, *kinds: str) -> LocalActor:
    """The local actor ``name`` of one of ``kinds``, else NotFoundError."""
    actor = await actor_repo.get_actor_by_name(node.db.reader, name)
    if actor is None or (kinds and actor.kind not in kinds):
        raise NotFoundError(f"no {' or '.join(kinds) or 'actor'} named {name!r}")
    return actor


def _check_name(name: str) -> None:
    if not is_valid_name(name):
        raise InvalidError(f"invalid name {name!r}: use [a-z0-9_]{{1,30}}, not a reserved word")


async def create_group(
    node: Node, name: str, kind: str, title: str, settings: dict[str, Any] | None = None
) -> LocalActor:
    """A new assembly or council with its RSA and Ed25519 keys."""
    _check_name(name)
    try:
        async with node.db.transaction() as conn:
            await actor_repo.put_actor(conn, name, kind, title or name, node.now_iso(), settings=settings)
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


async def create_person(node: Node, name: str, password: str) -> LocalActor:
    """A local account; its keys are made when first needed."""
    _check_name(name)
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidError(f"the password needs at least {MIN_PASSWORD_CHARS} characters")
    try:
        async with node.db.transaction() as conn:
            await put_person(node, conn, name, password)
    except sqlite3.IntegrityError as error:
        raise ConflictError(f"the name {name!r} is taken") from error
    return await get_actor(node, name)


async def put_person(node: Node, conn: Connection, name: str, password: str) -> int:
    """Store a new person in the caller's unit; their id."""
    return await actor_repo.put_actor(
        conn, name, "person", name, node.now_iso(), password_hash=hash_password(password)
    )


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def mint_token(node: Node, conn: Connection, person_id: int) -> str:
    """A new bearer token for a person, stored (its hash) in the caller's unit."""
    token = "fa_" + secrets.token_urlsafe(32)
    await token_repo.put_token(conn, _token_digest(token), token[:10], person_id, node.now_iso())
    return token


async def create_token(node: Node, name: str) -> str:
    """A new bearer token for a local person (only its hash is stored)."""
    person = await get_actor(node, name, "person")
    async with node.db.transaction() as conn:
        return await mint_token(node, conn, person.id)


async def list_tokens(node: Node, name: str) -> list[token_repo.TokenInfo]:
    """A person's tokens: number, prefix, when made and last used."""
    person = await get_actor(node, name, "person")
    return await token_repo.list_tokens(node.db.reader, person.id)


async def revoke_token(node: Node, token_or_id: str) -> None:
    """Revoke a token given whole or by its number; NotFoundError if there is no such token."""
    key = token_or_id.strip()
    async with node.db.transaction() as conn:
        if key.isascii() and key.isdigit():
            found = await token_repo.delete_token_by_id(conn, int(key))
        else:
            found = await token_repo.delete_token(conn, _token_digest(key))
    if not found:
        raise NotFoundError(f"no token {key[:10]}{'…' if len(key) > 10 else ''}")


async def person_by_token(node: Node, token: str) -> LocalActor:
    """The person a bearer token belongs to, else UnauthorizedError; notes the use once a minute."""
    digest = _token_digest(token)
    owner = await token_repo.get_token_owner_by_hash(node.db.reader, digest)
    actor = await actor_repo.get_actor_by_id(node.db.reader, owner.actor_id) if owner else None
    if owner is None or actor is None:
        raise UnauthorizedError("invalid token")
    now = node.clock()
    # Same-format RFC 3339 strings compare as their times do.
    if owner.last_used_at is None or owner.last_used_at <= iso(now - TOKEN_USE_RESOLUTION_SECONDS):
        try:
            await token_repo.append_token_use(node.db, digest, iso(now))
        except StorageError as error:  # a note for admins: never a reason to refuse the request
            log.warning("could not record the use of token %s…: %s", token[:10], error)
    return actor
