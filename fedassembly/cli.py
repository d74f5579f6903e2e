"""The admin CLI (`fedassembly --help`, README): errors on stderr with exit 1, results on stdout."""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from aiohttp import web

from fedassembly.app import accounts, follows, roster, roster_import
from fedassembly.app.errors import CommandError, InvalidError
from fedassembly.app.node import Node
from fedassembly.main import build_app, open_node
from fedassembly.settings import Settings, SettingsError, load_settings
from storage.db import StorageError

Action = Callable[[Node, argparse.Namespace], Awaitable[None]]
GROUP_KINDS = ("assembly", "council")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; ``--config`` is accepted before and after the subcommand."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, default=argparse.SUPPRESS, help="configuration file (TOML)")
    parser = argparse.ArgumentParser(prog="fedassembly", parents=[common])
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, parent: Any = sub, **kw: Any) -> argparse.ArgumentParser:
        # Any: argparse gives the subparsers object no public type.
        made: argparse.ArgumentParser = parent.add_parser(name, parents=[common], **kw)
        return made

    add("serve", help="run the node")
    assembly = add("assembly", help="assemblies").add_subparsers(dest="action", required=True)
    p = add("create", assembly)
    p.add_argument("name")
    p.add_argument("--title", default="")
    p = add("set", assembly)
    p.add_argument("name")
    p.add_argument("--ballots", choices=["public", "members", "hidden"])
    p.add_argument("--roster", choices=["public", "members"])
    p.add_argument("--vote-receipts", choices=["on", "off"])
    council = add("council", help="councils").add_subparsers(dest="action", required=True)
    p = add("create", council)
    p.add_argument("name")
    p.add_argument(
        "--rule",
        required=True,
        choices=["majority", "weighted", "double_majority", "consensus", "proportional"],
    )
    p.add_argument("--title", default="")
    person = add("person", help="local accounts").add_subparsers(dest="action", required=True)
    add("create", person).add_argument("name")
    member = add("member", help="rosters").add_subparsers(dest="action", required=True)
    p = add("add", member)
    p.add_argument("group")
    p.add_argument("who")
    p.add_argument("--facilitator", action="store_true")
    p = add("remove", member)
    p.add_argument("group")
    p.add_argument("who")
    p = add("import", member)
    p.add_argument("group")
    p.add_argument("file", type=Path)
    p.add_argument("--tokens", type=Path)
    for name in ("follow", "unfollow"):
        p = add(name)
        p.add_argument("person")
        p.add_argument("target")
    p = add("announce")
    p.add_argument("group")
    p.add_argument("text")
    token = add("token", help="API tokens").add_subparsers(dest="action", required=True)
    add("create", token).add_argument("name")
    add("list", token).add_argument("name")
    add("revoke", token).add_argument("token")
    add("backup").add_argument("file", type=Path)
    add("verify").add_argument("url")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``fedassembly`` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.command == "serve" else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = load_settings(getattr(args, "config", None))
        if args.command == "serve":
            run_event_loop(serve(settings))
            return 0
        return asyncio.run(_run(settings, args))
    except (SettingsError, StorageError) as error:
        print(f"fedassembly: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    path = (args.command, *([args.action] if getattr(args, "action", None) else []))
    action = ACTIONS.get(path)
    if action is None:  # `verify` comes with councils across nodes, not built yet
        print(f"fedassembly: {' '.join(path)} is not built yet", file=sys.stderr)
        return 1
    node = await open_node(settings)
    try:
        await action(node, args)
        return 0
    except CommandError as error:
        print(f"fedassembly: {error}", file=sys.stderr)
        return 1
    finally:
        await node.close()


def run_event_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run the node's loop on uvloop where it exists (Linux, macOS), else on asyncio's own.

    The node is bound by its event loop's own cost (HTTP, sockets, callbacks); uvloop cuts it by
    about a tenth on bench/votes.py and bench/inbox.py.
    """
    try:
        import uvloop
    except ImportError:  # Windows: uvloop is not installed there (see pyproject.toml)
        asyncio.run(main)
    else:
        uvloop.run(main)


def settle_garbage_collector() -> None:
    """Stop rescanning what start-up made, and collect the young generation less often.

    Modules, routes and caches live as long as the node, yet every full collection walked them
    again; a request allocates hundreds of short-lived objects, most gone before any collection.
    In bench/votes.py the defaults spent 3% of the node's CPU in 253 young and 2 full collections;
    frozen, with ten thousand allocations between young collections: 2 young ones, 3 ms. Cycles are
    still collected.
    """
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


async def serve(settings: Settings) -> None:
    """Run the node until SIGINT or SIGTERM."""
    # Deliveries get a core of their own when there is one to spare.
    app = build_app(settings, sender_process=(os.cpu_count() or 1) > 1)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port, backlog=1024)
    await site.start()
    settle_garbage_collector()
    logging.getLogger("fedassembly").info("serving %s on %s:%s", settings.base, settings.host, settings.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def read_password() -> str:
    """The first line of stdin when it is not a terminal, else a prompt."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise CommandError("the passwords differ")
    return first


async def _assembly_create(node: Node, args: argparse.Namespace) -> None:
    group = await accounts.create_group(node, args.name, "assembly", args.title)
    print(node.urls.actor(group.kind, group.name))


async def _council_create(node: Node, args: argparse.Namespace) -> None:
    group = await accounts.create_group(node, args.name, "council", args.title, settings={"rule": args.rule})
    print(node.urls.actor(group.kind, group.name))


async def _person_create(node: Node, args: argparse.Namespace) -> None:
    person = await accounts.create_person(node, args.name, read_password())
    print(node.urls.actor(person.kind, person.name))


async def _follow(node: Node, args: argparse.Namespace) -> None:
    person = await accounts.get_actor(node, args.person, "person")
    print(await follows.follow(node, person, args.target))


async def _unfollow(node: Node, args: argparse.Namespace) -> None:
    person = await accounts.get_actor(node, args.person, "person")
    await follows.unfollow(node, person, args.target)
    print(f"{person.name} no longer follows {args.target}")


async def _announce(node: Node, args: argparse.Namespace) -> None:
    group = await accounts.get_actor(node, args.group, "assembly", "council")
    note = await follows.announce(node, group, args.text)
    print(note["id"])


async def _token_create(node: Node, args: argparse.Namespace) -> None:
    print(await accounts.create_token(node, args.name))


async def _token_list(node: Node, args: argparse.Namespace) -> None:
    for token in await accounts.list_tokens(node, args.name):
        print(f"{token.prefix}…\tcreated {token.created_at}\tlast used {token.last_used_at or 'never'}")


async def _token_revoke(node: Node, args: argparse.Namespace) -> None:
    await accounts.revoke_token(node, args.token)
    print("revoked")


async def _backup(node: Node, args: argparse.Namespace) -> None:
    await node.db.backup(args.file)
    print(args.file)


async def _member_add(node: Node, args: argparse.Namespace) -> None:
    group = await accounts.get_actor(node, args.group, *GROUP_KINDS)
    candidate = await roster.add_member(node, group, args.who, args.facilitator)
    role = "facilitator" if args.facilitator else "member"
    welcome = " (welcome message queued)" if candidate.remote is not None else ""
    print(f"{candidate.actor} is now a {role} of {group.name}{welcome}")


async def _member_remove(node: Node, args: argparse.Namespace) -> None:
    group = await accounts.get_actor(node, args.group, *GROUP_KINDS)
    actor = await roster.remove_member(node, group, args.who)
    print(f"{actor} is no longer a member of {group.name}")


async def _member_import(node: Node, args: argparse.Namespace) -> None:
    group = await accounts.get_actor(node, args.group, *GROUP_KINDS)
    result = await roster_import.import_members(node, group, args.file, args.tokens)
    print(f"{result.added} added to {group.name}, {result.already} already members,"
          f" {len(result.created)} new people")
    if result.created:
        print("new people got a random password; they can be given a new one later")
        if args.tokens is not None:
            print(f"their API tokens are in {args.tokens}")


async def _assembly_set(node: Node, args: argparse.Namespace) -> None:
    group = await accounts.get_actor(node, args.name, "assembly")
    if args.ballots is None and args.roster is None and args.vote_receipts is None:
        raise InvalidError("name at least one of --ballots, --roster, --vote-receipts")
    receipts = None if args.vote_receipts is None else args.vote_receipts == "on"
    settings = await roster.update_settings(node, group, ballots=args.ballots, roster=args.roster,
                                            vote_receipts=receipts)
    for key, value in settings.items():
        shown = ("on" if value else "off") if isinstance(value, bool) else value
        print(f"{key.replace('_', '-')}: {shown}")


# Every command of ``fedassembly``, by its words: the whole CLI at a glance.
ACTIONS: dict[tuple[str, ...], Action] = {
    ("assembly", "create"): _assembly_create,
    ("assembly", "set"): _assembly_set,
    ("council", "create"): _council_create,
    ("person", "create"): _person_create,
    ("member", "add"): _member_add,
    ("member", "remove"): _member_remove,
    ("member", "import"): _member_import,
    ("follow",): _follow,
    ("unfollow",): _unfollow,
    ("announce",): _announce,
    ("token", "create"): _token_create,
    ("token", "list"): _token_list,
    ("token", "revoke"): _token_revoke,
    ("backup",): _backup,
}
