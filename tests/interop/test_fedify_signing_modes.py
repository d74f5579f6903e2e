"""Our signatures as a real fedify 2.3.6 verifies them, in both of our first tries: a fedify that
signs RFC 9421 first (its default) teaches our inbox that its host takes RFC 9421, and our
deliveries to it are then signed RFC 9421 first; one told to sign draft-cavage first teaches
nothing, and gets draft-cavage — unless a double knock taught us RFC 9421 for its host. fedify
accepts both, so each delivery is one knock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from support.nodes import RunningNode

from fedassembly.app import accounts, follows
from fedassembly.web.inbox import SCHEMES
from federation.signatures import RFC9421
from storage.db import Database

from .conftest import FedifyPeer

PeerFactory = Callable[..., Awaitable[FedifyPeer]]


def scheme_of(entry: dict[str, Any]) -> str:
    return "rfc9421" if "signature-input" in entry["headers"] else "draft-cavage"


async def posts_of(peer: FedifyPeer, activity_type: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Every POST to the peer's inboxes carrying an activity of this type (at least one), once
    fedify has answered each."""
    def answered(entry: dict[str, Any]) -> bool:
        json = entry.get("json")
        return isinstance(json, dict) and json.get("type") == activity_type and entry["status"] is not None

    return await peer.wait_for(answered, timeout=timeout, raw=True)


async def stored(db: Database, expected: list[tuple[str, str]], within: float = 5.0) -> list[tuple[str, str]]:
    """The stored choices, once they are ``expected`` (the write is in the background) or time is up."""
    deadline = time.monotonic() + within
    while True:
        rows = [(row[0], row[1]) for row in await db.fetchall("SELECT host, scheme FROM signature_schemes")]
        if rows == expected or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.05)


@pytest.mark.parametrize(
    ("first_knock", "ours"),
    [("rfc9421", "rfc9421"), ("draft-cavage-http-signatures-12", "draft-cavage")],
)
async def test_we_sign_fedify_as_it_signs_us_and_it_accepts_at_the_first_knock(
    nodes: Callable[..., Awaitable[RunningNode]], fedify_peer_factory: PeerFactory,
    first_knock: str, ours: str,
) -> None:
    peer = await fedify_peer_factory(FIRST_KNOCK=first_knock)
    running = await nodes("a")
    group_url = await running.group("barrio")

    await peer.send("follow", to=group_url)
    [accept] = await posts_of(peer, "Accept")
    assert (scheme_of(accept), accept["status"]) == (ours, 202)
    # fedify's inbox verified it: its listener handled the Accept of bob's Follow.
    [handled] = await peer.wait_for(lambda e: e["type"] == "Accept", timeout=10)
    assert handled["acceptsOurFollow"] is True
    learned = [("127.0.0.1", "rfc9421")] if ours == "rfc9421" else []
    assert await stored(running.node.db, learned) == learned

    group = await accounts.get_actor(running.node, "barrio")
    note = await follows.announce(running.node, group, "The assembly meets on Thursday.")
    creates = await posts_of(peer, "Create")
    assert [(scheme_of(c), c["status"], c["json"]["object"]["id"]) for c in creates] == [
        (ours, 202, note["id"])
    ]
    await peer.wait_for(lambda e: e["type"] == "Create" and e.get("objType") == "Note", timeout=10)
    # One knock each: no refusal made us sign the other way.
    assert len(await posts_of(peer, "Accept")) == 1


async def test_fedify_takes_our_rfc9421_first_knock_while_it_signs_draft_cavage_itself(
    nodes: Callable[..., Awaitable[RunningNode]], fedify_peer_factory: PeerFactory
) -> None:
    peer = await fedify_peer_factory(FIRST_KNOCK="draft-cavage-http-signatures-12")
    running = await nodes("a")
    group_url = await running.group("barrio")
    await peer.send("follow", to=group_url)
    [accept] = await posts_of(peer, "Accept")
    assert (scheme_of(accept), accept["status"]) == ("draft-cavage", 202)

    # As if the host had accepted RFC 9421 after refusing draft-cavage once.
    running.runner.app[SCHEMES].learned("127.0.0.1", RFC9421)
    group = await accounts.get_actor(running.node, "barrio")
    await follows.announce(running.node, group, "The assembly meets on Thursday.")
    [create] = await posts_of(peer, "Create")
    assert (scheme_of(create), create["status"]) == ("rfc9421", 202)
    await peer.wait_for(lambda e: e["type"] == "Create" and e.get("objType") == "Note", timeout=10)
