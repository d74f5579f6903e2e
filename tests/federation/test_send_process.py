"""The sender process: deliveries signed and POSTed by a real child process, under the policy."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from federation.fetch import FetchNetworkError, FetchPolicy, ForbiddenAddressError
from federation.keys import generate_rsa_private_pem, load_private_key, load_public_key, public_pem_of
from federation.send_process import SENDER_NICENESS, ProcessPoster
from federation.signature_common import SignatureError
from federation.signatures import CAVAGE, signature_key_id, verify_request

KEYS = {f"http://node.test/groups/g{i}#main-key": generate_rsa_private_pem() for i in range(2)}


class Inbox:
    """A loopback inbox that verifies each POST against the key its keyId names."""

    def __init__(self) -> None:
        self.verified: list[tuple[str, bytes]] = []
        self.delay = 0.0
        self.arrived = asyncio.Event()
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {name.lower(): value for name, value in request.headers.items()}
        key_id = signature_key_id(headers)
        public = load_public_key(public_pem_of(KEYS[key_id]))
        try:
            verify_request(method="POST", url=str(request.url), headers=headers, body=body,
                           public_key=public, now=time.time())
        except SignatureError:
            return web.Response(status=401)
        self.verified.append((key_id, body))
        self.arrived.set()
        await asyncio.sleep(self.delay)
        return web.Response(status=202, headers={"Retry-After": "7"})


@pytest.fixture
async def inbox() -> AsyncIterator[Inbox]:
    target = Inbox()
    app = web.Application()
    app.router.add_post("/inbox", target.handle)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    target.url = f"http://127.0.0.1:{runner.addresses[0][1]}/inbox"
    yield target
    await runner.cleanup()


def poster(*, allow_private: bool = True) -> ProcessPoster:
    policy = FetchPolicy(allow_private_addresses=allow_private, timeout_seconds=5.0, user_agent="tests")
    return ProcessPoster(policy, connections=16)


async def test_posts_are_signed_by_the_child_with_each_senders_key(inbox: Inbox) -> None:
    sender = poster()
    try:
        posts = [
            sender.post_signed(inbox.url, f'{{"n": {n}}}'.encode(), key_id, load_private_key(pem), CAVAGE)
            for n in range(20)
            for key_id, pem in KEYS.items()
        ]
        results = await asyncio.gather(*posts)
    finally:
        await sender.close()
    assert {(r.status, r.retry_after) for r in results} == {(202, "7")}
    expected = [(key_id, f'{{"n": {n}}}'.encode()) for n in range(20) for key_id in KEYS]
    assert sorted(inbox.verified) == sorted(expected)


async def test_the_policy_applies_in_the_child(inbox: Inbox) -> None:
    sender = poster(allow_private=False)
    key_id, pem = next(iter(KEYS.items()))
    try:
        with pytest.raises(ForbiddenAddressError):
            await sender.post_signed(inbox.url, b"{}", key_id, load_private_key(pem), CAVAGE)
    finally:
        await sender.close()
    assert inbox.verified == []


async def test_a_killed_child_fails_what_it_held_and_is_replaced(inbox: Inbox) -> None:
    sender = poster()
    key_id, pem = next(iter(KEYS.items()))
    key = load_private_key(pem)
    try:
        inbox.delay = 3.0
        held = asyncio.create_task(sender.post_signed(inbox.url, b"{}", key_id, key, CAVAGE))
        await asyncio.wait_for(inbox.arrived.wait(), 10)
        first = sender.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        with pytest.raises(FetchNetworkError, match="sender process exited"):
            await held
        inbox.delay = 0.0
        result = await sender.post_signed(inbox.url, b"{}", key_id, key, CAVAGE)
        assert result.status == 202
        assert sender.pid not in (None, first)
    finally:
        await sender.close()


async def test_the_child_runs_nicer_and_close_lets_it_exit(inbox: Inbox) -> None:
    sender = poster()
    key_id, pem = next(iter(KEYS.items()))
    await sender.post_signed(inbox.url, b"{}", key_id, load_private_key(pem), CAVAGE)
    pid = sender.pid
    assert pid is not None
    # Deliveries yield the CPU to the inbox: the child runs nicer than its parent.
    expected = min(19, os.getpriority(os.PRIO_PROCESS, 0) + SENDER_NICENESS)
    assert os.getpriority(os.PRIO_PROCESS, pid) == expected
    await sender.close()
    assert sender.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
