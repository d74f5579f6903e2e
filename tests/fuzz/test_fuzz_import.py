"""Roster spreadsheets, fuzzed: the parser, the import on a running node and the CLI beside it.

An import either adds its rows or refuses with a line number (InvalidError, exit 1); never an
unhandled exception, never a half-written roster."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fuzz.harness import FuzzNode, fuzz_settings
from fuzz.strategies import edge_text
from fuzz.strategies_api import roster_csv
from hypothesis import given
from hypothesis import strategies as st

from fedassembly.app import accounts, roster_import
from fedassembly.app.errors import CommandError, InvalidError
from fedassembly.cli import main
from storage import members as member_repo

# Local names an import may create: few, so that each person is made (scrypt) at most once.
LOCAL = ("ana", "rosa", "tomas", "lu")


def test_parse_import_reads_rows_or_names_the_bad_line(fuzz_node: FuzzNode) -> None:
    @fuzz_settings(examples=1000)
    @given(text=roster_csv(fuzz_node.target, LOCAL) | edge_text)
    def example(text: str) -> None:
        try:
            rows = roster_import.parse_import(text)
        except InvalidError as error:
            assert str(error).startswith("line "), error
        else:
            assert all(row.actor or row.name for row in rows)

    example()


def roster_of(fuzz_node: FuzzNode) -> list[str]:
    async def read() -> list[str]:
        group = await accounts.get_actor(fuzz_node.running.node, "barrio")
        return sorted(await member_repo.list_member_ids(fuzz_node.running.node.db.reader, group.id))

    return fuzz_node.run(read())


def test_import_members_adds_every_row_or_none(fuzz_node: FuzzNode, tmp_path: Path) -> None:
    node = fuzz_node.running.node
    path, tokens = tmp_path / "roster.csv", tmp_path / "tokens.csv"
    imported: list[int] = []

    @fuzz_settings(examples=200)
    @given(text=roster_csv(fuzz_node.target, LOCAL), bom=st.booleans())
    def example(text: str, bom: bool) -> None:
        path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8", "surrogatepass"))
        before = roster_of(fuzz_node)
        group = fuzz_node.run(accounts.get_actor(node, "barrio"))
        try:
            result = fuzz_node.run(roster_import.import_members(node, group, path, tokens))
        except CommandError:
            assert roster_of(fuzz_node) == before, "a refused import changed the roster"
        else:
            imported.append(result.added)
            assert len(roster_of(fuzz_node)) == len(before) + result.added
        fuzz_node.check(200, text)

    example()
    assert imported, "no example was imported"


def test_cli_member_import_exits_0_or_1(fuzz_node: FuzzNode, tmp_path: Path) -> None:
    config = tmp_path / "cli.toml"
    config.write_text(
        f'[server]\nbase_url = "{fuzz_node.running.base}"\n'
        f'[storage]\npath = "{fuzz_node.running.settings.storage_path}"\n'
        "[federation]\nallow_private_addresses = true\n"
    )
    path = tmp_path / "roster.csv"
    exits: list[int] = []

    @fuzz_settings(examples=25)
    @given(text=roster_csv(fuzz_node.target, LOCAL))
    def example(text: str) -> None:
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        argv = ["member", "import", "barrio", str(path), "--config", str(config)]
        # The node's loop runs while the CLI does: the remote server it resolves actors on lives there.
        exits.append(fuzz_node.run(asyncio.to_thread(main, argv)))
        assert exits[-1] in (0, 1)
        fuzz_node.check(200, text)

    example()
    assert set(exits) == {0, 1}, exits
