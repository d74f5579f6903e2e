"""A real fedify 2.3.6 peer finds an assembly's Ed25519 key (FEP-521a) through JSON-LD, and with it
verifies the FEP-8b32 proof of a real decision.

fedify compacts what it fetches against its own contexts: a term our ``@context`` does not define
is dropped, so without ``assertionMethod``, ``Multikey``, ``controller`` and
``publicKeyMultibase`` in the inline context ``getAssertionMethods()`` yields nothing and no
fedify-based server can check a decision's proof (docs/protocol.md).
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from fedassembly.app import accounts
from fedassembly.app import proposals as uc
from fedassembly.app.ballots import append_ballot
from fedassembly.app.clock import iso, now_iso
from fedassembly.app.closing import close_due
from storage import members as member_repo
from storage.members import Member

from .conftest import FIXTURES_DIR, PEER_DIR, FedifyPeer


async def test_fedify_finds_the_groups_multikey(nodes, fedify_peer: FedifyPeer) -> None:
    running = await nodes("a")
    group_url = await running.group("barrio")
    status, actor, _ = await running.get_ap(group_url)
    assert status == 200
    [served] = actor["assertionMethod"]

    seen = await fedify_peer.assertion_methods(group_url)
    assert (seen["type"], seen["id"]) == ("Group", group_url)
    assert seen["assertionMethodIds"] == [f"{group_url}#ed25519-key"]
    [key] = seen["assertionMethods"]
    assert key["type"] == "Multikey"
    assert key["id"] == f"{group_url}#ed25519-key" == served["id"]
    assert key["controller"] == group_url == served["controller"]
    assert key["algorithm"] == "Ed25519"
    assert key["publicKeyMultibase"] == served["publicKeyMultibase"]
    # The RSA key for HTTP signatures is still found beside it.
    looked_up = await fedify_peer.lookup(group_url)
    assert looked_up["summary"]["publicKeys"] == [f"{group_url}#main-key"]


async def test_fedify_verifies_a_decisions_proof(nodes, fedify_peer: FedifyPeer) -> None:
    running = await nodes("a")
    group_url = await running.group("barrio")
    await running.person("fac")
    node = running.node
    group = await accounts.get_actor(node, "barrio")
    fac = await accounts.get_actor(node, "fac")
    async with node.db.transaction() as conn:
        await member_repo.put_member(conn, Member(group.id, node.urls.actor("person", "fac"), fac.id, True,
                                                  now_iso()))
    closes_at = int(time.time()) + 3600
    proposal = await uc.create_proposal(node, group, fac, {
        "title": "Open the library on Sundays?", "content": "From March.", "method": "single",
        "options": ["yes", "no"], "closes_at": iso(closes_at)})
    async with node.db.transaction() as conn:
        await append_ballot(node, conn, proposal, node.urls.actor("person", "fac"), {"choice": "yes"},
                               "api")
    assert await close_due(node, closes_at + 1) == 1
    decision_url = f"{node.urls.proposal(proposal.id)}/decision"
    status, decision, _ = await running.get_ap(decision_url)
    assert status == 200 and decision["type"] == "fa:Decision"

    checked = await fedify_peer.verify_object(decision_url)
    assert checked["proofs"] == [{
        "verificationMethod": f"{group_url}#ed25519-key", "cryptosuite": "eddsa-jcs-2022",
        "keyId": f"{group_url}#ed25519-key", "controller": group_url,
    }]
    assert checked["verified"] is True
    # The same proof over a changed document is refused: the check is real.
    tampered = await fedify_peer.verify_object(decision_url, tamper=True)
    assert tampered["verified"] is False and tampered["proofs"][0]["keyId"] is None


def test_saved_contexts_are_the_ones_fedify_preloads(fedify_peer_install: Path) -> None:
    """tests/app/test_activity_json.py expands with these copies; they must stay fedify's."""
    saved = json.loads((FIXTURES_DIR / "jsonld_contexts.json").read_text(encoding="utf-8"))["contexts"]
    urls = json.dumps(sorted(saved))
    script = (
        'import("@fedify/vocab-runtime").then(({ preloadedContexts }) => process.stdout.write('
        f"JSON.stringify(Object.fromEntries({urls}.map((u) => [u, preloadedContexts[u]])))))"
    )
    out = subprocess.run([str(fedify_peer_install), "--input-type=module", "-e", script], cwd=PEER_DIR,
                         capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(out.stdout) == saved
