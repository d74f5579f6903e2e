"""Running a node: --version, help for every command and argument, the documented configuration,
start-up and shutdown lines, per-request log lines (text and JSON, with the request id echoed in
X-Request-Id), and the line a close logs."""

from __future__ import annotations

import argparse
import json
import logging
import re
import subprocess
import sys
import tomllib
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from support.nodes import RunningNode, free_port
from support.processes import run_cli, start_serving, stop_serving, write_config

import fedassembly
from fedassembly import settings as settings_module
from fedassembly.app import accounts
from fedassembly.app import proposals as proposal_uc
from fedassembly.app.closing import close_due
from fedassembly.cli import ACTIONS, build_parser
from fedassembly.settings import Settings, settings_from_mapping, startup_warnings
from storage import members as member_repo
from storage.members import Member

ROOT = Path(__file__).resolve().parents[2]
StartNode = Callable[..., Awaitable[RunningNode]]  # the conftest's nodes factory


def test_version_is_the_package_version() -> None:
    done = subprocess.run([sys.executable, "-m", "fedassembly", "--version"], capture_output=True, text=True,
                          check=False)
    assert (done.returncode, done.stdout) == (0, f"fedassembly {fedassembly.__version__}\n")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "fedassembly.__version__"}


Parsers = list[tuple[str, argparse.ArgumentParser]]


def parsers(parser: argparse.ArgumentParser, words: tuple[str, ...] = ()) -> Parsers:
    """Every (sub)command's parser, by its words."""
    found = [(" ".join(words), parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, child in action.choices.items():
                assert helps.get(name), f"{' '.join((*words, name))} has no help line"
                found.extend(parsers(child, (*words, name)))
    return found


def test_every_command_and_argument_has_a_help_line() -> None:
    everything = parsers(build_parser())
    for words, parser in everything:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
                continue
            assert action.help and action.help != argparse.SUPPRESS, f"{words}: {action.dest} has no help"
    commands = {words for words, parser in everything if not parser._subparsers}
    assert {" ".join(words) for words in ACTIONS} | {"serve", "backup", "restore", "verify"} == commands
    helps = {words: " ".join(str(a.help) for a in parser._actions) + str(parser.description)
             for words, parser in everything}
    assert "name and optionally actor" in helps["member import"]
    [tokens] = [a for a in dict(everything)["member import"]._actions if a.dest == "tokens"]
    assert tokens.metavar == "OUT.csv"
    assert "header name,token" in helps["member import"]
    assert "ID  PREFIX…  created  last used" in helps["token list"]
    assert "its ID from `token list`" in helps["token revoke"]


def test_config_example_documents_every_key_with_its_default() -> None:
    example = tomllib.loads((ROOT / "config.example.toml").read_text())
    documented = {(section, key) for section, table in example.items() for key in table}
    assert documented == set(settings_module._KEYS)
    assert settings_from_mapping(example) == Settings()
    text = (ROOT / "config.example.toml").read_text()
    for key in ("busy_timeout_seconds = 10", '[log]\n', 'level = "info"', 'format = "text"'):
        assert key in text


def test_bad_log_settings_are_refused() -> None:
    for table, message in (({"level": "loud"}, "log.level must be one of"),
                           ({"format": "xml"}, "log.format must be one of")):
        with pytest.raises(settings_module.SettingsError, match=message):
            settings_from_mapping({"log": table})
    assert startup_warnings(Settings(host="0.0.0.0", base_url="https://a.example")) == []


def log_lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


async def test_start_up_and_shutdown_are_logged_and_an_open_host_without_base_url_warned(
    tmp_path: Path,
) -> None:
    port = free_port()
    config = write_config(tmp_path, port, server={"host": "0.0.0.0"})
    log = tmp_path / "node.log"
    node = await start_serving(config, f"http://127.0.0.1:{port}", log)
    assert stop_serving(node) == 0
    lines = log_lines(log)
    [warning] = [line for line in lines if " WARNING " in line]
    assert "server.host '0.0.0.0' listens on every interface but server.base_url is empty" in warning
    [started] = [line for line in lines if " serving " in line]
    database = tmp_path / "data" / "node.sqlite3"
    assert started.endswith(
        f"INFO fedassembly: fedassembly {fedassembly.__version__} serving http://0.0.0.0:{port} on"
        f" 0.0.0.0:{port}; config {config}; database {database} (created now)"
    )
    assert lines[-2].endswith("INFO fedassembly: stopping on SIGTERM")
    assert lines[-1].endswith("INFO fedassembly: stopped")


async def get(url: str, **headers: str) -> tuple[int, Mapping[str, str], Any]:
    """(status, headers (case-insensitive), JSON body) of a GET."""
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as answer:
        return answer.status, answer.headers.copy(), await answer.json(content_type=None)


async def test_json_logs_are_one_object_a_line_carrying_the_request_id(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = write_config(tmp_path, port, log={"format": "json"})
    log = tmp_path / "node.log"
    assert run_cli(config, "assembly", "create", "barrio").returncode == 0
    node = await start_serving(config, base, log)
    try:
        status, headers, _ = await get(f"{base}/healthz", **{"X-Request-Id": "proxy-given-0001"})
        assert status == 200 and headers["X-Request-Id"] == "proxy-given-0001"
        status, headers, body = await get(f"{base}/api/v1/nothing-here", **{"X-Request-Id": "bad id\u00e9"})
        assert status == 404 and body == {"error": "not found"}
        made = headers["X-Request-Id"]
        assert re.fullmatch(r"[0-9a-f]{16}", made)  # an unusable given id is replaced
        async with aiohttp.ClientSession() as session:
            unsigned = {"id": "https://x.example/1", "type": "Follow", "actor": "https://x.example/u"}
            async with session.post(f"{base}/groups/barrio/inbox", json=unsigned,
                                    headers={"X-Request-Id": "inbox-request-01"}) as answer:
                assert answer.status == 401
    finally:
        assert stop_serving(node) == 0
    events = [json.loads(line) for line in log_lines(log)]  # every line is one JSON object
    assert all({"ts", "level", "event"} <= set(e) for e in events)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", e["ts"]) for e in events)
    requests = {e["request_id"]: e for e in events if e["event"] == "request"}
    health = requests["proxy-given-0001"]
    assert {k: health[k] for k in ("level", "method", "path", "status")} == {
        "level": "info", "method": "GET", "path": "/healthz", "status": 200
    }
    assert isinstance(health["ms"], float) and health["ms"] >= 0
    assert requests[made]["status"] == 404
    [refusal] = [e for e in events if e["event"].startswith("inbox /groups/barrio/inbox refused 401")]
    assert refusal["request_id"] == "inbox-request-01" and refusal["logger"] == "fedassembly.inbox"
    assert requests["inbox-request-01"]["status"] == 401
    assert any(e["event"].startswith(f"fedassembly {fedassembly.__version__} serving") for e in events)
    assert events[-1]["event"] == "stopped" and "request_id" not in events[-1]


async def test_the_text_access_line_is_one_lazy_info(
    nodes: StartNode, caplog: pytest.LogCaptureFixture
) -> None:
    running = await nodes("a")
    caplog.set_level(logging.INFO, logger="fedassembly.access")
    status, headers, _ = await get(f"{running.base}/healthz")
    assert status == 200
    [record] = [r for r in caplog.records if r.name == "fedassembly.access"]
    assert record.msg == "%s %s %s %d %.1fms" and isinstance(record.args, tuple)
    assert re.fullmatch(rf"{headers['X-Request-Id']} GET /healthz 200 \d+\.\dms", record.getMessage())


async def test_a_close_logs_its_outcome(nodes: StartNode, caplog: pytest.LogCaptureFixture) -> None:
    running = await nodes("a")
    node = running.node
    await running.group("barrio")
    ana_iri, token = await running.person("ana")
    group = await accounts.get_actor(node, "barrio")
    ana = await accounts.get_actor(node, "ana")
    async with node.db.transaction() as conn:
        await member_repo.put_member(conn, Member(group.id, ana_iri, ana.id, True, node.now_iso()))
    proposal = await proposal_uc.create_proposal(node, group, ana, {
        "title": "Open on Sundays?", "content": "Shall we?", "method": "yesno",
        "closes_at": "2099-01-01T00:00:00Z",
    })
    ballot = {"choice": "yes"}
    status, _ = await running.api("POST", f"/api/v1/proposals/{proposal.id}/ballots", token, ballot)
    assert status == 201
    caplog.set_level(logging.INFO, logger="fedassembly.app.closing")
    assert await close_due(node, 4102444800.0 + 1) == 1
    [line] = [r.getMessage() for r in caplog.records if r.name == "fedassembly.app.closing"]
    assert line == f"proposal {proposal.id} closed: The proposal “Open on Sundays?” passed. (1 of 1 voted)"
