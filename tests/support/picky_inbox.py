"""A loopback inbox that verifies every POST with ``federation.signatures.verify_request`` and
refuses one signature scheme, as a server that verifies only the other would."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from aiohttp import web

from federation.keys import load_public_key
from federation.signatures import CAVAGE, RFC9421, Scheme, SignatureError, verify_request


@dataclass
class Knock:
    scheme: Scheme
    verified: bool
    status: int  # 0: the connection was closed instead of answered
    activity_id: str = ""


@dataclass
class PickyInbox:
    """Answers 401 to a POST that does not verify against ``public_pem``, ``refusals[scheme]`` to
    a valid signature in that scheme and 202 otherwise; ``drop`` closes the connection instead."""

    public_pem: str
    refusals: dict[Scheme, int] = field(default_factory=dict)
    drop: Scheme | None = None
    knocks: list[Knock] = field(default_factory=list)
    url: str = ""
    runner: web.AppRunner | None = None

    async def start(self, address: str = "127.0.0.1") -> PickyInbox:
        app = web.Application()
        app.router.add_post("/inbox", self._handle)
        self.runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, address, 0).start()
        self.url = f"http://{address}:{self.runner.addresses[0][1]}/inbox"
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    def schemes(self) -> list[tuple[Scheme, int]]:
        """(scheme, status) of every POST so far, in order."""
        return [(knock.scheme, knock.status) for knock in self.knocks]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {name.lower(): value for name, value in request.headers.items()}
        scheme: Scheme = RFC9421 if "signature-input" in headers else CAVAGE
        try:
            verify_request(method="POST", url=str(request.url), headers=headers, body=body,
                           public_key=load_public_key(self.public_pem), now=time.time())
            verified = True
        except SignatureError:
            verified = False
        activity_id = str(json.loads(body).get("id"))
        if scheme == self.drop:
            self.knocks.append(Knock(scheme, verified, 0, activity_id))
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=202)
        status = self.refusals.get(scheme, 202) if verified else 401
        self.knocks.append(Knock(scheme, verified, status, activity_id))
        return web.Response(status=status)
