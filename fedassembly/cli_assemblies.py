"""CLI actions for rosters and assembly settings: ``member add|remove|import``, ``assembly set``."""

from __future__ import annotations

import argparse

from fedassembly.app import accounts, roster
from fedassembly.app.errors import InvalidError
from fedassembly.app.node import Node
from fedassembly.cli import command

GROUP_KINDS = ("assembly", "council")


@command("member", "add")
async def _member_add(node: Node, args: argparse.Namespace) -> None:
    group = await accounts.get_actor(node, args.group, *GROUP_KINDS)
    candidate = await roster.add_member(node, group, args.who, args.facilitator)
    role = "facilitator" if args.facilitator else "member"
    welcome = " (welcome message queued)" if candidate.remote is not None else ""
    print(f"{candidate.actor} is now a {role} of {group.name}{welcome}")


@command("member", "remove")
async def _member_remove(node: Node, args: argparse.Namespace) -> None:
    group = await accounts.get_actor(node, args.group, *GROUP_KINDS)
    actor = await roster.remove_member(node, group, args.who)
    print(f"{actor} is no longer a member of {group.name}")


@command("member", "import")
async def _member_import(node: Node, args: argparse.Namespace) -> None:
    group = await accounts.get_actor(node, args.group, *GROUP_KINDS)
    result = await roster.import_members(node, group, args.file, args.tokens)
    print(f"{result.added} added to {group.name}, {result.already} already members,"
          f" {len(result.created)} new people")
    if result.created:
        print("new people got a random password; they can be given a new one later")
        if args.tokens is not None:
            print(f"their API tokens are in {args.tokens}")


@command("assembly", "set")
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
