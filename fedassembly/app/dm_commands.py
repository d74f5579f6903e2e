"""Direct-mention commands to an assembly from the fediverse: delegate, revoke, status, help.

A Note naming one of our assemblies (Mention tag or ``to``/``cc``) is read as a command: its
HTML is reduced to words, each mention link to the actor IRI of its Mention tag (Mastodon writes
``@<span>bob</span>`` in the link and the full handle only in the tag), the leading mention of the
assembly is dropped, and the first word picks the command. Every command gets one direct reply
stating what is now recorded. A public Note that mentions the assembly without a command (a
comment under a proposal) gets no reply. Runs inside the inbox's transaction: no network.
"""

from __future__ import annotations

import html
import re
from typing import Any

from fedassembly.app import roster
from fedassembly.app.delegations import (
    DelegationScope,
    delegation_report,
    record_delegation,
    report_text,
    revoke_delegation,
    scope_of,
)
from fedassembly.app.errors import CommandError
from fedassembly.app.quoting import excerpt
from fedassembly.app.received import Received
from fedassembly.app.vocab import PUBLIC
from storage import actors as actor_repo
from storage import members as member_repo
from storage.actors import LocalActor
from storage.db import Connection
from storage.remote import RemoteActor

COMMANDS = ("delegate", "revoke", "status", "help")
# The HTML of a command with two mentions and an area is a few hundred characters.
MAX_COMMAND_CHARS = 5_000


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def _mention_tags(note: dict[str, Any]) -> list[tuple[str, str]]:
    tags: list[tuple[str, str]] = []
    for tag in _as_list(note.get("tag")):
        if isinstance(tag, dict) and tag.get("type") == "Mention" and isinstance(tag.get("href"), str):
            name = tag.get("name")
            tags.append((tag["href"], name if isinstance(name, str) else ""))
    return tags


# Tags, comments and declarations, each ending at the first ">" before any other "<", matched with
# possessive quantifiers (no backtracking): one pass over the text, whatever it holds. The stdlib's
# HTMLParser rescans an unclosed tag to the end of the input for every "<" that follows (minutes
# of a blocked event loop for a few hundred kilobytes of "<a <a <a …", which anyone may send to an
# assembly), and raises on "<![".
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*+)([^<>]*+)>")
_OTHER_MARKUP = re.compile(r"<[!?][^<>]*+>")
_HREF = re.compile(r"""(?:^|\s)href\s*+=\s*+(?:"([^"]*+)"|'([^']*+)'|([^\s"'>]++))""", re.IGNORECASE)


class _CommandText:
    """Plain words of a Note's HTML; a mention link becomes the IRI of its Mention tag."""

    def __init__(self, tags: list[tuple[str, str]]):
        self.tags = tags
        self.parts: list[str] = []
        self._href: str | None = None
        self._anchor: list[str] | None = None

    def feed(self, markup: str) -> None:
        """Read ``markup`` in one linear pass: text, ``a``, ``br`` and ``p``; other markup is dropped."""
        pos = text_from = 0
        while (start := markup.find("<", pos)) >= 0:
            found = _TAG.match(markup, start) or _OTHER_MARKUP.match(markup, start)
            if found is None:  # a "<" that opens nothing is text
                pos = start + 1
                continue
            self._data(markup[text_from:start])
            if found.re is _TAG:
                self._tag(found[2].lower(), closing=bool(found[1]), attrs=found[3])
            pos = text_from = found.end()
        self._data(markup[text_from:])

    def _tag(self, name: str, *, closing: bool, attrs: str) -> None:
        if name == "a" and not closing:
            found = _HREF.search(attrs)
            href = next((g for g in found.groups() if g is not None), "") if found else ""
            self._href = html.unescape(href)
            self._anchor = []
        elif name == "a" and self._anchor is not None:
            self.parts.append(f" {self._mention(''.join(self._anchor).strip())} ")
            self._anchor = None
        elif name in ("br", "p"):
            self.parts.append(" ")

    def _data(self, text: str) -> None:
        if text:
            (self._anchor if self._anchor is not None else self.parts).append(html.unescape(text))

    def _mention(self, text: str) -> str:
        if not text.startswith("@"):
            return text
        for href, _ in self.tags:
            if href == self._href:
                return href
        for href, name in self.tags:
            if name.lower() == text.lower() or name.lower().startswith(text.lower() + "@"):
                return href
        return text


def command_words(note: dict[str, Any], group_iri: str, group_handle: str) -> list[str]:
    """The words of a command Note, without the leading mention(s) of the assembly.

    A command is one short sentence: content longer than MAX_COMMAND_CHARS has no words.
    """
    parser = _CommandText(_mention_tags(note))
    content = note.get("content")
    if isinstance(content, str) and len(content) <= MAX_COMMAND_CHARS:
        parser.feed(content)
    words = "".join(parser.parts).split()
    short = group_handle.split("@")[1]
    while words and (words[0] == group_iri or words[0].lower() in (group_handle.lower(), f"@{short}")):
        words.pop(0)
    return words


async def _addressed_assembly(
    received: Received, conn: Connection, note: dict[str, Any]
) -> LocalActor | None:
    candidates = [href for href, _ in _mention_tags(note)]
    candidates += [*_as_list(note.get("to")), *_as_list(note.get("cc"))]
    for url in candidates:
        name = received.node.urls.group_name(url)
        if name is not None:
            group = await actor_repo.get_actor_by_name(conn, name)
            if group is not None and group.kind == "assembly":
                return group
    return None


def help_text(handle: str) -> str:
    """The commands, for ``help`` and for words we did not understand."""
    return (
        f"Commands, by a direct message mentioning {handle}:\n"
        "delegate @someone@host [area] - let another member vote for you (in one area, or on everything)\n"
        "revoke [area] - take a delegation back\n"
        "status - what you delegated and who delegates to you\n"
        "help - this list\n"
        "To vote, answer the assembly's polls from your app."
    )


async def on_command(received: Received, conn: Connection, note: dict[str, Any]) -> str | None:
    """A direct mention of an assembly: delegate, revoke, status, help; None if not addressed to one."""
    if not note.get("content"):
        return None  # no words, no command: a poll vote on a poll that is not ours, say
    group = await _addressed_assembly(received, conn, note)
    if group is None:
        return None
    node, sender = received.node, received.sender
    actor = received.activity["actor"]
    if sender is None or note.get("attributedTo", actor) != actor:
        return "a Note attributed to someone other than its sender: ignored"
    group_iri = node.urls.actor(group.kind, group.name)
    handle = node.urls.local_handle(group.name)
    words = command_words(note, group_iri, handle)
    verb = words[0].lower() if words else ""
    audience = [*_as_list(note.get("to")), *_as_list(note.get("cc"))]
    if verb not in COMMANDS and (PUBLIC in audience or "as:Public" in audience):
        return f"a public mention of {group.name} without a command: no effect"
    reply_to = note.get("id") if isinstance(note.get("id"), str) else None

    async def reply(text: str) -> None:
        await roster.tell(node, conn, group, sender, text, in_reply_to=reply_to)

    if await member_repo.get_member(conn, group.id, sender.id) is None:
        await reply(
            f"You are not a member of {group.title or group.name}, so nothing was recorded. "
            "A facilitator of the assembly can add you to its roster."
        )
        return f"command from {sender.id}, not a member of {group.name}: refused"
    if verb == "help":
        await reply(help_text(handle))
        return f"help sent to {sender.id}"
    if verb not in COMMANDS:
        await reply("I did not understand that; nothing changed.\n" + help_text(handle))
        return f"unknown command from {sender.id}"
    try:
        outcome = await _run(received, conn, group, sender, verb, words[1:])
    except CommandError as error:
        outcome = f"Nothing changed: {error}."
    report = await delegation_report(node, conn, group, sender.id)
    await reply(f"{outcome}\nNow recorded in {group.title or group.name}:\n{report_text(report)}")
    return f"{verb} from {sender.id} in {group.name}: {outcome}"


async def _run(
    received: Received, conn: Connection, group: LocalActor, sender: RemoteActor, verb: str,
    args: list[str],
) -> str:
    node = received.node
    limit = node.settings.reply_excerpt_chars
    if verb == "status":
        return "Status:"
    if verb == "revoke":
        scope = scope_of(area=" ".join(args)) if args else DelegationScope()
        if await revoke_delegation(conn, group, sender.id, scope):
            return f"Revoked: you no longer delegate {_quoted(scope, limit)}."
        return f"You had no delegation {_quoted(scope, limit)}; nothing changed."
    if not args:
        return "Nothing changed: say whom to delegate to, e.g. delegate @someone@host [area]."
    scope = scope_of(area=" ".join(args[1:])) if len(args) > 1 else DelegationScope()
    try:
        stored = await record_delegation(node, conn, group, sender.id, args[0], scope)
    except CommandError as error:
        # The refusal names the delegate as it was written: quote an excerpt of it, no more.
        raise CommandError(str(error).replace(args[0], excerpt(args[0], limit))) from error
    who = await roster.name_of(node, conn, stored.delegate) if stored.delegate else "nobody"
    return f"Recorded: you delegate {_quoted(scope, limit)} to {who}; your own ballot still overrides it."


def _quoted(scope: DelegationScope, limit: int) -> str:
    """The scope in words, its area (the sender's words) cut to an excerpt."""
    return DelegationScope(scope.scope, excerpt(scope.key, limit)).label
