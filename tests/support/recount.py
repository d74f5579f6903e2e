"""A decision recounted from its ballots page alone, with the governance core (as a council would)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from fedassembly.governance import ballot_log
from fedassembly.governance.ballots import ballot_from_json
from fedassembly.governance.delegation import Delegation
from fedassembly.governance.model import ProposalSpec
from fedassembly.governance.tally import decide, result_to_json


def recount(page: dict[str, Any], proposal_id: int) -> dict[str, Any]:
    """Recount from the ballots page alone, with the governance core; checks the log's leaves too."""
    rule = page["rule"]
    spec = ProposalSpec(
        options=tuple(page["options"]), method=page["method"], threshold=rule["threshold"],
        quorum=Fraction(rule["quorum"]), area=page["area"], status_quo=bool(rule.get("status_quo")),
    )
    for leaf in page["leaves"]:
        raw = ballot_log.leaf_bytes(
            page["proposal"], leaf["voter"], leaf["ballot"], leaf["seq"], leaf["received_at"])
        assert ballot_log.leaf_hash(raw).hex() == leaf["leaf_hash"]
    tree = ballot_log.MerkleTree([bytes.fromhex(leaf["leaf_hash"]) for leaf in page["leaves"]])
    assert tree.root().hex() == page["treeHead"]["rootHash"]
    roster = set(page["roster"])
    latest = {leaf["voter"]: leaf["ballot"] for leaf in sorted(page["leaves"], key=lambda leaf: leaf["seq"])
              if leaf["voter"] in roster}
    ballots = {voter: ballot_from_json(spec.method, ballot) for voter, ballot in latest.items()}
    delegations = [Delegation(d["delegator"], d["delegate"], d["scope"], area=d.get("area"),
                              proposal=d.get("proposal")) for d in page["delegations"]]
    return result_to_json(decide(spec, page["roster"], delegations, ballots, str(proposal_id)))


def decision_values(decision: dict[str, Any]) -> dict[str, Any]:
    """What a recount must reproduce of a published decision."""
    return {"tally": decision["fa:tally"], "turnout": decision["fa:turnout"],
            "rosterSize": decision["fa:rosterSize"], "quorumMet": decision["fa:quorumMet"],
            "outcome": decision["fa:outcome"]}
