"""A proposal's ballot log as a Merkle tree in the shape of Certificate Transparency (RFC 9162).

Leaf hash SHA-256(0x00 ‖ leaf), node hash SHA-256(0x01 ‖ left ‖ right), the empty tree's root
SHA-256(""). A close builds one `MerkleTree` from all leaf hashes and keeps every level, so the
root and each voter's audit path are read off without rehashing: level k+1 pairs up level k, and
an unpaired last node is carried up unchanged, which yields exactly RFC 9162's left-balanced tree.
Pure: hashlib and canonical JSON only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from fedassembly.governance.canonical import canonical_json

EMPTY_ROOT = hashlib.sha256(b"").digest()
_HASH_SIZE = 32


def leaf_bytes(proposal: str, voter: str, ballot: dict[str, Any], seq: int, received_at: str) -> bytes:
    """Return a ballot's leaf: the RFC 8785 JSON of {proposal, voter, ballot, seq, received_at}."""
    return canonical_json(
        {
            "proposal": proposal,
            "voter": voter,
            "ballot": ballot,
            "seq": seq,
            "received_at": received_at,
        }
    )


def leaf_hash(leaf: bytes) -> bytes:
    """Return the RFC 9162 leaf hash SHA-256(0x00 ‖ leaf)."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 9162 interior node hash SHA-256(0x01 ‖ left ‖ right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


class MerkleTree:
    """An immutable tree over a list of leaf hashes, with every level kept for cheap proofs."""

    __slots__ = ("_levels",)

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        if any(len(h) != _HASH_SIZE for h in leaf_hashes):
            raise ValueError("leaf hashes must be 32-byte SHA-256 digests")
        levels = [list(leaf_hashes)]
        while len(levels[-1]) > 1:
            below = levels[-1]
            above = [node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
            if len(below) % 2:
                above.append(below[-1])
            levels.append(above)
        self._levels = levels

    @property
    def size(self) -> int:
        """The number of leaves."""
        return len(self._levels[0])

    def root(self) -> bytes:
        """Return the tree head MTH(D[n]); SHA-256("") for the empty tree."""
        return self._levels[-1][0] if self.size else EMPTY_ROOT

    def leaf(self, index: int) -> bytes:
        """Return the leaf hash at a 0-based index."""
        self._check_index(index)
        return self._levels[0][index]

    def audit_path(self, index: int) -> list[bytes]:
        """Return the RFC 9162 inclusion proof of leaf `index`, bottom-up."""
        self._check_index(index)
        path = []
        for level in self._levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):
                path.append(level[sibling])
            index >>= 1
        return path

    def consistency_proof(self, old_size: int) -> list[bytes]:
        """Return the RFC 9162 proof that the tree of `old_size` leaves is a prefix of this one."""
        if not 0 <= old_size <= self.size:
            raise ValueError(f"old_size {old_size} outside 0..{self.size}")
        if old_size in (0, self.size):
            return []
        return self._subproof(old_size, 0, self.size, True)

    def _subproof(self, m: int, lo: int, hi: int, complete: bool) -> list[bytes]:
        # SUBPROOF(m, D[lo:hi], b) of RFC 9162 section 2.1.4.1.
        n = hi - lo
        if m == n:
            return [] if complete else [self._range_hash(lo, hi)]
        k = _largest_power_of_two_below(n)
        if m <= k:
            return [*self._subproof(m, lo, lo + k, complete), self._range_hash(lo + k, hi)]
        return [*self._subproof(m - k, lo + k, hi, False), self._range_hash(lo, lo + k)]

    def _range_hash(self, lo: int, hi: int) -> bytes:
        # MTH(D[lo:hi]) for a node of the RFC tree: a complete, aligned subtree is stored; the
        # ragged right edge is split as the RFC splits it.
        n = hi - lo
        if n & (n - 1) == 0:
            return self._levels[n.bit_length() - 1][lo // n]
        k = _largest_power_of_two_below(n)
        return node_hash(self._range_hash(lo, lo + k), self._range_hash(lo + k, hi))

    def _check_index(self, index: int) -> None:
        if not 0 <= index < self.size:
            raise IndexError(f"leaf index {index} outside 0..{self.size - 1}")


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, path: Sequence[bytes], root: bytes
) -> bool:
    """Check an RFC 9162 section 2.1.3.2 inclusion proof of a leaf hash in a tree head."""
    if not 0 <= index < tree_size:
        return False
    fn, sn = index, tree_size - 1
    r = leaf_hash
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Check an RFC 9162 section 2.1.4.2 consistency proof between two tree heads."""
    if not 0 <= old_size <= new_size:
        return False
    if old_size == 0:
        return old_root == EMPTY_ROOT and not proof
    if old_size == new_size:
        return old_root == new_root and not proof
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


def receipt(tree: MerkleTree, index: int) -> dict[str, Any]:
    """Return a voter's receipt: leaf index, leaf hash, tree size, root and audit path in hex."""
    return {
        "leaf_index": index,
        "leaf_hash": tree.leaf(index).hex(),
        "tree_size": tree.size,
        "root_hash": tree.root().hex(),
        "audit_path": [h.hex() for h in tree.audit_path(index)],
    }


def verify_receipt(receipt: dict[str, Any]) -> bool:
    """Check a receipt's audit path against its root; False for a malformed receipt too."""
    try:
        index = receipt["leaf_index"]
        size = receipt["tree_size"]
        leaf = bytes.fromhex(receipt["leaf_hash"])
        root = bytes.fromhex(receipt["root_hash"])
        path = [bytes.fromhex(h) for h in receipt["audit_path"]]
    except (KeyError, TypeError, ValueError):
        return False
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (index, size)):
        return False
    return verify_inclusion(leaf, index, size, path, root)


def _largest_power_of_two_below(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)
