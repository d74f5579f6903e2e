"""A roster from a spreadsheet: ``name`` and optionally ``actor`` columns, all rows in one unit.

Rows with ``actor`` are remote (or local) accounts, resolved over the network before the unit;
rows without it are local people, created when new (with a random password and, on request, an
API token). An invalid row aborts the whole import with its line number.
"""

from __future__ import annotations

import csv
import io
import os
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fedassembly.app.accounts import mint_token, put_person
from fedassembly.app.errors import InvalidError, NotFoundError
from fedassembly.app.node import Node
from fedassembly.app.roster import Candidate, put_on_roster, resolve_candidate
from fedassembly.app.urls import is_valid_name
from storage import actors as actor_repo
from storage.actors import LocalActor
from storage.db import Connection

if TYPE_CHECKING:
    from _csv import Reader as _Reader

MAX_IMPORT_ROWS = 10_000


@dataclass(frozen=True, slots=True)
class ImportRow:
    line: int
    name: str
    actor: str


@dataclass(frozen=True, slots=True)
class ImportResult:
    added: int
    already: int
    created: list[str]


def parse_import(text: str) -> list[ImportRow]:
    """The rows of a roster spreadsheet (header: name, optionally actor); InvalidError names the line."""
    # Universal newlines: a file saved with bare CR line ends (old spreadsheets) reads as lines.
    reader = csv.reader(io.StringIO(text, newline=None))
    try:
        return _rows(reader)
    except csv.Error as error:  # a field over the csv module's limit, a stray quote
        raise InvalidError(f"line {reader.line_num}: {error}") from error


def _rows(reader: _Reader) -> list[ImportRow]:
    header = [h.strip().lower() for h in next(reader, [])]
    if "name" not in header or not set(header) <= {"name", "actor"}:
        raise InvalidError("line 1: the header must name the columns name and optionally actor")
    rows: list[ImportRow] = []
    seen: set[str] = set()
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            raise InvalidError(f"line {line}: expected {len(header)} columns, found {len(values)}")
        cells = dict(zip(header, (v.strip() for v in values), strict=True))
        name, actor = cells.get("name", ""), cells.get("actor", "")
        if not actor and not is_valid_name(name):
            raise InvalidError(f"line {line}: invalid name {name!r}: use [a-z0-9_]{{1,30}}, not reserved")
        key = actor or name
        if key in seen:
            raise InvalidError(f"line {line}: {key} appears twice")
        seen.add(key)
        rows.append(ImportRow(line, name, actor))
        if len(rows) > MAX_IMPORT_ROWS:
            raise InvalidError(f"line {line}: more than {MAX_IMPORT_ROWS} rows")
    return rows


async def import_members(node: Node, group: LocalActor, path: Path, tokens_out: Path | None) -> ImportResult:
    """A roster from a spreadsheet, all rows in one transaction; an invalid row aborts with its line.

    Rows with ``actor`` are remote (or local) accounts resolved first, over the network; rows
    without it are local people: existing ones are only added, new ones are created with a random
    password (reset later) and, with ``tokens_out``, an API token written there as ``name,token``.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidError(f"cannot read {path}: {error}") from error
    rows = parse_import(text)
    resolved: dict[int, Candidate] = {}
    for row in rows:
        if row.actor:
            try:
                resolved[row.line] = await resolve_candidate(node, row.actor)
            except (InvalidError, NotFoundError) as error:
                raise InvalidError(f"line {row.line}: {error}") from error
    added = already = 0
    created: list[str] = []
    tokens: list[tuple[str, str]] = []
    try:
        async with node.db.transaction() as conn:
            for row in rows:
                candidate = resolved.get(row.line) or await _local_candidate(node, conn, row, created, tokens,
                                                                           tokens_out is not None)
                if await put_on_roster(node, conn, group, candidate, False):
                    added += 1
                else:
                    already += 1
            if tokens_out is not None:
                # Written inside the unit: if the file cannot be written, nothing is imported.
                _write_tokens(tokens_out, tokens)
    except sqlite3.IntegrityError as error:
        raise InvalidError(f"the import was refused by the database: {error}") from error
    node.delivery_queued()
    return ImportResult(added, already, created)


async def _local_candidate(
    node: Node, conn: Connection, row: ImportRow, created: list[str],
    tokens: list[tuple[str, str]], make_token: bool,
) -> Candidate:
    person = await actor_repo.get_actor_by_name(conn, row.name)
    if person is not None and person.kind != "person":
        raise InvalidError(f"line {row.line}: {row.name} is a group, not a person")
    if person is None:
        person_id = await put_person(node, conn, row.name, secrets.token_urlsafe(24))
        person = await actor_repo.get_actor_by_id(conn, person_id)
        assert person is not None
        created.append(row.name)
        if make_token:
            tokens.append((row.name, await mint_token(node, conn, person.id)))
    return Candidate(node.urls.actor("person", person.name), person, None)


def _write_tokens(path: Path, tokens: list[tuple[str, str]]) -> None:
    # Bearer tokens: readable by their owner only, even when an older file was there.
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["name", "token"])
            writer.writerows(tokens)
    except OSError as error:
        raise InvalidError(f"cannot write {path}: {error}") from error
