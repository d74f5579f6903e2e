"""Signed activities, valid, near-valid and hostile, posted to a real node's inboxes: never a 5xx."""

from __future__ import annotations

from fuzz.harness import FuzzNode, fuzz_settings
from fuzz.strategies import Post, activities
from hypothesis import given


def test_no_activity_gets_a_5xx_or_leaves_a_bad_ballot(fuzz_node: FuzzNode) -> None:
    @fuzz_settings(examples=1000)
    @given(post=activities(fuzz_node.target))
    def example(post: Post) -> None:
        fuzz_node.check(fuzz_node.run(fuzz_node.post(post)), post)

    example()
    assert fuzz_node.run(fuzz_node.assert_sound()) > 0, "no example got a ballot stored"
    assert set(fuzz_node.statuses) & {202} and set(fuzz_node.statuses) & {400, 401}, fuzz_node.statuses
