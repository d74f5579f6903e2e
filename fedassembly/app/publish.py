"""Publishing: an object, its activity and the deliveries it causes, written in the caller's unit.

Deliveries are rows written in the same transaction as the change that causes them, so a crash
leaves the change and its deliveries, or neither. Nothing here wakes the delivery worker: the
caller does once its unit has committed (``Node.delivery_queued``), so the worker never looks for
rows that are not durable yet.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from fedassembly.app.activities import activity, activity_json
from fedassembly.app.node import Node
from fedassembly.app.urls import handle_of
from federation.addresses import host_of
from storage import outbox as outbox_repo
from storage.actors import LocalActor
from storage.db import Connection
from storage.remote import RemoteActor

Targets = Sequence[tuple[str, str]]


async def publish(
    node: Node, conn: Connection, sender: LocalActor, doc: dict[str, Any], targets: Targets, *,
    public: bool, obj: dict[str, Any] | None = None,
) -> None:
    """Store ``doc`` (and ``obj``, the object it carries, served at its id) and queue one delivery
    per (inbox, host) of ``targets``."""
    published = doc.get("published") or node.now_iso()
    if obj is not None:
        await outbox_repo.put_object(conn, obj, sender.id, obj.get("published") or published)
    await outbox_repo.put_activity(
        conn, doc, sender.id, public=public, published_at=published, body=activity_json(doc)
    )
    if targets:
        await outbox_repo.put_deliveries(conn, doc["id"], sender.id, targets, node.clock())


def own_inbox(actor: RemoteActor) -> list[tuple[str, str]]:
    """The actor's personal inbox as a delivery target (for what concerns that account only)."""
    return [(actor.inbox, host_of(actor.inbox))]


def text_html(text: str) -> str:
    """Plain text of a direct message as HTML: escaped, lines kept."""
    return "<br>".join(html.escape(line) for line in text.split("\n"))


async def direct_note(
    node: Node, conn: Connection, sender: LocalActor, recipient: RemoteActor, content_html: str, *,
    in_reply_to: str | None = None, extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A direct ``Create(Note)`` from ``sender`` to one remote actor, queued in the caller's unit.

    Addressed to the recipient only, with a Mention tag and the content starting with the
    mention: that is how Mastodon shows (and notifies) a direct message. The Note is not stored
    as a servable object: the object route has no audience check, and a direct message must not
    be public. ``extra`` adds members to the Note (e.g. ``fa:reason``).
    """
    sender_iri = node.urls.actor(sender.kind, sender.name)
    mention = handle_of(recipient)
    published = node.now_iso()
    note: dict[str, Any] = {
        "id": node.urls.new_object_id(),
        "type": "Note",
        "attributedTo": sender_iri,
        "to": [recipient.id],
        "cc": [],
        "content": f"{html.escape(mention)} {content_html}",
        "tag": [{"type": "Mention", "href": recipient.id, "name": mention}],
        "published": published,
    }
    if in_reply_to is not None:
        note["inReplyTo"] = in_reply_to
    if extra:
        note.update(extra)
    create = activity(
        node.urls.new_activity_id(), "Create", sender_iri, note, to=[recipient.id], published=published
    )
    await publish(node, conn, sender, create, own_inbox(recipient), public=False)
    return note
