"""Who receives what: inboxes of followers and members, deduplicated through shared inboxes."""

from __future__ import annotations

from collections.abc import Iterable

from federation.addresses import host_of
from storage.follows import Follower
from storage.remote import Recipient


def inbox_targets(followers: Iterable[Follower], direct: Iterable[Recipient] = ()) -> list[tuple[str, str]]:
    """(inbox, host) pairs: followers through their shared inbox, ``direct`` at their own inbox.

    Members who do not follow get the activity at their personal inbox: Mastodon keeps a post
    from an account nobody there follows only when it arrives for one of its users.
    """
    followers = list(followers)
    seen: set[str] = set()
    targets: list[tuple[str, str]] = []
    for follower in followers:
        inbox = follower.shared_inbox or follower.inbox
        if inbox not in seen:
            seen.add(inbox)
            targets.append((inbox, host_of(inbox)))
    following = {f.follower for f in followers}
    for actor in direct:
        if actor.id in following or actor.inbox in seen:
            continue
        seen.add(actor.inbox)
        targets.append((actor.inbox, host_of(actor.inbox)))
    return targets


def update_targets(followers: Iterable[Follower], preferred_inboxes: Iterable[str]) -> list[tuple[str, str]]:
    """(inbox, host) pairs for an Update of something already delivered: followers' and the
    ``preferred_inboxes`` of members and voters, each once.

    A receiver applies an Update only to an object it already holds, whoever's inbox it arrives
    at; Mastodon sends its own poll updates to voters' preferred (shared) inboxes
    (``DistributePollUpdateWorker``). One POST per server instead of one per member.
    """
    inboxes = dict.fromkeys([*(f.shared_inbox or f.inbox for f in followers), *preferred_inboxes])
    return [(inbox, host_of(inbox)) for inbox in inboxes]
