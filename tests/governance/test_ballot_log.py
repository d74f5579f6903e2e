"""The ballot log's Merkle tree: RFC 9162 known answers, audit paths, consistency, receipts."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedassembly.governance.ballot_log import (
    EMPTY_ROOT,
    MerkleTree,
    leaf_bytes,
    leaf_hash,
    node_hash,
    receipt,
    verify_consistency,
    verify_inclusion,
    verify_receipt,
)

# transparency-dev/merkle testonly/constants.go and proof/verify_test.go (the vectors
# certificate-transparency-go and trillian share): leaf inputs, then roots for sizes 0..8.
CT_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [
    bytes.fromhex(h)
    for h in (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]
# (0-based leaf index, tree size, audit path)
CT_INCLUSION = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
# (old size, new size, consistency proof)
CT_CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]


def tree_of(size: int) -> MerkleTree:
    return MerkleTree([leaf_hash(i.to_bytes(4, "big")) for i in range(size)])


def recursive_mth(hashes: list[bytes]) -> bytes:
    """MTH straight from RFC 9162 section 2.1.1, for comparison."""
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return node_hash(recursive_mth(hashes[:k]), recursive_mth(hashes[k:]))


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert MerkleTree([]).root() == EMPTY_ROOT == CT_ROOTS[0]
    assert MerkleTree([]).size == 0


@pytest.mark.parametrize("size", range(9))
def test_ct_roots(size: int) -> None:
    assert MerkleTree([leaf_hash(leaf) for leaf in CT_LEAVES[:size]]).root() == CT_ROOTS[size]


@pytest.mark.parametrize(("index", "size", "path"), CT_INCLUSION)
def test_ct_inclusion_proofs(index: int, size: int, path: list[str]) -> None:
    tree = MerkleTree([leaf_hash(leaf) for leaf in CT_LEAVES[:size]])
    expected = [bytes.fromhex(h) for h in path]
    assert tree.audit_path(index) == expected
    assert verify_inclusion(leaf_hash(CT_LEAVES[index]), index, size, expected, CT_ROOTS[size])


@pytest.mark.parametrize(("old", "new", "proof"), CT_CONSISTENCY)
def test_ct_consistency_proofs(old: int, new: int, proof: list[str]) -> None:
    tree = MerkleTree([leaf_hash(leaf) for leaf in CT_LEAVES[:new]])
    expected = [bytes.fromhex(h) for h in proof]
    assert tree.consistency_proof(old) == expected
    assert verify_consistency(old, new, CT_ROOTS[old], CT_ROOTS[new], expected)
    if expected:
        assert not verify_consistency(old, new, CT_ROOTS[new], CT_ROOTS[old], expected)
        assert not verify_consistency(old, new, CT_ROOTS[old], CT_ROOTS[new], expected[:-1])
        assert not verify_consistency(
            old, new, CT_ROOTS[old], CT_ROOTS[new], [*expected, CT_ROOTS[old]]
        )


def test_leaf_bytes_are_canonical_json() -> None:
    leaf = leaf_bytes(
        "https://a.example/proposals/7",
        "https://m.example/users/ana",
        {"choice": "Sí", "rank": [2, 1]},
        3,
        "2026-01-01T00:00:00Z",
    )
    assert leaf == (
        b'{"ballot":{"choice":"S\xc3\xad","rank":[2,1]},"proposal":"https://a.example/proposals/7",'
        b'"received_at":"2026-01-01T00:00:00Z","seq":3,"voter":"https://m.example/users/ana"}'
    )
    assert leaf_hash(leaf) == hashlib.sha256(b"\x00" + leaf).digest()


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=300), st.data())
def test_every_audit_path_verifies_and_tampering_fails(size: int, data: st.DataObject) -> None:
    tree = tree_of(size)
    root = tree.root()
    assert root == recursive_mth([tree.leaf(i) for i in range(size)])
    for index in range(size):
        assert verify_inclusion(tree.leaf(index), index, size, tree.audit_path(index), root)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    leaf, path = tree.leaf(index), tree.audit_path(index)
    assert not verify_inclusion(leaf_hash(b"forged"), index, size, path, root)
    # Wrong heights, as transparency-dev corrupts them (size + 1 can share a path's shape).
    assert not verify_inclusion(leaf, index, size * 2, path, root)
    if index < size // 2:
        assert not verify_inclusion(leaf, index, size // 2, path, root)
    assert not verify_inclusion(leaf, index, size, [*path, root], root)
    if size > 1:
        other = (index + data.draw(st.integers(min_value=1, max_value=size - 1))) % size
        assert not verify_inclusion(leaf, other, size, path, root)
        position = data.draw(st.integers(min_value=0, max_value=len(path) - 1))
        flipped = list(path)
        flipped[position] = bytes([flipped[position][0] ^ 1]) + flipped[position][1:]
        assert not verify_inclusion(leaf, index, size, flipped, root)
        assert not verify_inclusion(leaf, index, size, path[:-1], root)


def test_consistency_for_every_pair_of_small_sizes() -> None:
    trees = [tree_of(size) for size in range(33)]
    full = trees[-1]
    for new in range(33):
        newer = MerkleTree([full.leaf(i) for i in range(new)])
        assert newer.root() == trees[new].root()
        for old in range(new + 1):
            proof = newer.consistency_proof(old)
            assert verify_consistency(old, new, trees[old].root(), newer.root(), proof), (old, new)
            if 0 < old < new:
                assert not verify_consistency(
                    old, new, trees[old].root(), tree_of(new + 1).root(), proof
                )
                assert not verify_consistency(old, new, leaf_hash(b"x"), newer.root(), proof)


def test_consistency_edge_cases() -> None:
    tree = tree_of(5)
    with pytest.raises(ValueError):
        tree.consistency_proof(6)
    assert verify_consistency(0, 5, EMPTY_ROOT, tree.root(), [])
    assert not verify_consistency(0, 5, tree.root(), tree.root(), [])
    assert not verify_consistency(3, 2, tree.root(), tree.root(), [])
    assert not verify_consistency(5, 5, tree.root(), EMPTY_ROOT, [])
    assert not verify_consistency(2, 5, tree_of(2).root(), tree.root(), [])


def test_receipts_round_trip_and_refuse_tampering() -> None:
    tree = tree_of(100)
    for index in (0, 37, 99):
        r = receipt(tree, index)
        assert r["leaf_index"] == index and r["tree_size"] == 100
        assert r["root_hash"] == tree.root().hex()
        assert verify_receipt(r)
        assert not verify_receipt({**r, "leaf_index": (index + 1) % 100})
        assert not verify_receipt({**r, "leaf_hash": leaf_hash(b"forged").hex()})
        assert not verify_receipt({**r, "root_hash": EMPTY_ROOT.hex()})
        assert not verify_receipt({**r, "audit_path": r["audit_path"][1:]})
        assert not verify_receipt({**r, "audit_path": ["zz"]})
        assert not verify_receipt({**r, "tree_size": "100"})
        assert not verify_receipt({k: v for k, v in r.items() if k != "root_hash"})
    with pytest.raises(IndexError):
        receipt(tree, 100)


def test_bad_leaf_hashes_are_refused() -> None:
    with pytest.raises(ValueError):
        MerkleTree([b"short"])


def test_a_close_of_100000_leaves_builds_once_and_serves_receipts_cheaply() -> None:
    tree = tree_of(100_000)
    root = tree.root()
    for index in range(0, 100_000, 997):
        assert verify_inclusion(tree.leaf(index), index, tree.size, tree.audit_path(index), root)
