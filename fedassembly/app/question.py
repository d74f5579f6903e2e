"""A proposal on the wire (docs/protocol.md): a ``Question`` Mastodon shows as a poll, or a ``Note``
linking the ballot page for score proposals, which Mastodon cannot show.

Counts come from the governance core's live counts: ``totalItems`` is an option's current
weight (direct and delegated) and ``votersCount`` the members whose weight is counted. The
object never carries ``updated``: Mastodon would show a count change as an edit.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from fedassembly.app.activities import text_to_html
from fedassembly.app.clock import iso
from fedassembly.app.urls import Urls
from fedassembly.app.vocab import CONTEXT, PUBLIC
from fedassembly.governance.tally import LiveCounts
from storage.proposals import Proposal


def rule_of(proposal: Proposal) -> dict[str, str]:
    """The frozen rule as ``fa:rule`` carries it: threshold and the quorum as an exact fraction."""
    return {"threshold": proposal.threshold, "quorum": proposal.quorum}


def content_html(proposal: Proposal) -> str:
    """Title and text as HTML, the text escaped (it is given as plain text)."""
    return f"<p><strong>{html.escape(proposal.title)}</strong></p>{text_to_html(proposal.content)}"


def to_ap_question(
    urls: Urls, group_id: str, proposal: Proposal, counts: LiveCounts, remote_members: Iterable[str],
) -> dict[str, Any]:
    """The proposal's Question (or score Note) with the current counts, at ``BASE/proposals/ID``."""
    url = urls.proposal(proposal.id)
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "id": url,
        "type": "Question",
        "attributedTo": group_id,
        "name": proposal.title,
        "content": content_html(proposal),
        "to": [PUBLIC],
        "cc": [f"{group_id}/followers", *sorted(remote_members)],
        "published": proposal.created_at,
        "url": url,
        "endTime": iso(proposal.closes_at),
    }
    if proposal.method == "score":
        doc["type"] = "Note"
        link = html.escape(url)
        doc["content"] += f'<p>Score each option from 0 to 5 on <a href="{link}">{link}</a>.</p>'
    else:
        key = "anyOf" if proposal.method == "approval" else "oneOf"
        doc[key] = [
            {"type": "Note", "name": row.name, "replies": {"type": "Collection", "totalItems": row.total}}
            for row in counts.tally
        ]
        doc["votersCount"] = counts.voters_count
    if not proposal.is_open:
        doc["closed"] = proposal.closed_at or iso(proposal.closes_at)
    doc["fa:method"] = proposal.method
    doc["fa:rule"] = rule_of(proposal)
    if proposal.area is not None:
        doc["fa:area"] = proposal.area
    return doc
