"""Two real nodes: a person on B follows an assembly on A, gets its announcements, unfollows."""

from __future__ import annotations

import asyncio
import time

from fedassembly.app import accounts, follows
from storage import follows as follow_repo
from storage import inbox as inbox_repo


async def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


async def test_follow_accept_announce_unfollow(nodes) -> None:
    a = await nodes("a")
    b = await nodes("b")
    group_url = await a.group("barrio")
    _, token = await b.person("alice")

    status, body = await b.api("POST", "/api/v1/follows", token, {"target": group_url})
    assert status == 202, body
    alice = await accounts.get_actor(b.node, "alice", "person")
    group = await accounts.get_actor(a.node, "barrio", "assembly")

    async def accepted() -> bool:
        row = await follow_repo.get_following(b.node.db.reader, alice.id, group_url)
        return row is not None and row.state == "accepted"

    await wait_until(accepted)
    followers = await follow_repo.list_followers(a.node.db.reader, group.id)
    assert [f.follower for f in followers] == [f"{b.base}/people/alice"]
    assert followers[0].shared_inbox == f"{b.base}/inbox"

    note = await follows.announce(a.node, group, "Assembly on Thursday at 7pm.")

    async def arrived() -> bool:
        rows = await b.node.db.fetchall("SELECT body FROM inbox_activities WHERE type = 'Create'")
        return any(note["id"] in row[0] for row in rows)

    await wait_until(arrived)

    status, _ = await b.api("DELETE", f"/api/v1/follows?target={group_url}", token)
    assert status == 204

    async def unfollowed() -> bool:
        return await follow_repo.count_followers(a.node.db.reader, group.id) == 0

    await wait_until(unfollowed)
    second = await follows.announce(a.node, group, "Nobody should get this one.")
    await asyncio.sleep(0.5)
    assert await inbox_repo.count_inbox_activities(b.node.db.reader, second["id"]) == 0
    rows = await b.node.db.fetchall("SELECT body FROM inbox_activities")
    assert not any(second["id"] in row[0] for row in rows)


async def test_follow_by_handle_through_webfinger(nodes) -> None:
    a = await nodes("a")
    b = await nodes("b")
    await a.group("barrio")
    await b.person("alice")
    alice = await accounts.get_actor(b.node, "alice", "person")
    await follows.follow(b.node, alice, f"@barrio@{a.node.urls.host}")
    group = await accounts.get_actor(a.node, "barrio", "assembly")

    async def followed() -> bool:
        return await follow_repo.count_followers(a.node.db.reader, group.id) == 1

    await wait_until(followed)
