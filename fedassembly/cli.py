"""The admin CLI (`fedassembly --help`, README): errors on stderr with exit 1, results on stdout.

Notices that are neither (the database was created, and where) go to stderr too, so a script
reading a command's stdout gets only its result.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fedassembly import __version__
from fedassembly import cli_actions as do
from fedassembly.app.errors import CommandError
from fedassembly.logs import level_number, setup_logging
from fedassembly.main import open_node
from fedassembly.serve import serve
from fedassembly.settings import Settings, SettingsError, config_file, load_settings
from storage.backups import backup_database, restore_database
from storage.db import Database, MissingDatabaseError, StorageError
from storage.migrate import load_migrations

WHO = "a local person's NAME, @user@host or an actor IRI (remote ones are resolved by WebFinger)"
GROUP = "the assembly's or council's NAME"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; ``--config`` is accepted before and after the subcommand."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", type=Path, default=argparse.SUPPRESS, metavar="FILE",
        help="the configuration file (TOML; see config.example.toml); default ./fedassembly.toml"
        " if present, else built-in defaults",
    )
    parser = argparse.ArgumentParser(
        prog="fedassembly", parents=[common],
        description="A federated ActivityPub server for neighborhood assemblies, and its admin commands.",
    )
    parser.add_argument("--version", action="version", version=f"fedassembly {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help: str, parent: Any = sub) -> argparse.ArgumentParser:
        # Any: argparse gives the subparsers object no public type.
        made: argparse.ArgumentParser = parent.add_parser(name, parents=[common], help=help, description=help)
        return made

    def actions(name: str, help: str) -> Any:
        return add(name, help).add_subparsers(dest="action", required=True, metavar="ACTION")

    add("serve", "run the node (creates and migrates the database on first start)")
    assembly = actions("assembly", "assemblies: create, set")
    p = add("create", "a new assembly", assembly)
    p.add_argument("name", help="its name: [a-z0-9_], at most 30 characters; its handle is @NAME@host")
    p.add_argument("--title", default="", help="the name people see (default: NAME)")
    p = add("set", "change an assembly's settings", assembly)
    p.add_argument("name", help="the assembly's NAME")
    p.add_argument("--ballots", choices=["public", "members", "hidden"],
                   help="who may read each ballot: anyone, members, or (hidden) nobody until the close")
    p.add_argument("--roster", choices=["public", "members"], help="who may list the members")
    p.add_argument("--vote-receipts", choices=["on", "off"],
                   help="whether a vote from the fediverse is answered with its receipt")
    council = actions("council", "councils of assemblies: create")
    p = add("create", "a new council", council)
    p.add_argument("name", help="its name: [a-z0-9_], at most 30 characters")
    p.add_argument("--rule", required=True,
                   choices=["majority", "weighted", "double_majority", "consensus", "proportional"],
                   help="how the member groups' decisions are combined")
    p.add_argument("--title", default="", help="the name people see (default: NAME)")
    person = actions("person", "local accounts: create")
    add("create", "a local account; the password is the first line of stdin when stdin is not a"
        " terminal, else prompted (at least 8 characters)", person).add_argument(
        "name", help="the account's name: [a-z0-9_], at most 30 characters")
    member = actions("member", "rosters: add, remove, import")
    p = add("add", "put someone on a roster (a remote member is sent a welcome saying how to vote)", member)
    p.add_argument("group", help=GROUP)
    p.add_argument("who", help=WHO)
    p.add_argument("--facilitator", action="store_true", help="may open proposals and manage the roster")
    p = add("remove", "take someone off a roster; their ballots on open proposals stop counting", member)
    p.add_argument("group", help=GROUP)
    p.add_argument("who", help=WHO)
    p = add("import", "a roster from a spreadsheet, all rows in one transaction; an invalid row aborts"
            " the import, naming its line", member)
    p.add_argument("group", help=GROUP)
    p.add_argument("file", type=Path, help="a CSV file with a header row: name and optionally actor."
                   " A row with an actor (@user@host or IRI) adds that account; a row with only a name"
                   " adds that local person, created with a random password when new")
    p.add_argument("--tokens", type=Path, metavar="OUT.csv",
                   help="give each new person an API token and write them to OUT.csv (header name,token;"
                   " readable by you only): the only copy of those tokens")
    for name, what in (("follow", "follows"), ("unfollow", "stops following")):
        p = add(name, f"a local person {what} a fediverse account")
        p.add_argument("person", help="the local person's NAME")
        p.add_argument("target", help="@user@host or an actor IRI")
    p = add("announce", "the group posts a public Note to its followers")
    p.add_argument("group", help=GROUP)
    p.add_argument("text", help="the announcement")
    token = actions("token", "bearer tokens for the JSON API: create, list, revoke")
    add("create", "print a new token for a person (only its hash is kept: it is shown once)",
        token).add_argument("name", help="the person's NAME")
    add("list", "a person's tokens, one a line: ID  PREFIX…  created  last used", token).add_argument(
        "name", help="the person's NAME")
    add("revoke", "revoke a token at once", token).add_argument(
        "token", metavar="TOKEN|ID", help="the token itself or its ID from `token list`")
    for name, what in (("block", "refuse"), ("unblock", "accept again")):
        add(name, f"{what} an actor's or a domain's activities, from now on (a running node applies"
            " it within a second)").add_argument(
            "target", metavar="ACTOR|DOMAIN",
            help="an actor IRI, @user@host, or a domain (its subdomains included)")
    add("backup", "a consistent copy of the database, safe while the node runs").add_argument(
        "file", type=Path, help="where to write it (readable by you only; an older backup there is replaced)")
    add("restore", "put a backup in place of the database: stop the node first (refused while anything"
        " has the database open); the old -wal and -shm files are deleted").add_argument(
        "file", type=Path, help="a file written by `fedassembly backup`")
    add("verify", "check a decision's or an aggregate's proofs and sums (not built yet)").add_argument(
        "url", help="the decision's or aggregate's URL")
    return parser


@dataclass(frozen=True, slots=True)
class Command:
    run: do.Action
    creates_database: bool = False  # else it needs data that is already there


# Every command of ``fedassembly`` that works on an open node, by its words: the CLI at a glance.
# ``serve``, ``backup`` and ``restore`` work on the database file itself (``main`` below).
ACTIONS: dict[tuple[str, ...], Command] = {
    ("assembly", "create"): Command(do.assembly_create, creates_database=True),
    ("assembly", "set"): Command(do.assembly_set),
    ("council", "create"): Command(do.council_create, creates_database=True),
    ("person", "create"): Command(do.person_create, creates_database=True),
    ("member", "add"): Command(do.member_add),
    ("member", "remove"): Command(do.member_remove),
    ("member", "import"): Command(do.member_import),
    ("follow",): Command(do.follow),
    ("unfollow",): Command(do.unfollow),
    ("announce",): Command(do.announce),
    ("token", "create"): Command(do.token_create),
    ("token", "list"): Command(do.token_list),
    ("token", "revoke"): Command(do.token_revoke),
    ("block",): Command(do.block),
    ("unblock",): Command(do.unblock),
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``fedassembly`` console script."""
    args = build_parser().parse_args(argv)
    try:
        config = config_file(getattr(args, "config", None))
        settings = load_settings(config)
    except SettingsError as error:
        print(f"fedassembly: {error}", file=sys.stderr)
        return 1
    # Only the node logs what it does; a command's output is its result, warnings and errors.
    level = settings.log_level if args.command == "serve" else "warning"
    if level_number(settings.log_level) > level_number(level):
        level = settings.log_level
    setup_logging(level, settings.log_format)
    try:
        if args.command == "serve":
            return serve(settings, config)
        return asyncio.run(_run(settings, args))
    except MissingDatabaseError as error:
        where = f"storage.path in {config}" if config else "storage.path (no configuration file was read)"
        print(f"fedassembly: {error}; check {where}, or create an assembly or a person first",
              file=sys.stderr)
        return 1
    except (SettingsError, StorageError) as error:
        print(f"fedassembly: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("fedassembly: interrupted", file=sys.stderr)
        return 130


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    path = (args.command, *([args.action] if getattr(args, "action", None) else []))
    if path == ("backup",):
        return await _backup(settings, args.file)
    if path == ("restore",):
        restore_database(args.file, settings.storage_path, load_migrations()[-1].version)
        print(f"restored {os.path.abspath(settings.storage_path)} from {args.file}; start the node")
        return 0
    command = ACTIONS.get(path)
    if command is None:  # `verify` comes with councils across nodes, not built yet
        print(f"fedassembly: {' '.join(path)} is not built yet", file=sys.stderr)
        return 1
    node = await open_node(settings, create=command.creates_database)
    try:
        if node.db.created:
            print(f"fedassembly: created the database {os.path.abspath(node.db.path)}", file=sys.stderr)
        await command.run(node, args)
        return 0
    except CommandError as error:
        print(f"fedassembly: {error}", file=sys.stderr)
        return 1
    finally:
        await node.close()


async def _backup(settings: Settings, target: Path) -> int:
    """Copy the database as it is: no migration, nothing written to it."""
    db = await Database.open(
        settings.storage_path, create=False, busy_timeout_seconds=settings.busy_timeout_seconds
    )
    try:
        await backup_database(db, target)
    finally:
        await db.close()
    print(target)
    return 0
