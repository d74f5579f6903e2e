"""What admins and API clients see of a running node: /healthz with the database and the delivery
queue, the JSON API's error shape (404, 405, 500, and 401 with WWW-Authenticate), and tokens
listed by an ID that revoke accepts, their last use written at most once a minute."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from support.nodes import RunningNode, free_port
from support.processes import run_cli, write_config
from support.remote import RemoteServer

from fedassembly.app import accounts, follows
from fedassembly.app import proposals as proposal_uc
from fedassembly.app.clock import iso, parse_iso
from storage import follows as follow_repo
from storage.follows import Follower

StartNode = Callable[..., Awaitable[RunningNode]]  # the conftest's nodes factory


async def call(running: RunningNode, method: str, path: str, **headers: str) -> tuple[int, Any, Any]:
    """(status, headers, JSON body) of one request to the node."""
    async with aiohttp.ClientSession() as session, session.request(
        method, running.base + path, headers=headers
    ) as answer:
        return answer.status, answer.headers.copy(), await answer.json(content_type=None)


def plain(running: RunningNode) -> sqlite3.Connection:
    """Another connection to the node's database file, as an admin's sqlite3 shell."""
    return sqlite3.connect(running.settings.storage_path, isolation_level=None, timeout=10)


async def test_healthz_reports_the_queue_and_a_failing_database(nodes: StartNode) -> None:
    running = await nodes("a", first_retry_seconds=3600)
    node = running.node
    status, _, report = await call(running, "GET", "/healthz")
    assert (status, report) == (200, {"ok": True, "database": "ok",
                                      "deliveries": {"depth": 0, "oldest_due": None, "dead": 0}})
    await running.group("barrio")
    group = await accounts.get_actor(node, "barrio")
    gone = await RemoteServer(host="127.0.0.2").start()
    gone.inbox_status = 410  # final: the delivery is given up at once
    follower = gone.actor("gone")
    try:
        async with node.db.transaction() as conn:
            # One whose server is gone (retried in an hour), one that answers 410 (given up).
            for actor in (f"http://127.0.0.1:{free_port()}/users/down", follower.id):
                row = Follower(group.id, actor, f"{actor}#follow", f"{actor}/inbox", None)
                await follow_repo.put_follower(conn, row, "now")
        await follows.announce(node, group, "We meet on Thursday.")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            status, _, report = await call(running, "GET", "/healthz")
            if report["deliveries"]["dead"] == 1:
                break
            await asyncio.sleep(0.1)
    finally:
        await gone.stop()
    assert status == 200 and report["ok"] is True and report["database"] == "ok"
    queue = report["deliveries"]
    assert (queue["depth"], queue["dead"]) == (1, 1)
    assert parse_iso(queue["oldest_due"]) > time.time() + 600  # the one left waits for its retry

    admin = plain(running)
    admin.execute("DROP TABLE deliveries")  # the database breaks under the node
    admin.close()
    status, _, report = await call(running, "GET", "/healthz")
    assert (status, report) == (503, {"ok": False, "database": "error: no such table: deliveries",
                                      "deliveries": None})


async def test_the_api_answers_errors_as_json(nodes: StartNode, caplog: pytest.LogCaptureFixture) -> None:
    running = await nodes("a")
    status, headers, body = await call(running, "GET", "/api/v1/nothing-here")
    assert (status, body, headers["Content-Type"]) == (404, {"error": "not found"}, "application/json")
    status, headers, body = await call(running, "POST", "/api/v1/me")
    assert (status, body) == (405, {"error": "method not allowed"}) and "GET" in headers["Allow"]
    status, headers, body = await call(running, "GET", "/api/v1/me")
    assert (status, body) == (401, {"error": "a bearer token is required"})
    assert headers["WWW-Authenticate"] == "Bearer"
    status, headers, body = await call(running, "GET", "/api/v1/me", Authorization="Bearer fa_not-a-token")
    assert (status, body) == (401, {"error": "invalid token"})
    assert headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'

    # A real fault: a row the code cannot read. One 500 in the error shape, one logged traceback.
    node = running.node
    await running.group("barrio")
    await running.person("ana")
    group, ana = await accounts.get_actor(node, "barrio"), await accounts.get_actor(node, "ana")
    proposal = await proposal_uc.create_proposal(node, group, ana, {
        "title": "Paint", "content": "Which?", "options": ["a", "b"], "method": "single",
        "closes_at": "2099-01-01T00:00:00Z",
    })
    admin = plain(running)
    admin.execute("UPDATE proposals SET options = 'not json' WHERE id = ?", (proposal.id,))
    admin.close()
    caplog.set_level(logging.ERROR)
    status, headers, body = await call(running, "GET", f"/api/v1/proposals/{proposal.id}")
    assert (status, body) == (500, {"error": f"internal error (request {headers['X-Request-Id']})"})
    [logged] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert logged.getMessage() == f"GET /api/v1/proposals/{proposal.id} failed" and logged.exc_info


TOKEN_LINE = re.compile(r"(\d+)  (fa_\S{7})…  (\S+)  (\S+)")


def token_lines(config: Path, name: str) -> list[tuple[str, ...]]:
    done = run_cli(config, "token", "list", name)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    matches = [TOKEN_LINE.fullmatch(line) for line in lines]
    assert all(matches), lines
    return [m.groups() for m in matches if m]


async def me(running: RunningNode, token: str) -> int:
    status, _, _ = await call(running, "GET", "/api/v1/me", Authorization=f"Bearer {token}")
    return status


async def test_token_list_shows_ids_that_revoke_takes(nodes: StartNode, tmp_path: Path) -> None:
    running = await nodes("a")
    config = write_config(tmp_path, free_port(), server={"base_url": running.base},
                          storage={"path": str(running.settings.storage_path)})
    await running.person("ana")  # made with a token of its own
    first = await accounts.create_token(running.node, "ana")
    second = await accounts.create_token(running.node, "ana")
    listed = token_lines(config, "ana")
    assert [prefix for _, prefix, _, _ in listed[1:]] == [first[:10], second[:10]]
    assert all(used == "never" for *_, used in listed)
    ids = [int(number) for number, *_ in listed]
    assert ids == sorted(ids)

    done = run_cli(config, "token", "revoke", str(ids[1]))  # by ID
    assert (done.returncode, done.stdout) == (0, "revoked\n")
    assert await me(running, first) == 401 and await me(running, second) == 200
    done = run_cli(config, "token", "revoke", second)  # by the token itself
    assert (done.returncode, done.stdout) == (0, "revoked\n")
    assert await me(running, second) == 401
    done = run_cli(config, "token", "revoke", str(ids[1]))
    assert (done.returncode, done.stderr) == (1, f"fedassembly: no token {ids[1]}\n")
    assert [number for number, *_ in token_lines(config, "ana")] == [str(ids[0])]


async def test_last_use_is_written_at_most_once_a_minute(nodes: StartNode) -> None:
    running = await nodes("a")
    _, token = await running.person("ana")

    def last_used() -> str | None:
        admin = plain(running)
        try:
            value: str | None = admin.execute("SELECT last_used_at FROM api_tokens").fetchone()[0]
            return value
        finally:
            admin.close()

    def set_last_used(seconds_ago: float) -> str:
        admin = plain(running)
        admin.execute("UPDATE api_tokens SET last_used_at = ?", (iso(time.time() - seconds_ago),))
        admin.close()
        value = last_used()
        assert value is not None
        return value

    assert last_used() is None
    assert await me(running, token) == 200
    first = last_used()
    assert first is not None and abs(parse_iso(first) - time.time()) < 5

    watcher = plain(running)
    version = watcher.execute("PRAGMA data_version").fetchone()[0]
    for _ in range(20):
        assert await me(running, token) == 200
    # Nothing was committed for twenty authenticated requests within the minute.
    assert watcher.execute("PRAGMA data_version").fetchone()[0] == version
    watcher.close()

    recent = set_last_used(30)
    assert await me(running, token) == 200
    assert last_used() == recent
    set_last_used(61)
    assert await me(running, token) == 200
    refreshed = last_used()
    assert refreshed is not None and abs(parse_iso(refreshed) - time.time()) < 5
