"""What each CLI command does once its node is open: one use case call, its result on stdout."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Awaitable, Callable

from fedassembly.app import accounts, blocks, follows, roster, roster_import
from fedassembly.app.errors import CommandError, InvalidError
from fedassembly.app.node import Node

Action = Callable[[Node, argparse.Namespace], Awaitable[None]]
GROUP_KINDS = ("assembly", "council")


def read_password() -> str:
    """The first line of stdin when it is not a terminal, else a prompt."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise CommandError("the passwords differ")
    return first


async def assembly_create(node: Node, args: argparse.Namespace) -> None:
    group = await accounts.create_group(node, args.name, "assembly", args.title)
    print(node.urls.actor(group.kind, group.name))


async def assembly_set(node: Node, args: argparse.Namespace) -> None:
    group = await accounts.get_actor(node, args.name, "assembly")
    if args.ballots is None and args.roster is None and args.vote_receipts is None:
        raise InvalidError("name at least one of --ballots, --roster, --vote-receipts")
    receipts = None if args.vote_receipts is None else args.vote_receipts == "on"
    settings = await roster.update_settings(node, group, ballots=args.ballots, roster=args.roster,
                                            vote_receipts=receipts)
    for key, value in settings.items():
        shown = ("on" if value else "off") if isinstance(value, bool) else value
        print(f"{key.replace('_', '-')}: {shown}")


async def council_create(node: Node, args: argparse.Namespace) -> None:
    group = await accounts.create_group(node, args.name, "council", args.title, settings={"rule": args.rule})
    print(node.urls.actor(group.kind, group.name))


async def person_create(node: Node, args: argparse.Namespace) -> None:
    person = await accounts.create_person(node, args.name, read_password())
    print(node.urls.actor(person.kind, person.name))


async def member_add(node: Node, args: argparse.Namespace) -> None:
    group = await accounts.get_actor(node, args.group, *GROUP_KINDS)
    candidate = await roster.add_member(node, group, args.who, args.facilitator)
    role = "facilitator" if args.facilitator else "member"
    welcome = " (welcome message queued)" if candidate.remote is not None else ""
    print(f"{candidate.actor} is now a {role} of {group.name}{welcome}")


async def member_remove(node: Node, args: argparse.Namespace) -> None:
    group = await accounts.get_actor(node, args.group, *GROUP_KINDS)
    actor = await roster.remove_member(node, group, args.who)
    print(f"{actor} is no longer a member of {group.name}")


async def member_import(node: Node, args: argparse.Namespace) -> None:
    group = await accounts.get_actor(node, args.group, *GROUP_KINDS)
    result = await roster_import.import_members(node, group, args.file, args.tokens)
    print(f"{result.added} added to {group.name}, {result.already} already members,"
          f" {len(result.created)} new people")
    if result.created:
        print("new people got a random password; they can be given a new one later")
        if args.tokens is not None:
            print(f"their API tokens are in {args.tokens}")


async def follow(node: Node, args: argparse.Namespace) -> None:
    person = await accounts.get_actor(node, args.person, "person")
    print(await follows.follow(node, person, args.target))


async def unfollow(node: Node, args: argparse.Namespace) -> None:
    person = await accounts.get_actor(node, args.person, "person")
    await follows.unfollow(node, person, args.target)
    print(f"{person.name} no longer follows {args.target}")


async def announce(node: Node, args: argparse.Namespace) -> None:
    group = await accounts.get_actor(node, args.group, *GROUP_KINDS)
    note = await follows.announce(node, group, args.text)
    print(note["id"])


async def token_create(node: Node, args: argparse.Namespace) -> None:
    print(await accounts.create_token(node, args.name))


async def token_list(node: Node, args: argparse.Namespace) -> None:
    for token in await accounts.list_tokens(node, args.name):
        print(f"{token.id}  {token.prefix}…  {token.created_at}  {token.last_used_at or 'never'}")


async def token_revoke(node: Node, args: argparse.Namespace) -> None:
    await accounts.revoke_token(node, args.token)
    print("revoked")


async def block(node: Node, args: argparse.Namespace) -> None:
    target, added = await blocks.block(node, args.target)
    print(f"blocked {target}" if added else f"{target} was already blocked")


async def unblock(node: Node, args: argparse.Namespace) -> None:
    print(f"unblocked {await blocks.unblock(node, args.target)}")
