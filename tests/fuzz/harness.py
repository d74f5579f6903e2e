"""One real node per fuzz module, reused by every example, and the checks that must hold after each.

Hypothesis runs examples one after another in plain (synchronous) test functions; the node, the
loopback remote server and one HTTP client live on an event loop of the harness's own, run for
each request with ``run``. Between examples the loop is idle; the node's workers (delivery,
closer, poll updates) run whenever a request does.

After every example: no 5xx, no record at ERROR or above from the server's loggers (an
unhandled exception in a handler, a failed commit, a lost batch), and the node answers
``/healthz``. After every test: ``PRAGMA integrity_check`` is ok and every stored ballot is one
the governance core accepts for its proposal.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from fuzz.strategies import Post, Target
from hypothesis import HealthCheck, settings
from support.nodes import RunningNode, start_node
from support.remote import RemoteServer, post_signed, signed_headers
from yarl import URL

from fedassembly.app import accounts
from fedassembly.app import proposals as uc
from fedassembly.app.clock import iso, now_iso
from fedassembly.app.closing import close_due
from fedassembly.app.counts import spec_of
from fedassembly.governance.ballots import ballot_from_json, validate_ballot
from storage import ballots as ballot_repo
from storage import members as member_repo
from storage import proposals as proposal_repo
from storage.members import Member

T = TypeVar("T")

# Where an unhandled exception, a failed commit or a lost batch would be logged.
WATCHED_LOGGERS = ("aiohttp.server", "aiohttp.web", "fedassembly", "federation", "storage", "asyncio")
ENV_EXAMPLES = "FEDASSEMBLY_FUZZ_EXAMPLES"


def fuzz_settings(examples: int) -> Any:
    """Hypothesis settings for one fuzz test: a fixed seed and ``examples`` examples, or as many
    as FEDASSEMBLY_FUZZ_EXAMPLES says (a longer run on demand)."""
    wanted = os.environ.get(ENV_EXAMPLES)
    return settings(
        max_examples=int(wanted) if wanted else examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.filter_too_much, HealthCheck.large_base_example],
    )


class ErrorRecords(logging.Handler):
    """Every record at ERROR or above, kept until read."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> list[str]:
        found = [f"{r.name}: {r.getMessage()}\n{r.exc_text or ''}" for r in self.records]
        for record in self.records:
            if record.exc_info and not record.exc_text:
                found.append(logging.Formatter().formatException(record.exc_info))
        self.records.clear()
        return found


PROPOSALS = {
    "single": ("green", "blue", "red"),
    "approval": ("paint", "plant", "pave"),
    "yesno": ("yes", "no", "abstain"),
    "ranked": ("A", "B", "C"),
    "score": ("north", "south"),
}
MEMBERS = ("m0", "m1", "m2", "m3")
STRANGERS = ("stranger", "other")
PEOPLE = ("fac", "ana", "zoe")  # a facilitator, a member, a person on no roster


class FuzzNode:
    """A running node with an assembly to aim at, driven from synchronous test code."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.loop = asyncio.new_event_loop()
        self.errors = ErrorRecords()
        self.remote = RemoteServer()
        self.running: RunningNode
        self.session: aiohttp.ClientSession
        self.target: Target
        self.tokens: dict[str, str] = {}
        self.statuses: dict[int, int] = {}
        self.posts = 0

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def start(self) -> FuzzNode:
        """Start everything; on failure, stop what was started (a database left open would keep
        the test run from ending: aiosqlite's thread is not a daemon)."""
        for name in WATCHED_LOGGERS:
            logging.getLogger(name).addHandler(self.errors)
        try:
            self.run(self._start())
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        try:
            self.run(self._stop())
        finally:
            for name in WATCHED_LOGGERS:
                logging.getLogger(name).removeHandler(self.errors)
            self.loop.close()

    async def _start(self) -> None:
        await self.remote.start()
        self.running = await start_node(self.folder / "node")
        self.session = aiohttp.ClientSession()
        node = self.running.node
        await self.running.group("barrio")
        for name in PEOPLE:
            _url, self.tokens[name] = await self.running.person(name)
        group = await accounts.get_actor(node, "barrio")
        async with node.db.transaction() as conn:
            for index, name in enumerate(PEOPLE[:2]):
                person = await accounts.get_actor(node, name, "person")
                url = node.urls.actor("person", name)
                await member_repo.put_member(conn, Member(group.id, url, person.id, index == 0, now_iso()))
            for name in MEMBERS:
                await member_repo.put_member(conn, Member(group.id, self.remote.actor(name).id, None, False,
                                                          now_iso()))
        for name in STRANGERS:
            self.remote.actor(name)
        fac = await accounts.get_actor(node, "fac", "person")
        proposals: dict[str, int] = {}
        for method, options in PROPOSALS.items():
            data = {"title": f"A {method} question", "content": "Decide.", "method": method,
                    "options": list(options), "closes_at": "2099-01-01T00:00:00Z"}
            proposals[method] = (await uc.create_proposal(node, group, fac, data)).id
        soon = {"title": "Soon closed", "content": "", "method": "single", "options": ["green", "blue"],
                "closes_at": iso(time.time() + 60)}
        proposals["closed"] = (await uc.create_proposal(node, group, fac, soon)).id
        assert await close_due(node, time.time() + 120) == 1
        later = {**soon, "title": "Withdrawn", "closes_at": "2099-01-01T00:00:00Z"}
        proposals["withdrawn"] = (await uc.create_proposal(node, group, fac, later)).id
        await uc.withdraw_proposal(node, proposals["withdrawn"])
        options_by_id = {pid: PROPOSALS.get(kind, ("green", "blue")) for kind, pid in proposals.items()}
        self.target = Target(
            base=self.running.base, group="barrio", remote_base=self.remote.base, members=MEMBERS,
            strangers=STRANGERS, proposals=proposals, options=options_by_id, people=PEOPLE,
        )

    async def _stop(self) -> None:
        if hasattr(self, "session"):
            await self.session.close()
        if hasattr(self, "running"):
            await self.running.runner.cleanup()
        await self.remote.stop()

    # -- requests ------------------------------------------------------------------------------

    async def post(self, post: Post) -> int:
        """POST an activity's bytes signed by its signer (real keys, real signature), the signature
        then spoilt as ``post.spoil`` says."""
        self.posts += 1
        body = post.numbered(self.posts)
        actor = self.remote.actor(post.signer)
        kind, text = post.spoil
        headers = signed_headers(actor, post.inbox, body, time.time() - 7200 if kind == "stale" else None)
        if kind == "drop":
            headers.pop("digest" if text else "date", None)
        elif kind == "digest":
            headers["digest"] = text or "SHA-256=AAAA"
        elif kind in ("signature", "key_id", "headers"):
            param = {"signature": "signature", "key_id": "keyId", "headers": "headers"}[kind]
            spoilt = f'{param}="{text}"'
            headers["signature"] = re.sub(f'{param}="[^"]*"', lambda _: spoilt, headers["signature"])
        elif kind == "rfc9421":
            headers.update({"signature-input": text, "signature": f"sig1=:{text}:"})
        status, _text = await post_signed(post.inbox, {}, actor, body=body, headers=headers)
        return status

    async def request(
        self, method: str, path: str, body: bytes | None, token: str | None, authorization: str | None = None
    ) -> int:
        """Any HTTP request to the node; ``path`` is sent exactly as given (already encoded), with a
        bearer ``token`` or a whole ``authorization`` header."""
        headers = {"Content-Type": "application/json"}
        if token is not None:
            authorization = f"Bearer {token}"
        if authorization is not None:
            headers["Authorization"] = authorization
        url = URL(self.running.base + path, encoded=True)
        async with self.session.request(method, url, data=body, headers=headers) as response:
            await response.read()
            return response.status

    # -- checks --------------------------------------------------------------------------------

    def check(self, status: int, what: object) -> None:
        """After one example: no 5xx, nothing logged at ERROR, the node still answering."""
        self.statuses[status] = self.statuses.get(status, 0) + 1
        logged = self.errors.take()
        assert status < 500, f"{status} for {what!r}\n" + "\n".join(logged)
        assert not logged, f"logged for {what!r}:\n" + "\n".join(logged)
        assert self.run(self.request("GET", "/healthz", None, None)) == 200

    async def assert_sound(self) -> int:
        """The database is sound and every ballot in it is valid for its proposal; how many."""
        db = self.running.node.db
        assert await db.integrity_check() == "ok"
        count = 0
        for row in await db.fetchall("SELECT DISTINCT proposal_id FROM ballots"):
            proposal = await proposal_repo.get_proposal_by_id(db.reader, row[0])
            assert proposal is not None
            spec = spec_of(proposal)
            for leaf in await ballot_repo.list_ballots(db.reader, proposal.id):
                validate_ballot(spec, ballot_from_json(spec.method, leaf.ballot))
                count += 1
        return count
