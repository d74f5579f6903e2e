"""Our eddsa-jcs-2022 verifier accepts the FEP-8b32 proofs fedify 2.3.6 puts on what it sends:
a saved real delivery, and a live one from the fedify peer to a running node."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from interop.conftest import (  # noqa: F401  (fixtures of the real fedify peer)
    FedifyPeer,
    fedify_peer,
    fedify_peer_factory,
    fedify_peer_install,
)

from federation.keys import ed25519_public_from_multibase
from federation.proofs import ProofError, proof_verification_method, verify_object
from storage import inbox as inbox_repo

FIXTURES = Path(__file__).resolve().parent.parent / "interop" / "fixtures"


def multikey(actor: dict[str, Any], key_id: str) -> Any:
    """The Ed25519 public key ``key_id`` from an actor's FEP-521a assertionMethod."""
    methods = actor["assertionMethod"]
    [method] = [m for m in (methods if isinstance(methods, list) else [methods]) if m["id"] == key_id]
    assert method["type"] == "Multikey"
    return ed25519_public_from_multibase(method["publicKeyMultibase"])


def saved_delivery() -> tuple[dict[str, Any], dict[str, Any]]:
    capture = json.loads((FIXTURES / "fedify_signed_create_note.json").read_text(encoding="utf-8"))
    actor = json.loads((FIXTURES / "fedify_bob_actor.json").read_text(encoding="utf-8"))
    accepted = [r for r in capture["requests"] if r["answered"] == 202]
    return json.loads(accepted[-1]["body"]), actor


def test_saved_fedify_delivery_proof_verifies() -> None:
    activity, actor = saved_delivery()
    key = multikey(actor, proof_verification_method(activity))
    assert activity["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    verify_object(activity, key)


def test_saved_fedify_delivery_proof_fails_when_tampered() -> None:
    activity, actor = saved_delivery()
    key = multikey(actor, proof_verification_method(activity))
    tampered = copy.deepcopy(activity)
    tampered["object"]["content"] = "<p>something else</p>"
    with pytest.raises(ProofError):
        verify_object(tampered, key)


async def test_live_fedify_delivery_to_a_node_proof_verifies(nodes, fedify_peer: FedifyPeer) -> None:  # noqa: F811
    running = await nodes()
    group_url = await running.group("barrio")
    answer = await fedify_peer.send("note", to=group_url, text="a proof on the wire")
    [sent] = answer["json"] if isinstance(answer["json"], list) else [answer["json"]]
    # What the node's inbox recorded, byte for byte as fedify sent it.
    body = await inbox_repo.get_inbox_activity_body(running.node.db.reader, sent["id"])
    assert body is not None, f"the node recorded no {sent['id']}"
    activity = json.loads(body)
    assert activity["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    async with aiohttp.ClientSession() as session, session.get(
        fedify_peer.actor, headers={"Accept": "application/activity+json"}
    ) as response:
        actor = await response.json(content_type=None)
    verify_object(activity, multikey(actor, proof_verification_method(activity)))
