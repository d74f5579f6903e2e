"""Attack cases 42, 43, 45, 46 (see README.md here), resource exhaustion: bounded work per
request, no 500, and state about strangers that expires."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from support.nodes import RunningNode, start_node
from support.remote import RemoteServer, signed_headers
from support.scene import AS, Scene, open_scene

from fedassembly.app.dm_commands import MAX_COMMAND_CHARS, command_words
from storage import delegations as delegation_repo

DAY = 86400.0


async def raw_post(url: str, body: Any, headers: dict[str, str]) -> int:
    try:
        async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as r:
            return r.status
    except aiohttp.ClientError:
        return 413  # the server answered and closed the connection while the body still streamed


async def test_case_42_body_over_the_limit_is_413_before_it_is_read_or_a_key_fetched(
    nodes: Callable[..., Awaitable[RunningNode]], remote: RemoteServer
) -> None:
    scene = await open_scene(await nodes("small", max_body_bytes=4096), remote, ("alice",))
    alice = scene.actor("alice")
    before = await scene.counts()
    big = json.dumps({**scene.follow(alice), "summary": " " * 10_000_000}).encode()
    headers = signed_headers(alice, scene.inbox, big)
    sent = 0

    async def stream() -> AsyncIterator[bytes]:  # chunked: no Content-Length to refuse on
        nonlocal sent
        for start in range(0, len(big), 65536):
            sent += 65536
            yield big[start : start + 65536]
            await asyncio.sleep(0)

    assert await raw_post(scene.inbox, stream(), headers) == 413
    assert sent < len(big)
    assert await raw_post(scene.inbox, big, headers) == 413  # declared too big
    assert await scene.counts() == before  # no key fetched, nothing stored
    await scene.still_sound()


async def test_case_43_ten_thousand_deep_nesting_is_400(scene: Scene) -> None:
    alice = scene.actor("alice")
    await scene.known(alice)
    before = await scene.counts()
    follow = json.dumps(scene.follow(alice))
    for body in (
        b"[" * 10_000 + b"]" * 10_000,
        follow[:-1].encode() + b', "x": ' + b'{"a": ' * 10_000 + b"1" + b"}" * 10_001,
        follow[:-1].encode() + b', "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ):
        assert await raw_post(scene.inbox, body, signed_headers(alice, scene.inbox, body)) == 400
    assert await scene.counts() == before


def command(scene: Scene, content: str, n: int) -> dict[str, Any]:
    alice = scene.actor("alice")
    note = {"id": f"{alice.id}/statuses/{n}", "type": "Note", "attributedTo": alice.id,
            "to": [scene.group_url], "content": content,
            "tag": [{"type": "Mention", "href": scene.group_url, "name": "@barrio"},
                    {"type": "Mention", "href": scene.actor("bob").id, "name": "@bob"}]}
    return {"@context": AS, "id": f"{note['id']}/activity", "type": "Create", "actor": alice.id,
            "to": [scene.group_url], "object": note}


ADVERSARIAL = ["<a\t", "<a ", "<a b='>'", "<![", "</", "<!", "<?", "<", "&#", "<a href=\""]


async def test_case_45_adversarial_html_in_a_command(scene: Scene) -> None:
    # The words of a command are read in one pass, whatever the markup: at the largest content
    # read as a command, each of these takes milliseconds (the stdlib's HTMLParser takes seconds
    # on some, and raises on "<![").
    handle = "barrio@" + scene.base.split("//")[1]
    for unit in ADVERSARIAL:
        content = (unit * MAX_COMMAND_CHARS)[:MAX_COMMAND_CHARS]
        started = time.perf_counter()
        command_words({"content": content}, scene.group_url, handle)
        assert time.perf_counter() - started < 0.1, unit
    alice, bob = scene.actor("alice"), scene.actor("bob")
    mention = '<span class="h-card"><a href="{}" class="u-url mention">@<span>{}</span></a></span>'
    real = f"<p>{mention.format(scene.group_url, 'barrio')} delegate {mention.format(bob.id, 'bob')}</p>"
    contents = [unit * (600_000 // len(unit)) for unit in ADVERSARIAL[:3]] + ["<![" * 10, real]
    started = time.monotonic()
    for n, content in enumerate(contents):
        assert await scene.post(command(scene, content, n), alice) == 202
    assert time.monotonic() - started < 10.0
    group = await scene.db.fetchone("SELECT id FROM local_actors WHERE name = 'barrio'")
    assert group is not None
    delegations = await delegation_repo.list_delegations(scene.db.reader, group[0])
    assert [(d.delegator, d.delegate) for d in delegations] == [(alice.id, bob.id)]  # only the real one


async def test_case_46_failure_state_of_hosts_expires(tmp_path: Path) -> None:
    # Thousands of hosts that failed once, long ago, and one that failed today: the node forgets
    # the stale ones (on start, then hourly), so an attacker's advertised hosts do not pile up.
    running = await start_node(tmp_path / "ttl")
    try:
        now = time.time()
        rows = [(f"h{i}.example", now - 8 * DAY, 1, now - 8 * DAY) for i in range(5000)]
        rows.append(("today.example", now + 60, 3, now))
        async with running.node.db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO delivery_hosts (host, paused_until, failures, updated_at) VALUES (?, ?, ?, ?)",
                rows,
            )
    finally:
        await running.runner.cleanup()
    restarted = await start_node(tmp_path / "ttl")
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            hosts = await restarted.node.db.fetchall("SELECT host FROM delivery_hosts")
            if len(hosts) == 1:
                break
            await asyncio.sleep(0.05)
        assert [h[0] for h in hosts] == ["today.example"]
    finally:
        await restarted.runner.cleanup()
