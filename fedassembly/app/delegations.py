"""Liquid delegation use cases: set, revoke and list a member's delegations; tell the delegate.

Every function takes the caller's write connection, so the API (its own transaction) and a
command from Mastodon (the inbox's transaction) record a delegation and the message telling the
delegate in one unit. No network: delegates are found among the roster (``roster.find_member``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fedassembly.app.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError
from fedassembly.app.node import Node
from fedassembly.app.roster import find_member, name_of, tell
from fedassembly.app.urls import parse_id
from fedassembly.governance.delegation import check_delegation
from fedassembly.governance.errors import GovernanceError
from storage import delegations as delegation_repo
from storage import members as member_repo
from storage import proposals as proposal_repo
from storage import remote as remote_repo
from storage.actors import LocalActor
from storage.db import Connection
from storage.delegations import StoredDelegation

MAX_AREA_CHARS = 100


@dataclass(frozen=True, slots=True)
class DelegationScope:
    """Where a delegation applies: ``global`` (key ''), an ``area`` or a ``proposal`` (its id)."""

    scope: str = "global"
    key: str = ""

    @property
    def label(self) -> str:
        """The scope in words, for replies."""
        if self.scope == "area":
            return f"in the area \"{self.key}\""
        if self.scope == "proposal":
            return f"on proposal {self.key}"
        return "on everything (global)"


def scope_of(area: Any = None, proposal: Any = None) -> DelegationScope:
    """The scope named by an area or a proposal id (neither: global); InvalidError if both or bad,
    NotFoundError for an id that cannot be one of ours."""
    if area is not None and proposal is not None:
        raise InvalidError("name an area or a proposal, not both")
    if proposal is not None:
        if isinstance(proposal, bool) or not isinstance(proposal, int | str):
            raise InvalidError("proposal must be a proposal id")
        # An id as in our URLs: ASCII digits within 64 bits; any other is no proposal of ours.
        found = parse_id(str(proposal).strip())
        if found is None:
            raise NotFoundError("no such proposal")
        return DelegationScope("proposal", str(found))
    if area is not None:
        if not isinstance(area, str) or not area.strip():
            raise InvalidError("area must be a non-empty string")
        area = " ".join(area.split())
        if len(area) > MAX_AREA_CHARS:
            raise InvalidError(f"area is longer than {MAX_AREA_CHARS} characters")
        return DelegationScope("area", area)
    return DelegationScope()


async def require_member(conn: Connection, group: LocalActor, actor: str) -> None:
    """ForbiddenError unless ``actor`` is on the group's roster."""
    if await member_repo.get_member(conn, group.id, actor) is None:
        raise ForbiddenError(f"you are not a member of {group.name}")


async def record_delegation(
    node: Node, conn: Connection, group: LocalActor, delegator: str, delegate: str | None,
    scope: DelegationScope,
) -> StoredDelegation:
    """Record that ``delegator`` lets ``delegate`` (a member; None = nobody) vote in ``scope``.

    A remote delegate newly named is told by a direct message, in the same unit.
    """
    await require_member(conn, group, delegator)
    delegate_iri = None
    if delegate is not None:
        delegate_iri = await find_member(node, conn, group.id, delegate)
        if delegate_iri is None:
            raise InvalidError(f"{delegate} is not a member of {group.name}")
    try:
        check_delegation(delegator, delegate_iri)
    except GovernanceError as error:
        raise InvalidError(error.reason) from error
    if scope.scope == "proposal":
        found = await proposal_repo.get_proposal_scope_by_id(conn, int(scope.key))
        if found is None or found[0] != group.id:
            raise NotFoundError(f"no proposal {scope.key} in {group.name}")
        if found[1] != "open":
            raise ConflictError(f"proposal {scope.key} is {found[1]}: its delegations are frozen")
    previous = await delegation_repo.get_delegation(conn, group.id, delegator, scope.scope, scope.key)
    stored = StoredDelegation(group.id, delegator, scope.scope, scope.key, delegate_iri, node.now_iso())
    await delegation_repo.put_delegation(conn, stored)
    if delegate_iri is not None and (previous is None or previous.delegate != delegate_iri):
        await _tell_delegate(node, conn, group, stored)
    return stored


async def _tell_delegate(
    node: Node, conn: Connection, group: LocalActor, stored: StoredDelegation
) -> None:
    # Local delegates have no inbox here: they see delegators through the API (GET delegation).
    assert stored.delegate is not None
    remote = await remote_repo.get_remote_actor(conn, stored.delegate)
    if remote is None:
        return
    who = await name_of(node, conn, stored.delegator)
    scope = DelegationScope(stored.scope, stored.scope_key)
    text = (
        f"{who} now delegates to you in {group.title or group.name} {scope.label}: your ballots"
        " there carry their weight too, unless they vote themselves. They can revoke it at any time."
    )
    await tell(node, conn, group, remote, text)


async def delegate(
    node: Node, group: LocalActor, delegator: str, delegate_to: str | None, scope: DelegationScope
) -> dict[str, Any]:
    """``record_delegation`` in a unit of its own (the API); what is stored, as the API shows it."""
    async with node.db.transaction() as conn:
        stored = await record_delegation(node, conn, group, delegator, delegate_to, scope)
        answer = await delegation_to_json(node, conn, stored)
    node.delivery_queued()
    return answer


async def revoke(node: Node, group: LocalActor, delegator: str, scope: DelegationScope) -> None:
    """``revoke_delegation`` in a unit of its own (the API)."""
    async with node.db.transaction() as conn:
        await revoke_delegation(conn, group, delegator, scope)


async def revoke_delegation(
    conn: Connection, group: LocalActor, delegator: str, scope: DelegationScope
) -> bool:
    """Remove the delegator's choice in ``scope``; True if there was one (revoking nothing is fine)."""
    await require_member(conn, group, delegator)
    return await delegation_repo.delete_delegation(conn, group.id, delegator, scope.scope, scope.key)


async def _to_json(
    node: Node, conn: Connection, row: StoredDelegation, role: str
) -> dict[str, Any]:
    doc: dict[str, Any] = {"scope": row.scope}
    if row.scope == "area":
        doc["area"] = row.scope_key
    elif row.scope == "proposal":
        doc["proposal"] = int(row.scope_key)
    actor = row.delegate if role == "delegate" else row.delegator
    doc[role] = await name_of(node, conn, actor) if actor else None
    doc[f"{role}_actor"] = actor
    return doc


async def delegation_to_json(node: Node, conn: Connection, row: StoredDelegation) -> dict[str, Any]:
    """A stored delegation as the API shows it: ``{scope, area?, proposal?, delegate, delegate_actor}``."""
    return await _to_json(node, conn, row, "delegate")


async def delegation_report(
    node: Node, conn: Connection, group: LocalActor, member: str
) -> dict[str, Any]:
    """``{delegations: [...], delegators: [...]}``: what a member delegated and who delegates to them."""
    await require_member(conn, group, member)
    made = await delegation_repo.list_delegations_by_delegator(conn, group.id, member)
    received = await delegation_repo.list_delegations_by_delegate(conn, group.id, member)
    return {
        "delegations": [await _to_json(node, conn, row, "delegate") for row in made],
        "delegators": [await _to_json(node, conn, row, "delegator") for row in received],
    }


def report_text(report: dict[str, Any]) -> str:
    """A delegation report in words, for a reply on Mastodon."""
    lines = []
    for item in report["delegations"]:
        scope = DelegationScope(item["scope"], str(item.get("area") or item.get("proposal") or ""))
        target = item["delegate"] or "nobody (your own ballot only)"
        lines.append(f"- you delegate {scope.label} to {target}")
    if not lines:
        lines.append("- you delegate nothing: only your own ballots count for you")
    for item in report["delegators"]:
        scope = DelegationScope(item["scope"], str(item.get("area") or item.get("proposal") or ""))
        lines.append(f"- {item['delegator']} delegates to you {scope.label}")
    if not report["delegators"]:
        lines.append("- nobody delegates to you")
    return "\n".join(lines)
