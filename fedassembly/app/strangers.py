"""The inbox's limit for strangers: actors on no roster of this node, limited per remote host.

Asked by the inbox verifier (``federation.inbox.Admission``) once the body is parsed and before
any key is fetched or signature checked, so a stranger's flood costs neither fetches nor
verification nor storage. Roster members are never limited: a meeting of a big server's members
votes at whatever pace its server sends.

At that point nothing is verified: the body may lie about its actor. The verifier has already
refused a keyId on another host than the claimed actor, so the request is charged to the host
it names, and a liar can only
- name a stranger of its own host: it spends its own budget;
- name a stranger of another host: it spends that host's budget, and that host's strangers get
  429s for a while. Its members still get through, which is the bound we accept; or
- name a member: it passes this gate, and then pays what every request pays, a signature check
  against a cached key (refetched at most once a minute), and is refused with 401.
"""

from __future__ import annotations

import logging

from fedassembly.app.roster_index import FRESH_SECONDS, RosterIndex
from federation.rate_limit import HostLimiter

log = logging.getLogger("fedassembly.app.strangers")


class StrangerGate:
    """Members pass; strangers spend a token of their host's bucket, or are told to wait."""

    def __init__(self, roster: RosterIndex, limiter: HostLimiter, *, rate: float, burst: int):
        self._roster = roster
        self._limiter = limiter
        self._limits = f"{rate:g}/s, burst {burst}"

    async def admit(self, actor: str, host: str) -> int | None:
        """None to go on; else the seconds after which ``host`` may send again."""
        if actor in self._roster:
            return None
        wait = self._limiter.take(host)
        if not wait:
            return None
        # Before refusing, look at the rosters once more: a member may have been added just now.
        try:
            await self._roster.catch_up(max_age=FRESH_SECONDS)
        except Exception as error:  # a courtesy: without it, the rosters in memory decide
            log.warning("inbox: the rosters could not be read again: %s", error)
        if actor in self._roster:
            return None
        reported = self._limiter.count_refusal(host)
        if reported:
            log.warning(
                "inbox: strangers from %s over the limit (%s): %d refused with 429 since the last line",
                host, self._limits, reported,
            )
        return wait
