"""A loopback load generator for crash tests, and its ledger of what the node acknowledged.

Remote members post signed vote Creates (and now and then a public Note, which changes nothing
and takes the inbox's cheaper path: recorded with the next group commit); local people post API
ballots and delegation PUTs with their bearer tokens. Each request is classified by what the
client can know: *acknowledged* (the answer came), *not sent* (no connection was made: the node
was down, nothing reached it), or *maybe* (sent, no answer: the node may have died before or
after committing it).

Remote activities are retried with the same activity id until acknowledged, as a real server retries a
delivery; a node that applied the first attempt answers the retry as a duplicate. Each member's
votes belong to one worker, so the worker knows the member's current option and always votes for
another one: every accepted vote makes a leaf. API ballots and delegations are not retried (a
repeated ballot would be a new ballot): one whose answer was lost is recorded as maybe.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from .remote import RemoteActor, signed_headers

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
RETRY_SECONDS = 0.05


@dataclass
class RemoteVote:
    """One vote Note; ``first_sent``: the first attempt that may have reached the node."""

    note_id: str
    activity_id: str
    proposal_id: int
    voter: str
    option: str
    first_sent: float | None = None
    acked_at: float | None = None


@dataclass
class ApiBallot:
    """One API ballot and what came of it: ``status`` None when the answer was lost (maybe)."""

    proposal_id: int
    voter: str
    choice: str
    started: float
    ended: float
    status: int | None
    leaf_hash: str | None = None


@dataclass
class DelegationPut:
    """One global delegation PUT; ``acked`` False when its answer was lost (maybe)."""

    delegator: str
    delegate: str | None
    acked: bool


@dataclass
class Ledger:
    votes: list[RemoteVote] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # activity ids of answered Notes without effect
    ballots: list[ApiBallot] = field(default_factory=list)
    delegations: list[DelegationPut] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)  # answers no client should ever get


@dataclass
class Scenario:
    """What the load runs against: one assembly, its proposals (id -> options), its members."""

    base: str
    group: str
    proposals: dict[int, list[str]]
    voters: list[RemoteActor]
    tokens: dict[str, str]  # local person name -> API token
    delegates: list[str]  # IRIs a local person may delegate to (people and remote members)

    def person(self, name: str) -> str:
        return f"{self.base}/people/{name}"


def _connections_traced() -> aiohttp.TraceConfig:
    """Marks a request's context once a connection to the node was made for it."""

    async def connected(_session: Any, context: Any, _params: Any) -> None:
        context.trace_request_ctx["connected"] = True

    config = aiohttp.TraceConfig()
    config.on_connection_create_end.append(connected)
    return config


async def _request(
    session: aiohttp.ClientSession, method: str, url: str, **kw: Any
) -> tuple[int | None, str, bool]:
    """(status, text, reached): status None when no answer came; reached False when no connection
    was ever made. aiohttp retries a PUT once on a lost connection, so a refused connection alone
    does not prove that nothing was sent."""
    context = {"connected": False}
    try:
        async with session.request(method, url, trace_request_ctx=context, **kw) as response:
            return response.status, await response.text(), True
    except (aiohttp.ClientError, TimeoutError):
        return None, "", context["connected"]


class LoadGenerator:
    """Runs the load until ``stop`` is set; afterwards every vote under way is retried to its answer."""

    def __init__(self, scenario: Scenario, seed: int, vote_workers: int = 3, pause: float = 0.1) -> None:
        self.scenario = scenario
        self.ledger = Ledger()
        self._rng = random.Random(seed)
        self._vote_workers = vote_workers
        self._pause = pause
        self._current: dict[tuple[str, int], str] = {}  # (voter, proposal) -> acknowledged option

    async def run(self, stop: asyncio.Event) -> None:
        connector = aiohttp.TCPConnector(force_close=True)  # a refused connect means "not sent"
        timeout = aiohttp.ClientTimeout(total=15)
        async with aiohttp.ClientSession(
            connector=connector, timeout=timeout, trace_configs=[_connections_traced()]
        ) as session:
            voters = self.scenario.voters
            workers = [
                self._votes(session, stop, voters[n :: self._vote_workers], random.Random(self._rng.random()))
                for n in range(self._vote_workers)
            ]
            workers += [
                self._api(session, stop, name, token, random.Random(self._rng.random()))
                for name, token in self.scenario.tokens.items()
            ]
            await asyncio.gather(*workers)

    async def _votes(
        self, session: aiohttp.ClientSession, stop: asyncio.Event, voters: list[RemoteActor],
        rng: random.Random,
    ) -> None:
        while not stop.is_set():
            voter = rng.choice(voters)
            if rng.random() < 0.2:
                await self._post_note(session, voter)
            else:
                await self._vote_once(session, voter, rng)
            await asyncio.sleep(rng.uniform(0.5, 1.5) * self._pause)

    async def _vote_once(
        self, session: aiohttp.ClientSession, voter: RemoteActor, rng: random.Random
    ) -> None:
        """A vote for another option than the voter's current one, POSTed until answered."""
        proposal_id = rng.choice(sorted(self.scenario.proposals))
        current = self._current.get((voter.id, proposal_id))
        option = rng.choice([o for o in self.scenario.proposals[proposal_id] if o != current])
        vote = RemoteVote(f"{voter.id}/votes/{uuid.uuid4().hex}", f"{voter.id}/activities/{uuid.uuid4().hex}",
                          proposal_id, voter.id, option)
        self.ledger.votes.append(vote)
        group = self.scenario.group
        activity: dict[str, Any] = {
            "@context": AS_CONTEXT, "id": vote.activity_id, "type": "Create", "actor": voter.id, "to": group,
            "object": {"id": vote.note_id, "type": "Note", "name": option, "attributedTo": voter.id,
                       "inReplyTo": f"{self.scenario.base}/proposals/{proposal_id}", "to": group},
        }
        vote.first_sent, vote.acked_at = await self._post_until_answered(session, voter, activity)
        self._current[(voter.id, proposal_id)] = option

    async def _post_note(self, session: aiohttp.ClientSession, voter: RemoteActor) -> None:
        """A public Note that changes nothing here: recorded for dedupe with the next group commit."""
        note_id = f"{voter.id}/notes/{uuid.uuid4().hex}"
        activity: dict[str, Any] = {
            "@context": AS_CONTEXT, "id": f"{note_id}/activity", "type": "Create", "actor": voter.id,
            "to": [PUBLIC], "object": {"id": note_id, "type": "Note", "attributedTo": voter.id,
                                       "content": "<p>Market on Saturday</p>", "to": [PUBLIC]},
        }
        _, acked_at = await self._post_until_answered(session, voter, activity)
        if acked_at is not None:
            self.ledger.notes.append(activity["id"])

    async def _post_until_answered(
        self, session: aiohttp.ClientSession, actor: RemoteActor, activity: dict[str, Any]
    ) -> tuple[float | None, float | None]:
        """POST ``activity`` signed by ``actor`` until the node answers, with the same id each time, as
        a real server retries a delivery; (when an attempt first may have reached the node, when
        the 202 came)."""
        body = json.dumps(activity).encode()
        inbox = f"{self.scenario.group}/inbox"
        headers = signed_headers(actor, inbox, body)
        first_sent = None
        while True:
            started = time.time()
            status, text, reached = await _request(session, "POST", inbox, data=body, headers=headers)
            if reached and first_sent is None:
                first_sent = started
            if status == 202:
                return first_sent, time.time()
            if status is not None:
                self.ledger.unexpected.append(f"{activity['id']}: {status} {text[:200]}")
                return first_sent, None
            await asyncio.sleep(RETRY_SECONDS)

    async def _api(
        self, session: aiohttp.ClientSession, stop: asyncio.Event, name: str, token: str, rng: random.Random
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        while not stop.is_set():
            if rng.random() < 0.75:
                await self._ballot(session, headers, name, rng)
            else:
                await self._delegate(session, headers, name, rng)
            await asyncio.sleep(rng.uniform(1.0, 3.0) * self._pause)

    async def _ballot(
        self, session: aiohttp.ClientSession, headers: dict[str, str], name: str, rng: random.Random
    ) -> None:
        proposal_id = rng.choice(sorted(self.scenario.proposals))
        choice = rng.choice(self.scenario.proposals[proposal_id])
        url = f"{self.scenario.base}/api/v1/proposals/{proposal_id}/ballots"
        started = time.time()
        status, text, reached = await _request(session, "POST", url, json={"choice": choice}, headers=headers)
        if not reached:
            return
        ballot = ApiBallot(proposal_id, self.scenario.person(name), choice, started, time.time(), status)
        if status == 201:
            ballot.leaf_hash = json.loads(text)["id"].rsplit("/", 1)[1]
        elif status not in (None, 409):  # 409: the proposal closed (judged against the clock later)
            self.ledger.unexpected.append(f"ballot by {name}: {status} {text[:200]}")
        self.ledger.ballots.append(ballot)

    async def _delegate(
        self, session: aiohttp.ClientSession, headers: dict[str, str], name: str, rng: random.Random
    ) -> None:
        me = self.scenario.person(name)
        delegate = rng.choice([None, *(d for d in self.scenario.delegates if d != me)])
        url = f"{self.scenario.base}/api/v1/groups/{self.scenario.group.rsplit('/', 1)[1]}/delegation"
        body = {"delegate": delegate}
        status, text, reached = await _request(session, "PUT", url, json=body, headers=headers)
        if not reached:
            return
        if status not in (None, 200):
            self.ledger.unexpected.append(f"delegation by {name}: {status} {text[:200]}")
            return
        self.ledger.delegations.append(DelegationPut(me, delegate, acked=status == 200))
