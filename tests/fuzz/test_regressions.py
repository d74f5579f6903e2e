"""What the fuzzers found, one focused test each: every case was a 500, an unhandled exception or
an ERROR traceback in the log before its fix."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from support.nodes import RunningNode

from fedassembly.app import accounts, roster, roster_import
from fedassembly.app import proposals as uc
from fedassembly.app.errors import InvalidError
from storage import delegations as delegation_repo


async def assembly(running: RunningNode) -> tuple[int, str]:
    """barrio, its facilitator ana (her token) and an open proposal (its id)."""
    await running.group("barrio")
    _url, token = await running.person("ana")
    node = running.node
    group = await accounts.get_actor(node, "barrio")
    await roster.add_member(node, group, "ana", facilitator=True)
    ana = await accounts.get_actor(node, "ana", "person")
    data = {"title": "Paint?", "method": "single", "options": ["green", "blue"],
            "closes_at": "2099-01-01T00:00:00Z"}
    return (await uc.create_proposal(node, group, ana, data)).id, token


async def raw_get(running: RunningNode, path: str) -> int:
    reader, writer = await asyncio.open_connection(running.settings.host, running.settings.port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    return int(status_line.split()[1])


async def test_a_page_number_too_long_for_int_is_400(nodes) -> None:
    # int() refuses more than 4300 digits with a ValueError: it was a 500.
    running = await nodes("a")
    await assembly(running)
    for collection in ("outbox", "followers", "members"):
        status, body = await running.api("GET", f"/groups/barrio/{collection}?page={'9' * 5000}")
        assert status == 400, (collection, body)
    assert (await running.api("GET", "/groups/barrio/outbox?page=1"))[0] == 200


async def test_a_request_line_over_the_limit_is_400_and_one_info_line(
    nodes, caplog: pytest.LogCaptureFixture
) -> None:
    # aiohttp refuses it with 400 before any route, but logged it at ERROR with a traceback.
    running = await nodes("a")
    with caplog.at_level(logging.INFO, logger="aiohttp.server"):
        assert await raw_get(running, "/groups/" + "x" * 9000) == 400
    records = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert [r.levelno for r in records] == [logging.INFO]
    assert "refused 400" in records[0].getMessage() and records[0].exc_info is None
    assert (await running.api("GET", "/healthz"))[0] == 200


@pytest.mark.parametrize("odd", ["¹", "٣", "9" * 30, "9" * 5000, "-1", "abc", "1e3"])
async def test_a_delegation_proposal_id_that_cannot_be_ours_is_404(nodes, odd: str) -> None:
    # "¹" passed str.isdigit() and int("¹") raised; ids beyond 64 bits overflowed SQLite: 500s.
    running = await nodes("a")
    proposal, token = await assembly(running)
    path = "/api/v1/groups/barrio/delegation"
    assert (await running.api("DELETE", f"{path}?proposal={odd}", token))[0] == 404
    assert (await running.api("PUT", path, token, json={"delegate": None, "proposal": odd}))[0] == 404
    if odd.lstrip("-").isascii() and odd.lstrip("-").isdigit() and len(odd) < 4300:
        number = {"delegate": None, "proposal": int(odd)}
        assert (await running.api("PUT", path, token, json=number))[0] == 404
    group = await accounts.get_actor(running.node, "barrio")
    assert await delegation_repo.list_delegations(running.node.db.reader, group.id) == []
    # A real id still works, as a number or as text.
    assert (await running.api("PUT", path, token, json={"delegate": None, "proposal": proposal}))[0] == 200
    assert (await running.api("DELETE", f"{path}?proposal={proposal}", token))[0] == 204


def test_a_roster_with_bare_cr_line_ends_is_read() -> None:
    # csv raised "new-line character seen in unquoted field" (old spreadsheets end lines with CR).
    rows = roster_import.parse_import("name,actor\rana,\rrosa,\r")
    assert [(row.line, row.name) for row in rows] == [(2, "ana"), (3, "rosa")]


def test_a_csv_error_names_its_line() -> None:
    # A field over the csv module's limit raised csv.Error, not the import's InvalidError.
    with pytest.raises(InvalidError, match=r"^line 3: field larger than field limit"):
        roster_import.parse_import("name\nana\n" + "x" * 200_000 + "\n")


async def test_the_cli_refuses_a_bad_spreadsheet_with_its_line(
    nodes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fedassembly.cli import main

    running = await nodes("a")
    await assembly(running)
    config = tmp_path / "cli.toml"
    config.write_text(f'[server]\nbase_url = "{running.base}"\n'
                      f'[storage]\npath = "{running.settings.storage_path}"\n')
    sheet = tmp_path / "roster.csv"
    sheet.write_text("name\nana\n" + "x" * 200_000 + "\n")
    argv = ["member", "import", "barrio", str(sheet), "--config", str(config)]
    assert await asyncio.to_thread(main, argv) == 1
    assert "line 3: field larger than field limit" in capsys.readouterr().err
    sheet.write_bytes(b"name\rana\r")
    assert await asyncio.to_thread(main, argv) == 0
