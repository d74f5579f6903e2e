"""Every JSON API route (and the ActivityPub and discovery GETs) with fuzzed paths, queries and
bodies, mostly with a facilitator's valid token: never a 5xx, never an unhandled exception."""

from __future__ import annotations

from fuzz.harness import FuzzNode, fuzz_settings
from fuzz.strategies_api import ApiCall, api_calls
from hypothesis import given

TOKENS = {"facilitator": "fac", "member": "ana", "outsider": "zoe"}
# Authorization headers that are no token of ours, by ApiCall.who.
BAD = {
    "none": None, "bad": "Bearer fa_not-a-token", "latin1": "Bearer fa_\xe9\xff", "basic": "Basic YTpi",
    "empty": "Bearer ", "long": "Bearer " + "x" * 9000,
}


def authorization_for(fuzz_node: FuzzNode, who: str) -> str | None:
    if who in BAD:
        return BAD[who]
    return f"Bearer {fuzz_node.tokens[TOKENS[who]]}"


def test_no_api_call_gets_a_5xx(fuzz_node: FuzzNode) -> None:
    @fuzz_settings(examples=1500)
    @given(call=api_calls(fuzz_node.target))
    def example(call: ApiCall) -> None:
        authorization = authorization_for(fuzz_node, call.who)
        status = fuzz_node.run(fuzz_node.request(call.method, call.path, call.body, None, authorization))
        fuzz_node.check(status, call)

    example()
    assert {200, 201, 204} & set(fuzz_node.statuses), fuzz_node.statuses
