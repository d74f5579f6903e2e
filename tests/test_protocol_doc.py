"""docs/protocol.md stays true: its real examples still check out, and its term table says what
our @context defines."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from fedassembly.app.vocab import INLINE_CONTEXT
from federation.keys import ed25519_public_from_multibase
from federation.proofs import verify_object

DOC = (Path(__file__).resolve().parent.parent / "docs" / "protocol.md").read_text(encoding="utf-8")


def _examples() -> tuple[list[Any], list[dict[str, Any]]]:
    """The section-2 context, and every other JSON example with ``[…]`` put back as that context."""
    first, *rest = re.findall(r"```json\n(.*?)\n```", DOC, re.S)
    context = json.loads(first)
    return context, [json.loads(block.replace("[…]", json.dumps(context))) for block in rest]


def _one(examples: list[dict[str, Any]], test: Any) -> dict[str, Any]:
    [found] = [e for e in examples if test(e)]
    return found


def test_the_documented_context_is_ours() -> None:
    context, _ = _examples()
    assert context[-1] == INLINE_CONTEXT


def test_the_decision_example_verifies_with_the_actor_example_key() -> None:
    _, examples = _examples()
    actor = _one(examples, lambda e: e.get("type") == "Group")
    decision = _one(examples, lambda e: e.get("type") == "fa:Decision")
    [key] = actor["assertionMethod"]
    assert key["id"] == decision["proof"]["verificationMethod"]
    verify_object(decision, ed25519_public_from_multibase(key["publicKeyMultibase"]))


def test_the_receipt_example_reaches_the_decisions_root() -> None:
    _, examples = _examples()
    decision = _one(examples, lambda e: e.get("type") == "fa:Decision")
    receipt = _one(examples, lambda e: "audit_path" in e)
    [leaf] = re.findall(r"```\n(\{.*?\})\n```", DOC, re.S)

    def sha(data: bytes) -> bytes:
        return hashlib.sha256(data).digest()

    leaf_hash = sha(b"\x00" + leaf.encode())
    assert leaf_hash.hex() == receipt["leaf_hash"]
    assert (receipt["leaf_index"], receipt["tree_size"]) == (3, 4)  # the walk the doc describes
    sibling, uncle = (bytes.fromhex(h) for h in receipt["audit_path"])
    root = sha(b"\x01" + uncle + sha(b"\x01" + sibling + leaf_hash))
    assert root.hex() == receipt["root_hash"] == decision["fa:ballotLog"]["rootHash"]


def test_the_term_table_matches_the_context() -> None:
    # the four-column table of section 2: term, JSON-LD kind, found on, meaning
    rows = re.findall(r"^\| `(fa:\w+)` \| ([^|]+) \|[^|]+\|[^|]+\|$", DOC, re.M)
    documented = {term: kind.strip() for term, kind in rows}
    kinds = {"@json": "`@json`", "@id": "`@id`"}
    defined = {
        term: kinds.get(definition.get("@type"), "plain")
        for term, definition in INLINE_CONTEXT.items() if term.startswith("fa:")
    }
    assert {term: kind.split(" ")[0] for term, kind in documented.items()} == defined
