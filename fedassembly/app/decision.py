"""A proposal's decision: computed from the ballot log, the roster and the delegations in force.

Pure: values in, values out (docs/protocol.md shows the documents it builds). The closer feeds
it what it read inside the closing unit; whoever may read `/proposals/ID/ballots` can feed the
same values (the page carries them all) to `fedassembly.governance.tally.decide` and get the
same result.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from fedassembly.app.clock import iso
from fedassembly.app.counts import applying_to, counted_ballots, snapshot_item, spec_of
from fedassembly.app.question import rule_of
from fedassembly.app.vocab import CONTEXT
from fedassembly.governance.ballot_log import MerkleTree
from fedassembly.governance.ballots import Ballot
from fedassembly.governance.canonical import canonical_json
from fedassembly.governance.delegation import Delegation, delegation_to_json
from fedassembly.governance.schulze import schulze_to_json
from fedassembly.governance.tally import Result, decide, result_to_json
from storage.ballots import BallotRow
from storage.proposals import Proposal


@dataclass(frozen=True, slots=True)
class Decision:
    """The unsigned `fa:Decision` document and the data of the ballots page that backs it."""

    document: dict[str, Any]
    ballots_page: dict[str, Any]
    result: Result


def rule_json(record: Proposal) -> dict[str, Any]:
    """`fa:rule` as the Question carries it, plus status quo when set."""
    rule: dict[str, Any] = dict(rule_of(record))
    if record.status_quo:
        rule["status_quo"] = True
    return rule


def delegation_snapshot(delegations: Iterable[Delegation], record: Proposal) -> list[dict[str, Any]]:
    """The delegations that apply to the proposal (global, its area, itself), in a fixed order."""
    snapshot = [snapshot_item(d) for d in applying_to(delegations, record)]
    return sorted(snapshot, key=lambda d: (d["delegator"], d["scope"], d.get(d["scope"], "")))


def delegation_digest(snapshot: list[dict[str, Any]]) -> str:
    """`fa:delegationDigest`: SHA-256 hex of the RFC 8785 JSON of the delegation snapshot."""
    return hashlib.sha256(canonical_json(snapshot)).hexdigest()


def compute_decision(
    record: Proposal,
    *,
    decision_id: str,
    proposal_url: str,
    group_url: str,
    roster: Sequence[str],
    delegations: Sequence[Delegation],
    leaves: Sequence[BallotRow],
) -> Decision:
    """Tally the proposal and build its decision (without proof) and its ballots page."""
    spec = spec_of(record)
    leaf_dicts = [
        {"seq": leaf.seq, "voter": leaf.voter, "ballot": leaf.ballot, "received_at": leaf.received_at,
         "leaf_hash": leaf.leaf_hash}
        for leaf in leaves
    ]
    snapshot = delegation_snapshot(delegations, record)
    ballots = counted_ballots(spec.method, leaf_dicts, roster)
    result = decide(spec, roster, applying_to(delegations, record), ballots, str(record.id))
    tree = MerkleTree([bytes.fromhex(leaf.leaf_hash) for leaf in leaves])
    root = tree.root().hex()
    digest = delegation_digest(snapshot)
    values = result_to_json(result)
    document = {
        "@context": CONTEXT,
        "id": decision_id,
        "type": "fa:Decision",
        "attributedTo": group_url,
        "fa:proposal": proposal_url,
        "fa:method": record.method,
        "fa:rule": rule_json(record),
        "fa:tally": values["tally"],
        "fa:turnout": values["turnout"],
        "fa:rosterSize": values["rosterSize"],
        "fa:quorumMet": values["quorumMet"],
        "fa:outcome": values["outcome"],
        "fa:ballotLog": {"size": tree.size, "rootHash": root},
        "fa:delegationDigest": digest,
        "endTime": iso(record.closes_at),
    }
    if result.schulze is not None:
        # The relation itself, so anyone can see which option beats which, and by how much.
        document["fa:schulze"] = schulze_to_json(result.schulze)
    page = {
        "proposal": proposal_url,
        "decision": decision_id,
        "method": record.method,
        "rule": rule_json(record),
        "options": list(spec.options),
        "area": record.area,
        "treeHead": {"size": tree.size, "rootHash": root},
        "leaves": leaf_dicts,
        "counted": [{"voter": voter, "seq": seq} for voter, seq in sorted(_latest_seqs(leaf_dicts, ballots))],
        "roster": sorted(roster),
        "delegations": snapshot,
        "delegationDigest": digest,
        "resolution": delegation_to_json(result.delegation),
    }
    return Decision(document, page, result)


def _latest_seqs(leaves: list[dict[str, Any]], ballots: dict[str, Ballot]) -> Iterable[tuple[str, int]]:
    latest = {leaf["voter"]: leaf["seq"] for leaf in leaves if leaf["voter"] in ballots}
    return latest.items()


def outcome_words(title: str, outcome: dict[str, Any]) -> str:
    """The outcome in one sentence, for people."""
    winners = ", ".join(f"“{w}”" for w in outcome["winners"])
    status = outcome["status"]
    if status == "no_quorum":
        return f"The proposal “{title}” closed without reaching its quorum: nothing was decided."
    if "passed" in outcome and status == "decided":
        verdict = "passed" if outcome["passed"] else "did not pass"
        return f"The proposal “{title}” {verdict}."
    if status == "tie":
        return f"The proposal “{title}” closed in a tie between {winners}."
    if status == "no_majority":
        return f"The proposal “{title}” closed with no majority for any option."
    return f"The proposal “{title}” is decided: {winners}."


def outcome_html(title: str, outcome: dict[str, Any], decision_id: str) -> str:
    """The announcement's HTML: the outcome in words and a link to the signed decision."""
    link = html.escape(decision_id, quote=True)
    return (f"<p>{html.escape(outcome_words(title, outcome))}</p>"
            f"<p>The signed decision: <a href=\"{link}\">{link}</a></p>")
