"""Micro-bench of the crypto hot paths: `python bench/crypto.py` prints operations per second.

The delivery worker signs about 1,500 requests/s at peak, so `sign_request` is the number to
watch; the inbox verifies one signature per delivery; a close builds one ballot-log tree.
"""

from __future__ import annotations

import time
import timeit
from collections.abc import Callable

from fedassembly.governance.ballot_log import MerkleTree, leaf_hash, verify_inclusion
from federation import keys
from federation.proofs import sign_object, verify_object
from federation.signatures import sign_request, sign_request_rfc9421, verify_request

URL = "https://mastodon.example/users/alice/inbox"
BODY = b'{"type":"Create","actor":"https://assembly.example/groups/g"}' * 20
AP = {"content-type": "application/activity+json"}
KEY_ID = "https://assembly.example/groups/g#main-key"


def rate(name: str, action: Callable[[], object], seconds: float = 1.0) -> None:
    """Print how many times per second `action` runs (best of three timed batches)."""
    number = 1
    while timeit.timeit(action, number=number) < seconds / 10:
        number *= 2
    best = min(timeit.repeat(action, number=number, repeat=3))
    print(f"{name:<44} {number / best:>12,.0f} /s")


def main() -> None:
    """Run every benchmark once."""
    rsa_pem = keys.generate_rsa_private_pem()
    rsa_key = keys.load_private_key(rsa_pem)
    rsa_public = keys.load_public_key(keys.public_pem_of(rsa_pem))
    ed_key = keys.load_private_key(keys.generate_ed25519_private_pem())
    now = time.time()

    def sign() -> dict[str, str]:
        return sign_request(
            method="POST",
            url=URL,
            headers=AP,
            body=BODY,
            key_id=KEY_ID,
            private_key=rsa_key,
            now=now,
        )

    cavage = {**AP, **sign()}
    rfc9421 = {
        **AP,
        **sign_request_rfc9421(
            method="POST",
            url=URL,
            headers=AP,
            body=BODY,
            key_id=KEY_ID,
            private_key=rsa_key,
            now=now,
        ),
    }
    rate("sign_request (draft-cavage, RSA-2048)", sign)
    rate(
        "verify_request (draft-cavage)",
        lambda: verify_request(
            method="POST", url=URL, headers=cavage, body=BODY, public_key=rsa_public, now=now
        ),
    )
    rate(
        "verify_request (RFC 9421)",
        lambda: verify_request(
            method="POST", url=URL, headers=rfc9421, body=BODY, public_key=rsa_public, now=now
        ),
    )
    rate("load_private_key (memoized)", lambda: keys.load_private_key(rsa_pem))
    keys.load_private_key.cache_clear()
    rate("load_private_key (cold PEM parse)", lambda: _cold_load(rsa_pem))

    document = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "type": "Note",
        "content": "x" * 500,
    }
    signed = sign_object(
        document, ed_key, verification_method=KEY_ID, created="2026-01-01T00:00:00Z"
    )
    rate(
        "sign_object (eddsa-jcs-2022)",
        lambda: sign_object(
            document, ed_key, verification_method=KEY_ID, created="2026-01-01T00:00:00Z"
        ),
    )
    rate("verify_object (eddsa-jcs-2022)", lambda: verify_object(signed, ed_key.public_key()))

    hashes = [leaf_hash(i.to_bytes(8, "big")) for i in range(100_000)]
    start = time.perf_counter()
    tree = MerkleTree(hashes)
    print(f"{'MerkleTree of 100,000 leaf hashes':<44} {time.perf_counter() - start:>11.3f} s")
    root = tree.root()
    rate(
        "audit_path + verify_inclusion (100,000 leaves)",
        lambda: verify_inclusion(hashes[4242], 4242, tree.size, tree.audit_path(4242), root),
    )


def _cold_load(pem: str) -> object:
    keys.load_private_key.cache_clear()
    return keys.load_private_key(pem)


if __name__ == "__main__":
    main()
